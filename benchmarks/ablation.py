"""The ablation of LLAniMAtion (arXiv 2405.08042, section 5) on our data: text-only vs
audio-only vs concatenation vs cross-attention, against the baselines, written to
``benchmarks/RESULTS.md``.

(a) Synthetic corpus (SPEC section 4): generated once (reused when its ``corpus.json`` matches),
    the four fusion variants trained with the same configuration, epochs and seed, evaluated with
    the baselines on the held-out test takes; semantic recall also on a separate small corpus of
    sentences whose trigger words stand in contexts the training corpus never had.
(b) AvatarOS sample (skipped with a message when absent): the first 80 % of its frames train,
    the last 20 % test (a temporary data folder with the two cut takes and a ``split.json``).

Everything lands in ``--work`` (default ``runs/ablation``, not committed); finished runs,
corpora and FGD extractors there are reused, so an interrupted benchmark continues cheaply.

Usage: ``.venv/bin/python benchmarks/ablation.py [--minutes 60] [--epochs 5] [--seed 0]``
(``--corpus DIR`` reuses a corpus made by ``llavataros synth-corpus``); a quick check:
``--minutes 3 --epochs 1 --sample-epochs 2 --novel-minutes 1 --fgd-epochs 5``.

Budget at the defaults on the 2-core machine (measured on small runs, extrapolated): corpus
~7 min; FGD extractor ~2 min; training ~47 steps per epoch per variant at ~1.3-2.1 s a step
(one torch thread; ``cross`` is the slowest), ~5 min per epoch for all four, 25 min for 5
epochs; AvatarOS sample ~5 min; evaluation ~4 min: about 45 min. Torch runs on one thread by
default: with other jobs on the two cores, two threads were 4-7 times slower per step.
``--jobs 3`` trains three variants at once, one process each.

The run behind RESULTS.md (``--corpus`` of 197 min, ``--epochs 12 --sample-epochs 150 --jobs 3
--shipped RUN``, the shipped model's run standing for ``cross``) took about 65 min: text, audio
and concat side by side for 45 min (about 1.6 s a step each, three processes on two cores).
"""

from __future__ import annotations

import argparse
import csv
import datetime
import hashlib
import json
import multiprocessing
import os
import platform
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np  # noqa: E402
import soundfile  # noqa: E402
import torch  # noqa: E402

from llavataros.eval.context import build_context  # noqa: E402
from llavataros.eval.evaluate import (  # noqa: E402
    evaluate_baseline,
    evaluate_model,
    plain,
    write_metrics,
)
from llavataros.eval.report import (  # noqa: E402
    LEGEND,
    format_value,
    markdown_table,
    metrics_table,
    semantic_table,
    speed_table,
)
from llavataros.eval.sources import BASELINES  # noqa: E402
from llavataros.models.llanimation.config import FUSIONS  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SAMPLE_DIR = REPO.parent / "shared" / "data" / "avataros-sample"
SAMPLE_NAME = "001_Neutral_0_mirror_x_1_0"
TRAIN_SHARE = 0.8


class Clock:
    """Wall-clock seconds per named stage, printed as they finish."""

    def __init__(self):
        self.seconds: dict[str, float] = {}
        self.begin = time.perf_counter()

    def run(self, stage: str, work, *args, **kwargs):
        print(f"[{self.elapsed():7.1f} s] {stage} ...", flush=True)
        start = time.perf_counter()
        result = work(*args, **kwargs)
        self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - start
        print(f"[{self.elapsed():7.1f} s] {stage}: {self.seconds[stage]:.1f} s", flush=True)
        return result

    def elapsed(self) -> float:
        return time.perf_counter() - self.begin


# -- data ------------------------------------------------------------------------------------


def synthetic_corpus(
    folder: Path, minutes: float, speakers: int, seed: int, novel: bool = False
) -> Path:
    """The synthetic corpus in ``folder`` (generated unless its corpus.json matches). With
    ``novel`` the sentences use the novel context set."""
    from llavataros.corpus.generate import generate_corpus

    summary_path = folder / "corpus.json"
    if summary_path.is_file():
        summary = json.loads(summary_path.read_text())
        if (summary.get("minutes"), summary.get("seed")) == (minutes, seed) and len(
            summary.get("speakers", [])
        ) == speakers:
            print(f"reusing {folder}")
            return folder
        raise SystemExit(f"{folder} holds another corpus; remove it or choose another --work")
    generate_corpus(
        folder, minutes=minutes, speakers=speakers, seed=seed, workers=2, novel_contexts=novel
    )
    return folder


def cut_sample(sample_dir: Path, folder: Path) -> Path:
    """Two takes from the AvatarOS sample: ``001_...`` the first 80 % of its frames, ``002_...``
    the rest, with the wav and the TextGrid words cut at the same time (words shifted to the
    cut's start; a word across the cut goes to the side holding its middle), and a
    ``split.json`` (train: the first, test: the second, no validation)."""
    from llavataros.speech.textgrid import load_textgrid
    from llavataros.speech.words import Transcript, Word, save_words_json

    if (folder / "split.json").is_file():
        return folder
    array = np.load(sample_dir / f"{SAMPLE_NAME}.npy")
    audio, rate = soundfile.read(sample_dir / f"{SAMPLE_NAME}.wav", dtype="float32")
    fps = len(array) / (len(audio) / rate)
    fps = round(fps)  # 60 for the sample
    cut = int(round(TRAIN_SHARE * len(array)))
    cut_seconds = cut / fps
    words = load_textgrid(sample_dir / f"{SAMPLE_NAME}.TextGrid").words
    staging = folder.with_name(folder.name + ".part")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    pieces = {
        "001_Neutral_0_mirror_x_1_0": (0, cut, 0.0, cut_seconds),
        "002_Neutral_0_mirror_x_1_0": (cut, len(array), cut_seconds, len(array) / fps),
    }
    for name, (first, last, start, end) in pieces.items():
        np.save(staging / f"{name}.npy", array[first:last])
        samples = audio[int(round(start * rate)) : int(round(end * rate))]
        soundfile.write(staging / f"{name}.wav", samples, rate, subtype="PCM_16")
        kept = [
            Word(w.word, max(w.start, start) - start, min(w.end, end) - start)
            for w in words
            if start <= 0.5 * (w.start + w.end) < end
        ]
        text = " ".join(w.word for w in kept)
        save_words_json(Transcript(text, tuple(kept), "textgrid"), staging / f"{name}.words.json")
    names = list(pieces)
    split = {"train": names[:1], "validation": [], "test": names[1:]}
    (staging / "split.json").write_text(json.dumps(split, indent=1) + "\n")
    shutil.rmtree(folder, ignore_errors=True)
    staging.rename(folder)
    return folder


# -- training --------------------------------------------------------------------------------

DEFAULT_CONFIG = Path(__file__).resolve().parents[1] / "configs" / "default.yaml"


def train_variant(data: Path, runs: Path, fusion: str, epochs: int, seed: int, extra: list[str]):
    """Train (or reuse) one fusion variant; returns ``(run folder, training seconds)``."""
    from llavataros.training.train import train

    run = runs / fusion
    done = run / "ablation.json"
    if done.is_file() and (run / "model" / "model.json").is_file():
        print(f"reusing {run}")
        return run, json.loads(done.read_text())["training_seconds"]
    shutil.rmtree(run, ignore_errors=True)  # an unfinished run of this script
    overrides = [
        f"model.fusion={fusion}",
        f"trainer.max_epochs={epochs}",
        f"trainer.seed={seed}",
        "trainer.progress_bar=false",
        *extra,
    ]
    start = time.perf_counter()
    train(data, run, config_path=DEFAULT_CONFIG, overrides=overrides)
    seconds = time.perf_counter() - start
    done.write_text(json.dumps({"training_seconds": seconds, "overrides": overrides}) + "\n")
    return run, seconds


def train_in_parallel(jobs: dict[str, tuple], workers: int, threads: int) -> dict[str, tuple]:
    """:func:`train_variant` of every job in ``workers`` processes of ``threads`` torch threads
    each (fresh "spawn" processes: no torch state is forked)."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=torch.set_num_threads, initargs=(threads,)
    ) as pool:
        futures = {fusion: pool.submit(train_variant, *job) for fusion, job in jobs.items()}
        return {fusion: future.result() for fusion, future in futures.items()}


def final_losses(run: Path) -> tuple[float | None, float | None]:
    """Last epoch's training and validation loss from the run's CSV log."""
    train_loss = validation_loss = None
    for path in sorted((run / "logs" / "csv").glob("*/metrics.csv")):
        for row in csv.DictReader(path.open()):
            if row.get("train_loss_epoch"):
                train_loss = float(row["train_loss_epoch"])
            if row.get("validation_loss"):
                validation_loss = float(row["validation_loss"])
    return train_loss, validation_loss


def train_all(clock, label, data, runs, args, epochs, extra, variants=None) -> dict[str, dict]:
    variants = args.variants if variants is None else variants
    jobs = {fusion: (data, runs, fusion, epochs, args.seed, extra) for fusion in variants}
    if args.jobs > 1 and len(jobs) > 1:
        stage = f"{label}: train {', '.join(jobs)} ({args.jobs} at a time)"
        results = clock.run(stage, train_in_parallel, jobs, args.jobs, args.threads)
    else:
        results = {
            fusion: clock.run(f"{label}: train {fusion}", train_variant, *job)
            for fusion, job in jobs.items()
        }
    trained = {}
    for fusion, (run, seconds) in results.items():
        train_loss, validation_loss = final_losses(run)
        steps = json.loads((run / "model" / "model.json").read_text()).get("step")
        trained[fusion] = {
            "run": run,
            "seconds": seconds,
            "steps": steps,
            "train_loss": train_loss,
            "validation_loss": validation_loss,
        }
    splits = {
        json.dumps(json.loads((t["run"] / "run.json").read_text())["splits"])
        for t in trained.values()
    }
    if len(splits) != 1:
        raise SystemExit(f"{label}: the variants were trained on different splits")
    return trained


def shipped_run(run: Path, corpus: Path, epochs: int, seed: int, extra: list[str]) -> dict:
    """The training run of the shipped default model as the ``cross`` variant: refused unless
    it is ``cross`` trained on ``corpus`` with ``configs/default.yaml``, ``epochs`` and
    ``seed`` and no other overrides, i.e. exactly what this script would train."""
    from llavataros.configuration import from_dict
    from llavataros.training.config import TrainConfig
    from llavataros.training.train import read_config

    description = json.loads((run / "run.json").read_text())
    metadata = json.loads((run / "model" / "model.json").read_text())
    settings = metadata["train_config"]
    stored = from_dict(TrainConfig, settings)  # settings added since then take their defaults
    expected = read_config(DEFAULT_CONFIG, [f"trainer.max_epochs={epochs}", f"trainer.seed={seed}"])
    problems = [
        problem
        for problem, bad in (
            ("not trained on --corpus", Path(description["data_dir"]).resolve() != corpus),
            ("not the cross fusion", metadata["config"]["fusion"] != "cross"),
            (
                "other epochs or seed",
                settings["trainer"]["max_epochs"] != epochs or settings["trainer"]["seed"] != seed,
            ),
            (
                "other model, data, optimiser or loss settings",
                any(
                    asdict(getattr(stored, key)) != asdict(getattr(expected, key))
                    for key in ("data", "optimizer", "loss")
                )
                or metadata["config"]["width"] != expected.model.width,
            ),
            ("--set overrides given", bool(extra)),
        )
        if bad
    ]
    if problems:
        raise SystemExit(f"--shipped {run}: cannot stand for the cross variant: {problems}")
    train_loss, validation_loss = final_losses(run)
    return {
        "run": run,
        "seconds": None,
        "steps": metadata.get("step"),
        "train_loss": train_loss,
        "validation_loss": validation_loss,
    }


# -- evaluation ------------------------------------------------------------------------------


def evaluate_all(clock, label, context, trained, out: Path, seed: int, baselines=BASELINES):
    """Summaries of every variant and baseline on ``context``; reports saved as JSON."""
    from llavataros.pipeline.animate import Animator

    summaries, animator = {}, None
    for fusion, info in trained.items():
        start = time.perf_counter()
        animator = Animator.load(info["run"])
        load = time.perf_counter() - start
        report = clock.run(
            f"{label}: evaluate {fusion}",
            evaluate_model,
            context,
            info["run"],
            name=fusion,
            animator=animator,
            load_seconds=load,
        )
        write_metrics(report, out / f"{fusion}.json")
        summaries[fusion] = report["summary"]
    for baseline in baselines:
        report = clock.run(
            f"{label}: baseline {baseline}",
            evaluate_baseline,
            context,
            baseline,
            seed=seed,
            animator=animator,
        )
        write_metrics(report, out / f"{baseline}.json")
        summaries[baseline] = report["summary"]
    return summaries


# -- report ----------------------------------------------------------------------------------


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{os.cpu_count()} cores (nproc {len(os.sched_getaffinity(0))}), {cpu}, "
        f"torch {torch.__version__} with {torch.get_num_threads()} threads, "
        f"Python {platform.python_version()}"
    )


def git_commit() -> str:
    from llavataros.models.checkpoint import git_commit as commit

    return commit(REPO) or "unknown"


def training_columns(trained: dict[str, dict]) -> dict[str, dict[str, str]]:
    return {
        "train time (s)": {
            f: "-" if t["seconds"] is None else f"{t['seconds']:.0f}" for f, t in trained.items()
        },
        "steps": {f: str(t["steps"]) for f, t in trained.items()},
        "final val. loss": {f: format_value(t["validation_loss"], 4) for f, t in trained.items()},
    }


def fgd_lines(folder: Path) -> str:
    figures = json.loads((folder / "config.json").read_text())["training"]
    check = figures["validation"]
    return (
        f"FGD extractor ({folder}, {figures['epochs']} epochs on {figures['windows']} training "
        f"windows): FGD(test vs train) = {check['fgd_test_vs_train']:.3g}, FGD(real vs "
        f"shuffled in time) = {check['fgd_real_vs_shuffled']:.3g}, FGD(real vs mean pose) = "
        f"{check['fgd_real_vs_mean_pose']:.3g}.\n"
    )


def comparison(synthetic: dict | None, novel: dict | None, sample: dict | None) -> str:
    """A short comparison with the paper's findings, written from the measured numbers."""
    lines = [
        "The paper (section 5) found that the text-driven model (Llama-2 word vectors) beats "
        "the audio-only model (PASE+), and that adding audio to text (concatenation or "
        "cross-attention) adds little. Here:",
        "",
    ]

    def get(table, system, key):
        value = (table or {}).get(system, {}).get(key)
        return value if isinstance(value, int | float) else None

    for label, table in (("held-out synthetic takes", synthetic), ("novel contexts", novel)):
        text, audio = get(table, "text", "semantic_recall"), get(table, "audio", "semantic_recall")
        if text is None or audio is None:
            continue
        if text > audio + 0.05:
            verdict = "agrees with the paper (text beats audio)"
        elif audio > text + 0.05:
            verdict = "is the opposite of the paper (audio beats text)"
        else:
            verdict = "shows no clear difference, so it does not reproduce the paper's finding"
        lines.append(
            f"- Semantic recall on {label}: text {text:.2f} vs audio {audio:.2f}; this {verdict}."
        )
        fused = [get(table, f, "semantic_recall") for f in ("concat", "cross")]
        fused = [v for v in fused if v is not None]
        if fused:
            gain = max(fused) - text
            verdict = (
                "adds little, as in the paper"
                if abs(gain) <= 0.05
                else ("helps more than in the paper" if gain > 0 else "hurts, unlike the paper")
            )
            lines.append(
                f"- Fusion on {label}: best fused recall minus text = {gain:+.2f} ({verdict})."
            )
    if synthetic:
        truth = get(synthetic, "ground_truth", "beat_alignment")
        for fusion in FUSIONS:
            ba = get(synthetic, fusion, "beat_alignment")
            if ba is not None and truth is not None:
                lines.append(
                    f"- BA of {fusion}: {ba:.3f} (ground truth {truth:.3f}, "
                    f"difference {ba - truth:+.3f})."
                )
        baseline_fgd = [get(synthetic, b, "fgd") for b in BASELINES if b != "ground_truth"]
        baseline_fgd = [v for v in baseline_fgd if v is not None]
        best = min(baseline_fgd) if baseline_fgd else None
        for name, cross in synthetic.items():
            if not name.startswith("cross") or best is None:
                continue
            targets = {
                "semantic recall >= 0.80": (cross.get("semantic_recall") or 0) >= 0.8,
                "semantic precision >= 0.80": (cross.get("semantic_precision") or 0) >= 0.8,
                "BA within 0.05 of ground truth": truth is not None
                and abs(cross["beat_alignment"] - truth) <= 0.05,
                f"FGD <= half the best baseline's ({best:.3g})": cross["fgd"] <= 0.5 * best,
            }
            lines.append(
                f"- Issue targets for `{name}` on held-out synthetic takes: "
                + "; ".join(f"{k}: {'met' if ok else 'NOT met'}" for k, ok in targets.items())
                + "."
            )
    if sample:
        text, audio = get(sample, "text", "fgd"), get(sample, "audio", "fgd")
        if text is not None and audio is not None:
            lines.append(
                f"- AvatarOS sample (one take, ~94 s of training): FGD text {text:.3g} vs audio "
                f"{audio:.3g}. One speaker and a minute and a half of data: treat as anecdotal."
            )
    lines += [
        "",
        "Where we differ from the paper by design: all-MiniLM-L6-v2 (384-d) instead of "
        "Llama-2-7B (4096-d) word vectors, prosody features instead of PASE+, a ~2 M-parameter "
        "model trained for minutes on two CPU cores instead of a GPU, and a synthetic corpus in "
        "which semantic gestures are defined by trigger words (text carries them by "
        "construction; audio only through prosody), so the text/audio gap on semantic "
        "gestures is expected to be larger than on real motion capture.",
    ]
    return "\n".join(lines) + "\n"


def write_results(path: Path, args, clock: Clock, sections: list[str], started: str) -> None:
    timing = markdown_table(
        ["stage", "seconds"],
        [[stage, f"{seconds:.1f}"] for stage, seconds in clock.seconds.items()]
        + [["total", f"{clock.elapsed():.1f}"]],
    )
    command = " ".join([".venv/bin/python", "benchmarks/ablation.py", *sys.argv[1:]])
    header = [
        "# Ablation: text vs audio vs concatenation vs cross-attention",
        "",
        "The study of LLAniMAtion (arXiv 2405.08042, section 5) on our data, with the metrics "
        "of SPEC section 5, produced by `benchmarks/ablation.py`.",
        "",
        f"- Command: `{command}`",
        f"- Seed: {args.seed}; epochs per variant: {args.epochs} (synthetic), "
        f"{args.sample_epochs} (AvatarOS sample); extra settings: {args.set or 'none'}",
        f"- Started {started}; git commit {git_commit()}",
        f"- Machine: {machine()}",
        "",
        "## Time per stage",
        "",
        timing,
    ]
    text = "\n".join(header) + "\n" + "\n".join(sections) + "\n## Legend\n\n" + LEGEND + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.part")
    temporary.write_text(text)
    os.replace(temporary, path)
    print(f"wrote {path}")


# -- main ------------------------------------------------------------------------------------


def fgd_extractor(clock: Clock, label: str, corpus: Path, work: Path, args) -> Path:
    """The FGD extractor of ``corpus`` in ``work`` (trained on its training split once)."""
    from llavataros.eval.fgd import train_fgd_from_corpus

    fgd_dir = work / f"fgd-{corpus.name}-e{args.fgd_epochs}"
    if not (fgd_dir / "config.json").is_file():
        clock.run(
            f"{label}: FGD extractor",
            train_fgd_from_corpus,
            corpus,
            fgd_dir,
            args.fgd_epochs,
            args.seed,
        )
    return fgd_dir


def settings_tag(*parts) -> str:
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:8]


def run_synthetic(args, clock: Clock, work: Path) -> tuple[list[str], dict | None, dict | None]:
    if args.corpus is not None:  # an existing corpus: the novel one copies its speakers
        corpus_dir = args.corpus.resolve()
        if not corpus_dir.is_dir():
            raise SystemExit(f"{corpus_dir}: corpus folder not found")
        summary_path = corpus_dir / "corpus.json"
        if summary_path.is_file():
            summary = json.loads(summary_path.read_text())
            args.seed = int(summary.get("seed", args.seed))
            args.speakers = len(summary.get("speakers", [])) or args.speakers
    else:
        corpus_dir = work / f"synthetic-{args.minutes:g}min-{args.speakers}spk-seed{args.seed}"
        clock.run(
            "synthetic: corpus",
            synthetic_corpus,
            corpus_dir,
            args.minutes,
            args.speakers,
            args.seed,
        )
    fgd_dir = fgd_extractor(clock, "synthetic", corpus_dir, work, args)
    runs = work / "runs" / f"{corpus_dir.name}-e{args.epochs}-{settings_tag(args.set)}"
    variants = list(args.variants)
    if args.shipped is not None and "cross" in variants:  # the shipped run is the cross variant
        shipped = shipped_run(args.shipped.resolve(), corpus_dir, args.epochs, args.seed, args.set)
        variants.remove("cross")
    trained = train_all(clock, "synthetic", corpus_dir, runs, args, args.epochs, args.set, variants)
    if args.shipped is not None and "cross" in args.variants:
        trained = {"cross": shipped, **trained}
    first = next(iter(trained.values()))["run"]
    context = clock.run(
        "synthetic: ground truth", build_context, corpus_dir, "test", first, fgd_dir
    )
    summaries = evaluate_all(clock, "synthetic", context, trained, runs / "metrics", args.seed)
    corpus = json.loads((corpus_dir / "corpus.json").read_text())
    section = [
        "## (a) Synthetic corpus: held-out test takes",
        "",
        f"Corpus `{corpus_dir.name}`: {corpus['seconds'] / 60:.1f} min in "
        f"{len(corpus['takes'])} takes by {args.speakers} speakers (seed {args.seed}); "
        f"{len(context.train_records)} training takes; scored on the test split "
        f"({len(context.takes)} take(s), {sum(t.seconds for t in context.takes):.0f} s of audio).",
        "",
        fgd_lines(fgd_dir),
        metrics_table(summaries, extra=training_columns(trained)),
        "Semantic recall / precision per class:",
        "",
        semantic_table(summaries),
        "Speed of the model path (seconds per second of audio, per stage):",
        "",
        speed_table(summaries),
    ]
    novel_summaries = None
    novel_dir = work / f"novel-{args.novel_minutes:g}min-{args.speakers}spk-seed{args.seed}"
    if args.novel_minutes > 0:
        made = clock.run(
            "novel: corpus",
            synthetic_corpus,
            novel_dir,
            args.novel_minutes,
            args.speakers,
            args.seed,
            novel=True,
        )
        if made is None:
            section += [
                "## Novel contexts",
                "",
                "Skipped: `generate_corpus` has no `novel_contexts` option yet.",
                "",
            ]
        else:
            novel = clock.run(
                "novel: ground truth",
                build_context,
                corpus_dir,
                "test",
                first,
                fgd_dir,
                eval_dir=novel_dir,
            )
            novel_summaries = evaluate_all(
                clock,
                "novel",
                novel,
                trained,
                runs / "metrics-novel",
                args.seed,
                baselines=("nearest_neighbour", "ground_truth"),
            )
            section += [
                "## (a') Novel contexts: trigger words in sentences the training corpus never had",
                "",
                f"Corpus `{novel_dir.name}` ({len(novel.takes)} take(s), "
                f"{sum(t.seconds for t in novel.takes):.0f} s), same speakers, novel sentence "
                "set; models and FGD extractor from (a).",
                "",
                metrics_table(novel_summaries),
                semantic_table(novel_summaries),
            ]
    return section, summaries, novel_summaries


def run_sample(args, clock: Clock, work: Path) -> tuple[list[str], dict | None]:
    if not (SAMPLE_DIR / f"{SAMPLE_NAME}.npy").is_file():
        print(f"AvatarOS sample not found at {SAMPLE_DIR}: part (b) skipped")
        return ["## (b) AvatarOS sample", "", f"Skipped: no sample at `{SAMPLE_DIR}`.", ""], None
    data = clock.run("sample: cut 80/20", cut_sample, SAMPLE_DIR, work / "avataros-cut")
    fgd_dir = fgd_extractor(clock, "sample", data, work, args)
    runs = work / "runs" / f"avataros-cut-e{args.sample_epochs}-{settings_tag(args.set)}"
    trained = train_all(clock, "sample", data, runs, args, args.sample_epochs, args.set)
    first = next(iter(trained.values()))["run"]
    context = clock.run("sample: ground truth", build_context, data, "test", first, fgd_dir)
    summaries = evaluate_all(clock, "sample", context, trained, runs / "metrics", args.seed)
    test_seconds = sum(t.seconds for t in context.takes)
    section = [
        "## (b) AvatarOS sample: first 80 % of the frames train, last 20 % test",
        "",
        f"`{SAMPLE_NAME}` cut at {TRAIN_SHARE:.0%} of its frames: training "
        f"take `001_...`, test take `002_...` ({test_seconds:.1f} s); words from its MFA "
        "TextGrid, cut and shifted. No gesture labels: no semantic scores.",
        "",
        fgd_lines(fgd_dir),
        metrics_table(summaries, extra=training_columns(trained)),
    ]
    return section, summaries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, default=REPO / "runs" / "ablation")
    parser.add_argument("--output", type=Path, default=REPO / "benchmarks" / "RESULTS.md")
    parser.add_argument("--minutes", type=float, default=60.0, help="synthetic corpus size")
    parser.add_argument(
        "--corpus", type=Path, help="use this synthetic corpus folder instead of generating one"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads (1 is several times faster than 2 when other jobs share the cores)",
    )
    parser.add_argument(
        "--jobs", type=int, default=1, help="variants trained at once, each in its own process"
    )
    parser.add_argument("--speakers", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=5, help="epochs per synthetic variant")
    parser.add_argument("--sample-epochs", type=int, default=20, help="epochs on the sample")
    parser.add_argument("--novel-minutes", type=float, default=5.0, help="0 skips it")
    parser.add_argument("--fgd-epochs", type=int, default=30)
    parser.add_argument("--variants", nargs="+", default=list(FUSIONS), choices=FUSIONS)
    parser.add_argument("--skip-sample", action="store_true")
    parser.add_argument(
        "--shipped",
        type=Path,
        help="training run of the shipped default model: used as the cross variant of part (a) "
        "(it must be exactly what this script would train on --corpus)",
    )
    parser.add_argument("--skip-synthetic", action="store_true")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="training override for every variant, e.g. model.width=96",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    started = datetime.datetime.now().isoformat(timespec="seconds")
    clock, work = Clock(), args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    sections, synthetic, novel, sample = [], None, None, None
    if not args.skip_synthetic:
        part, synthetic, novel = run_synthetic(args, clock, work)
        sections += part
    if not args.skip_sample:
        part, sample = run_sample(args, clock, work)
        sections += part
    sections += ["## Comparison with the paper", "", comparison(synthetic, novel, sample)]
    (work / "summaries.json").write_text(
        json.dumps(plain({"synthetic": synthetic, "novel": novel, "sample": sample}), indent=1)
    )
    write_results(args.output, args, clock, sections, started)


if __name__ == "__main__":
    main()
