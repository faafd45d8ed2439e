"""Score a gesture model, a folder of motions from any system, or a baseline on a corpus split
(SPEC section 5; the evaluation study of LLAniMAtion, arXiv 2405.08042, section 5).

Every system goes through the same scoring code, :func:`score_system`:

- the takes of the split are those the model was trained against: ``RUN/run.json`` "splits"
  when the model is a run folder, else :func:`~llavataros.training.train.split_records` on the
  data folder (``DATA/split.json`` or the deterministic split of the training config);
- a model is driven by each take's **own timed words** (``NAME.TextGrid`` or
  ``NAME.words.json``), never by speech recognition, so recognition errors do not enter the
  scores; the take's style is the speaker when the model knows it;
- motions are compared with the take's ground truth at the ground truth's frame rate and
  frame count (other rates are resampled; a length mismatch over 0.1 s or 2 % is an error);
- per take: BA of the motion and of the ground truth (audio onsets of the take's wav, motion
  speed normalised by the training split's mean speed), L1 diversity, mean jerk (m/s^3), the
  wrist-speed Hellinger distance to the take's ground truth and, where ``NAME.gestures.json``
  labels exist, semantic recall / precision per class (detectors of SPEC section 4 run on the
  motion); for a model, seconds of processing per second of audio per stage;
- over the split: FGD between the ground-truth and generated takes (features of the given
  extractor, else the shipped one for the synthetic corpus, else one trained here on the
  training split and cached in ``DATA/.cache/fgd``), the pooled Hellinger distance, pooled
  semantic counts, means of the per-take figures and the real-time factor.

Baselines (:data:`BASELINES`): ``mean_pose`` (training mean pose with idle noise),
``random_segment`` (random training motion, audio ignored), ``nearest_neighbour`` (retrieval by
the model's audio features) and ``ground_truth``.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from llavataros.data.index import (
    TakeRecord,
    index_takes,
    read_transcript,
    select_splits,
    split_records,
)
from llavataros.errors import InputError
from llavataros.eval import baselines, metrics
from llavataros.eval.onsets import audio_onsets
from llavataros.gestures.classes import CLASS_NAMES
from llavataros.gestures.detectors import detect_gestures, match_gestures
from llavataros.motion.resample import resample
from llavataros.motion.take import Motion, detect_fps, load_raw_array, load_take
from llavataros.speech.audio import SAMPLE_RATE, load_audio

BASELINES = ("mean_pose", "random_segment", "nearest_neighbour", "ground_truth")
SHIPPED_FGD_DIR = Path(__file__).resolve().parent.parent / "assets" / "fgd"
FGD_EPOCHS = 30  # epochs of an extractor trained on the fly (as `llavataros fgd-train`)
LENGTH_TOLERANCE = 0.02  # relative motion/take length mismatch allowed
NEIGHBOUR_WINDOW_SECONDS = 2.0  # retrieval window of the nearest-neighbour baseline
METRICS = (
    "fgd",
    "beat_alignment",
    "beat_alignment_ground_truth",
    "l1_diversity",
    "mean_jerk",
    "speed_hellinger",
    "semantic_recall",
    "semantic_precision",
    "real_time_factor",
)

# A system turns an evaluation take into motion; it may report the seconds its stages took.
MotionSource = Callable[["EvaluationTake"], tuple[Motion, dict[str, float]]]


@dataclass(frozen=True)
class EvaluationTake:
    """One take to score: its files, ground-truth motion, audio length (s), audio onsets (s),
    the ground truth's BA and its trigger labels (None without ``gestures.json``)."""

    record: TakeRecord
    motion: Motion
    seconds: float
    onsets: np.ndarray
    ground_truth_beat_alignment: float
    triggers: list[dict] | None


@dataclass
class EvaluationContext:
    """What every system of one evaluation is scored against (built once, shared)."""

    data_dir: Path
    split: str
    takes: list[EvaluationTake]
    train_records: list[TakeRecord]
    train_motions: list[Motion]
    mean_training_speed: float  # m/s, the BA normaliser
    extractor: object  # FGDExtractor (torch is imported on demand)
    extractor_source: str
    notes: list[str] = field(default_factory=list)
    _real_features: np.ndarray | None = None

    def real_features(self) -> np.ndarray:
        """FGD features of the ground-truth takes ``(n_windows, z)`` (computed once)."""
        if self._real_features is None:
            self._real_features = self.extractor.features([t.motion for t in self.takes])
        return self._real_features


# -- splits ----------------------------------------------------------------------------------


def run_folder(model: str | Path | None) -> Path | None:
    """The training run folder of ``model`` (the folder with ``run.json``), if it is one."""
    if model is None:
        return None
    from llavataros.models.checkpoint import TRAINING_SUFFIX

    path = Path(model)
    candidates = [path, path.parent]  # RUN, RUN/model or RUN/best
    if path.suffix == TRAINING_SUFFIX:
        candidates.append(path.parent.parent)  # RUN/checkpoints/NAME.ckpt
    for candidate in candidates:
        if (candidate / "run.json").is_file() and (
            (candidate / "model").is_dir() or (candidate / "best").is_dir()
        ):
            return candidate
    return None


def resolve_splits(
    data_dir: str | Path, model: str | Path | None = None, metadata: dict | None = None
) -> tuple[dict[str, list[TakeRecord]], str]:
    """Takes of each split and where the split came from: the run's ``run.json`` when
    ``model`` is a run folder (or its ``model/``) trained on ``data_dir``, else
    ``split_records`` with the training config stored in the checkpoint ``metadata`` (the
    default config without one)."""
    data_dir = Path(data_dir)
    records = index_takes(data_dir)
    run = run_folder(model)
    listed = None
    if run is not None:
        run_file = run / "run.json"
        try:
            description = json.loads(run_file.read_text())
            listed = description["splits"]
        except (OSError, KeyError, TypeError, json.JSONDecodeError) as error:
            raise InputError(run_file, f"no readable 'splits' ({error})") from None
        trained_on = description.get("data_dir")
        if trained_on and Path(trained_on).resolve() != data_dir.resolve():
            listed = None  # another corpus: split it as training would
    if listed is not None:
        return select_splits(records, listed, run_file), f"the run's split ({run_file})"
    config = _training_config(metadata)
    origin = "split.json" if (data_dir / "split.json").is_file() else "the training config"
    splits = split_records(data_dir, records, config.split_fractions, config.split_seed)
    return splits, f"{origin} of {data_dir}"


def _training_config(metadata: dict | None):
    from llavataros.configuration import from_dict
    from llavataros.training.config import TrainConfig

    stored = metadata.provenance.get("train_config") if metadata else None
    if isinstance(stored, dict):
        try:
            return from_dict(TrainConfig, stored).data
        except InputError:
            pass
    return TrainConfig().data


# -- context ---------------------------------------------------------------------------------


def build_context(
    data_dir: str | Path,
    split: str = "test",
    model: str | Path | None = None,
    fgd_extractor: str | Path | None = None,
    eval_dir: str | Path | None = None,
    metadata: dict | None = None,
    fgd_epochs: int = FGD_EPOCHS,
) -> EvaluationContext:
    """Ground truth, training statistics and FGD extractor for scoring the ``split`` of
    ``data_dir`` (``"all"``: every take). With ``eval_dir`` every take of that folder is scored
    instead, against the training split of ``data_dir`` (e.g. a corpus of novel sentences)."""
    data_dir = Path(data_dir)
    splits, origin = resolve_splits(data_dir, model, metadata)
    notes = [f"split from {origin}"]
    if eval_dir is not None:
        records, split = index_takes(eval_dir), f"all of {eval_dir}"
    elif split == "all":
        records = sorted((r for s in splits.values() for r in s), key=lambda r: r.name)
    elif split in splits:
        records = splits[split]
    else:
        raise InputError(None, f"unknown split {split!r}; choose train, validation, test or all")
    if not records:
        raise InputError(data_dir, f"no takes in the {split} split")
    if not splits["train"]:
        raise InputError(data_dir, "no takes in the training split (needed for the BA speed)")

    train_motions = [load_take(r.motion_path) for r in splits["train"]]
    mean_speed = metrics.training_mean_speed(train_motions)
    takes = [_evaluation_take(record, mean_speed) for record in records]
    extractor, source = _fgd_extractor(
        fgd_extractor, data_dir, splits["train"], train_motions, records, fgd_epochs
    )
    notes.append(f"FGD extractor: {source}")
    notes.append("models are driven by each take's own timed words (no speech recognition)")
    return EvaluationContext(
        data_dir,
        split,
        takes,
        splits["train"],
        train_motions,
        mean_speed,
        extractor,
        source,
        notes,
    )


def _evaluation_take(record: TakeRecord, mean_speed: float) -> EvaluationTake:
    motion = load_take(record.motion_path)
    samples = load_audio(record.audio_path)
    onsets = audio_onsets(samples, SAMPLE_RATE)
    truth_ba = metrics.beat_alignment(motion, None, onsets, mean_speed)
    return EvaluationTake(
        record, motion, len(samples) / SAMPLE_RATE, onsets, truth_ba, _triggers(record)
    )


def _triggers(record: TakeRecord) -> list[dict] | None:
    """Trigger words of ``NAME.gestures.json`` (``triggers``, else the gesture labels)."""
    if record.gestures_path is None:
        return None
    try:
        data = json.loads(record.gestures_path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputError(record.gestures_path, f"not valid JSON ({error})") from None
    items = data.get("triggers", data.get("gestures")) if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise InputError(record.gestures_path, "no 'triggers' or 'gestures' list")
    return items


def _fgd_extractor(
    given: str | Path | None,
    data_dir: Path,
    train_records: list[TakeRecord],
    train_motions: list[Motion],
    scored: list[TakeRecord],
    epochs: int,
):
    """The given extractor; else the shipped one when the corpus is the synthetic one (takes
    with ``gestures.json``); else one trained on the training split (cached)."""
    from llavataros.eval.fgd import FGDExtractor, train_fgd_extractor

    if given is not None:
        return FGDExtractor.load(given), f"given ({given})"
    synthetic = all(r.gestures_path is not None for r in [*train_records, *scored])
    if synthetic and (SHIPPED_FGD_DIR / "config.json").is_file():
        return FGDExtractor.load(SHIPPED_FGD_DIR), "shipped for the synthetic corpus"
    files = sorted(
        (r.name, r.motion_path.stat().st_size, r.motion_path.stat().st_mtime_ns)
        for r in train_records
    )  # a regenerated corpus gets a new extractor
    digest = hashlib.sha256(json.dumps([files, epochs]).encode()).hexdigest()[:16]
    cached = data_dir / ".cache" / "fgd" / digest
    source = f"trained on the training split ({len(train_records)} takes, {epochs} epochs)"
    if (cached / "config.json").is_file():
        return FGDExtractor.load(cached), f"{source}, cached in {cached}"
    extractor = train_fgd_extractor(train_motions, epochs=epochs, seed=0)
    extractor.save(cached)
    return extractor, f"{source}, saved to {cached}"


# -- systems ---------------------------------------------------------------------------------


def model_source(animator, notes: list[str] | None = None) -> MotionSource:
    """Motion from a loaded :class:`~llavataros.pipeline.animate.Animator`, driven by the take's own
    timed words, at the take's frame rate; timings per stage in seconds."""
    unknown: set[str] = set()

    def generate(take: EvaluationTake) -> tuple[Motion, dict[str, float]]:
        transcript = read_transcript(take.record)
        if transcript is None or not transcript.words:
            raise InputError(
                take.record.motion_path,
                "no timed words (NAME.TextGrid or NAME.words.json): evaluation drives the "
                "model with the take's own words, not with speech recognition",
            )
        speaker = take.record.style if take.record.style in animator.speakers else None
        if speaker is None and take.record.style not in unknown and notes is not None:
            unknown.add(take.record.style)
            notes.append(f"style {take.record.style!r} unknown to the model: default speaker")
        result = animator.animate(
            take.record.audio_path, transcript, fps=take.motion.fps, speaker=speaker
        )
        return result.motion, dict(result.timings)

    return generate


def motions_source(motions_dir: str | Path, takes: list[EvaluationTake]) -> MotionSource:
    """Motion files ``DIR/NAME.npy`` of any system; every take must have one (checked now).
    The frame rate comes from ``NAME.json``/``NAME.wav`` beside the file, else from the frame
    count and the take's audio length."""
    folder = Path(motions_dir)
    if not folder.is_dir():
        raise InputError(folder, "motions folder not found")
    missing = [t.record.name for t in takes if not (folder / f"{t.record.name}.npy").is_file()]
    if missing:
        shown = ", ".join(f"{name}.npy" for name in missing[:5])
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        raise InputError(folder, f"no motion for take(s) {shown}{more}")

    def load(take: EvaluationTake) -> tuple[Motion, dict[str, float]]:
        path = folder / f"{take.record.name}.npy"
        if path.with_suffix(".json").is_file() or path.with_suffix(".wav").is_file():
            return load_take(path), {}
        fps = detect_fps(len(load_raw_array(path)), take.seconds, path)
        return load_take(path, fps=fps), {}

    return load


def baseline_source(
    context: EvaluationContext, baseline: str, seed: int = 0, animator=None
) -> MotionSource:
    """One of :data:`BASELINES`; ``nearest_neighbour`` retrieves by the audio features of
    ``animator``'s extractor (default: prosody features at 30 fps), cached in DATA/.cache."""
    if baseline not in BASELINES:
        raise InputError(None, f"unknown baseline {baseline!r}; choose one of {list(BASELINES)}")
    rng = np.random.default_rng(seed)
    train = context.train_motions
    if baseline == "ground_truth":
        return lambda take: (take.motion, {})
    if baseline == "mean_pose":
        return lambda take: (
            baselines.mean_pose_baseline(train, take.motion.num_frames, take.motion.fps, rng),
            {},
        )
    if baseline == "random_segment":
        return lambda take: (
            baselines.random_segment_baseline(train, take.motion.num_frames, rng),
            {},
        )
    return _neighbour_source(context, animator)


def _neighbour_source(context: EvaluationContext, animator) -> MotionSource:
    """Retrieval at the training motions' own frame rate: the audio features are computed at
    that rate (no resampling of the motion, whose interpolation would add jerk)."""
    from llavataros.features.build import build_extractor
    from llavataros.features.cache import FeatureCache
    from llavataros.features.frames import FeatureExtractor

    cache = context.data_dir / ".cache"
    fps = float(context.train_motions[0].fps)
    if animator is None:
        extractor = build_extractor(fps, cache_dir=cache)
    else:
        extractor = FeatureExtractor(
            animator.extractor.text_encoder, animator.extractor.audio_encoder, FeatureCache(cache)
        )
    train = context.train_motions
    train_features = [
        extractor.audio_features(record.audio_path, fps, num_frames=motion.num_frames)
        for record, motion in zip(context.train_records, train, strict=True)
    ]
    window = max(2, int(round(NEIGHBOUR_WINDOW_SECONDS * fps)))

    def retrieve(take: EvaluationTake) -> tuple[Motion, dict[str, float]]:
        frames = max(1, int(round(take.motion.duration * fps)))
        features = extractor.audio_features(take.record.audio_path, fps, num_frames=frames)
        motion = baselines.nearest_neighbour_baseline(train_features, train, features, window)
        return motion, {}

    return retrieve


# -- scoring ---------------------------------------------------------------------------------


def conform(motion: Motion, truth: Motion, source: str | Path) -> Motion:
    """``motion`` at the ground truth's fps and frame count (resampled only when they differ);
    a length mismatch over ``max(0.1 s, 2 %)`` is an InputError naming ``source``."""
    if abs(motion.duration - truth.duration) > max(0.1, LENGTH_TOLERANCE * truth.duration):
        raise InputError(
            source,
            f"motion lasts {motion.duration:.2f} s but the take lasts {truth.duration:.2f} s",
        )
    if abs(motion.fps - truth.fps) < 1e-9 and motion.num_frames == truth.num_frames:
        return motion
    return resample(motion, truth.fps, num_frames=truth.num_frames)


def score_take(context: EvaluationContext, take: EvaluationTake, motion: Motion) -> dict:
    """Per-take figures of SPEC section 5 for ``motion`` (already conformed to the take)."""
    row = {
        "name": take.record.name,
        "seconds": take.seconds,
        "beat_alignment": metrics.beat_alignment(
            motion, None, take.onsets, context.mean_training_speed
        ),
        "beat_alignment_ground_truth": take.ground_truth_beat_alignment,
        "l1_diversity": metrics.l1_diversity(motion),
        "mean_jerk": metrics.mean_jerk(motion),
        "speed_hellinger": metrics.speed_hellinger(motion, take.motion),
    }
    if take.triggers is not None:
        detected = detect_gestures(motion.positions, motion.fps)
        scores = match_gestures(detected, take.triggers)
        row["semantic"] = {
            name: _counts(score.triggers, score.detected, score.matched)
            for name, score in scores.per_class.items()
        }
    return row


def score_system(context: EvaluationContext, system: str, source: MotionSource) -> dict:
    """Score every take of ``context`` with motion from ``source``; returns ``{"summary":
    {...}, "takes": [...]}`` (see the module docstring for the figures)."""
    rows, generated, timings = [], [], {}
    for take in context.takes:
        start = time.perf_counter()
        motion, stages = source(take)
        elapsed = time.perf_counter() - start
        motion = conform(motion, take.motion, f"{system}: {take.record.name}")
        row = score_take(context, take, motion)
        if stages:
            row["processing_seconds"] = elapsed
            row["stages"] = stages
            for stage, seconds in stages.items():
                timings[stage] = timings.get(stage, 0.0) + seconds
            timings["total"] = timings.get("total", 0.0) + elapsed
        rows.append(row)
        generated.append(motion)
    return {"summary": _summary(context, system, rows, generated, timings), "takes": rows}


def _summary(
    context: EvaluationContext,
    system: str,
    rows: list[dict],
    generated: list[Motion],
    timings: dict[str, float],
) -> dict:
    from llavataros.eval.fgd import FGDExtractor

    assert isinstance(context.extractor, FGDExtractor)
    audio_seconds = float(sum(take.seconds for take in context.takes))
    truth = [take.motion for take in context.takes]
    summary = {
        "system": system,
        "split": context.split,
        "takes": len(rows),
        "audio_seconds": audio_seconds,
        "fgd": metrics.fgd(context.real_features(), context.extractor.features(generated)),
        "beat_alignment": _mean(rows, "beat_alignment"),
        "beat_alignment_ground_truth": _mean(rows, "beat_alignment_ground_truth"),
        "l1_diversity": _mean(rows, "l1_diversity"),
        "mean_jerk": _mean(rows, "mean_jerk"),
        "speed_hellinger": metrics.speed_hellinger(generated, truth),
        "semantic_recall": None,
        "semantic_precision": None,
        "semantic": None,
        "real_time_factor": None,
        "stage_real_time_factors": None,
        "ground_truth": {
            "l1_diversity": float(np.mean([metrics.l1_diversity(m) for m in truth])),
            "mean_jerk": float(np.mean([metrics.mean_jerk(m) for m in truth])),
        },
        "mean_training_speed": context.mean_training_speed,
        "fgd_extractor": context.extractor_source,
        "notes": list(context.notes),
    }
    labelled = [row["semantic"] for row in rows if "semantic" in row]
    if labelled:
        per_class = {}
        for name in CLASS_NAMES:
            counts = [sum(item[name][key] for item in labelled) for key in _COUNT_KEYS]
            per_class[name] = _counts(*counts)
        per_class["overall"] = _counts(
            *[sum(per_class[name][key] for name in CLASS_NAMES) for key in _COUNT_KEYS]
        )
        summary["semantic"] = per_class
        summary["semantic_recall"] = per_class["overall"]["recall"]
        summary["semantic_precision"] = per_class["overall"]["precision"]
        summary["semantic_takes"] = len(labelled)
    if timings:
        summary["real_time_factor"] = timings["total"] / audio_seconds
        summary["stage_real_time_factors"] = {
            stage: seconds / audio_seconds for stage, seconds in timings.items()
        }
    return summary


_COUNT_KEYS = ("triggers", "detected", "matched")


def _counts(triggers: int, detected: int, matched: int) -> dict:
    return {
        "triggers": int(triggers),
        "detected": int(detected),
        "matched": int(matched),
        "recall": matched / triggers if triggers else None,
        "precision": matched / detected if detected else None,
    }


def _mean(rows: list[dict], key: str) -> float | None:
    values = [row[key] for row in rows if row[key] is not None and math.isfinite(row[key])]
    return float(np.mean(values)) if values else None


# -- entry points ----------------------------------------------------------------------------


def evaluate_model(
    context: EvaluationContext,
    model: str | Path | None,
    name: str | None = None,
    animator=None,
    load_seconds: float | None = None,
) -> dict:
    """Score a model (run folder, checkpoint or None for the shipped one; or an already
    loaded ``animator`` with the ``load_seconds`` it took) on ``context``."""
    from llavataros.pipeline.animate import Animator

    if animator is None:
        start = time.perf_counter()
        animator = Animator.load(model)
        load_seconds = time.perf_counter() - start
    notes: list[str] = []
    system = name or f"model {model or 'shipped'}"
    report = score_system(context, system, model_source(animator, notes))
    report["summary"]["load_seconds"] = load_seconds
    report["summary"]["notes"] += notes
    return report


def evaluate_baseline(
    context: EvaluationContext, baseline: str, seed: int = 0, animator=None
) -> dict:
    """Score one of :data:`BASELINES` with the same code as a model."""
    return score_system(context, baseline, baseline_source(context, baseline, seed, animator))


def evaluate(
    data_dir: str | Path,
    model: str | Path | None = None,
    motions_dir: str | Path | None = None,
    split: str = "test",
    fgd_extractor: str | Path | None = None,
    output: str | Path | None = None,
) -> dict:
    """``llavataros evaluate``: score ``model`` (default: the shipped one) or the motion files
    in ``motions_dir`` on ``split`` of ``data_dir``; writes the report to ``output`` (default
    ``metrics.json`` in the current folder) and returns it (``summary`` and ``takes``)."""
    if model is not None and motions_dir is not None:
        raise InputError(None, "give either a model or a motions folder, not both")
    output = Path(output) if output is not None else Path("metrics.json")
    animator, metadata, load_seconds = None, None, None
    if motions_dir is None:
        from llavataros.pipeline.animate import Animator

        start = time.perf_counter()
        animator = Animator.load(model)
        load_seconds = time.perf_counter() - start
        metadata = animator.metadata
    context = build_context(data_dir, split, model, fgd_extractor, metadata=metadata)
    if animator is not None:
        report = evaluate_model(context, model, animator=animator, load_seconds=load_seconds)
    else:
        source = motions_source(motions_dir, context.takes)
        report = score_system(context, f"motions {motions_dir}", source)
    write_metrics(report, output)
    return report


def write_metrics(report: dict, path: str | Path) -> Path:
    """Write ``report`` as JSON (NaN as null) to ``path`` via a temporary file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.part")
    try:
        temporary.write_text(json.dumps(plain(report), indent=1) + "\n")
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path


def plain(value):
    """``value`` with NumPy scalars as Python numbers and non-finite floats as None."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
