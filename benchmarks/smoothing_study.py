"""What the output smoothing window does to a model's motion (issues 11 and 15), and how often
the motion rests.

Animates the test takes of a corpus once without smoothing (``animate --no-smooth``, each
speaker's takes with that speaker, 60 fps), smooths copies with Savitzky-Golay windows of
``--windows`` frames (order 2, the pipeline's filter), scores each copy with ``evaluate
--motions`` and prints FGD, BA, semantic recall / precision, mean jerk and wrist-speed
Hellinger, with the share of still frames (wrist speed under 0.05 m/s) and the median wrist
speed beside the truth's. A model's ``smoothing_seconds`` sets
what ``animate`` does (the shipped diffusion model's 0.4 s is window 25 at 60 fps).

    .venv/bin/python benchmarks/smoothing_study.py --data CORPUS [--model diffusion]
        [--windows 9 15 21 27] [--temperature T] [--out runs/smoothing] [--json F]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

import common

FPS = 60.0
KEYS = (
    "fgd",
    "beat_alignment",
    "semantic_recall",
    "semantic_precision",
    "mean_jerk",
    "speed_hellinger",
)


def cli(*arguments: str) -> None:
    command = [sys.executable, "-m", "llavataros.cli", *arguments]
    subprocess.run(command, check=True, capture_output=True)


def rest(arrays: list[np.ndarray]) -> tuple[float, float]:
    """Share of still wrist frames (as ``realism.stillness``, pooled over the takes) and the
    median wrist speed (m/s) over ``(T, 9, 7)`` takes."""
    from llavataros.eval.realism import STILL_SPEED, wrist_speed

    speeds = np.concatenate([wrist_speed(a[..., :3], FPS).ravel() for a in arrays])
    return float(np.mean(speeds < STILL_SPEED)), float(np.median(speeds))


def animate_raw(data: Path, model: str, takes, out: Path, sampling: list[str]) -> None:
    """The takes animated without smoothing, each speaker's with its own speaker."""
    for speaker in sorted({take.name.split("_")[1] for take in takes}):
        group = [take for take in takes if take.name.split("_")[1] == speaker]
        words = [part for take in group for part in ("--transcript", str(take.words_path))]
        audio = [str(take.audio_path) for take in group]
        cli("animate", *audio, *words, "--model", model, "--speaker", speaker, "--fps", str(FPS),
            "--no-face", "--no-video", "--no-smooth", *sampling, "-o", str(out))  # fmt: skip


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="corpus folder")
    parser.add_argument("--model", default="diffusion", help="shipped family or run folder")
    parser.add_argument("--windows", type=int, nargs="+", default=[9, 15, 21, 27])
    parser.add_argument("--temperature", type=float, help="diffusion models: sampling temperature")
    parser.add_argument("--out", type=Path, default=Path("runs/smoothing"))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)

    from llavataros.eval.context import resolve_splits
    from llavataros.eval.realism import load_motions
    from llavataros.motion.smoothing import smooth

    takes = resolve_splits(args.data)[0]["test"]
    sampling = [] if args.temperature is None else ["--temperature", str(args.temperature)]
    tag = Path(args.model).name + ("" if args.temperature is None else f"_t{args.temperature:g}")
    raw = args.out / f"{tag}_raw"
    if not raw.is_dir():
        animate_raw(Path(args.data), args.model, takes, raw, sampling)
    truth = [np.load(take.motion_path) for take in takes]
    still, median = rest(truth)
    figures = {"machine": common.machine(), "truth": {"still": still, "median": median}}
    rows = []
    names = sorted(path.stem for path in raw.glob("*.npy"))
    for window in args.windows:
        folder = args.out / f"{tag}_sg{window}"
        folder.mkdir(parents=True, exist_ok=True)
        smoothed = [smooth(m, window, 2).to_array(np.float32) for m in load_motions(raw, FPS)]
        for name, motion in zip(names, smoothed, strict=True):
            np.save(folder / f"{name}.npy", motion)
        report = folder.with_suffix(".json")
        cli("evaluate", "--data", str(args.data), "--split", "test", "--motions", str(folder),
            "-o", str(report))  # fmt: skip
        summary = json.loads(report.read_text())["summary"]
        still, median = rest(smoothed)
        rows.append({"window": window, **{k: summary[k] for k in KEYS}, "still": still,
                     "median_speed": median})  # fmt: skip
    figures["rows"] = rows
    print(f"truth: still {figures['truth']['still']:.3f}, median {figures['truth']['median']:.3f}")
    common.print_table(
        [[r["window"], *(r[k] for k in KEYS), r["still"], r["median_speed"]] for r in rows],
        ["window", "FGD", "BA", "recall", "precision", "jerk", "Hellinger", "still", "median"],
    )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return figures


if __name__ == "__main__":
    main()
