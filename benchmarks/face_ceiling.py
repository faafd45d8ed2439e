"""How far issue 12's real-clip targets are from what the FACEGOOD data allows, clip by clip.

Each of the five FACEGOOD clips is held out in turn (the other four are the training data) and
scored with :func:`llavataros.eval.face_metrics.face_metrics`:

- the loudness jaw with ``max_open`` / ``range_db`` fitted on the other four clips (the
  baseline of issue 12's mouth-MAE target; ``train_face.fit_loudness``);
- a linear read-out: ridge regression from the face features (``ProsodyFeatures``, 30 fps)
  of frames ``t - 6 ... t + 6`` (every other frame) to the valid channels, fitted on the other
  four clips, clipped to [0, 1]: how much of the jaw the features carry linearly;
- an oracle that knows the captured jawOpen exactly and leaves every other channel at 0: the
  mouth MAE a model reaches with a perfect jaw alone, as a ratio to the fitted loudness jaw's.

    .venv/bin/python benchmarks/face_ceiling.py [--ridge 100] [--json PATH]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import common
from llavataros.eval.face_metrics import face_metrics
from llavataros.face.baselines import JAW_OPEN, loudness_jaw
from llavataros.face.facegood import CLIPS, HELD_OUT_CLIP
from train_face import DATA, FPS, Clip, fit_loudness, real_clip


def with_context(features: np.ndarray, reach: int = 6, step: int = 2) -> np.ndarray:
    """``(T, d)`` -> ``(T, d k)``: each frame's features beside those ``-reach ... reach`` frames
    away (every ``step``-th; the ends repeat the first and last frame)."""
    frames = np.arange(len(features))
    last = len(features) - 1
    shifted = [features[np.clip(frames + o, 0, last)] for o in range(-reach, reach + 1, step)]
    return np.concatenate(shifted, axis=1)


def ridge_face(train: list[Clip], held: Clip, strength: float) -> np.ndarray:
    """Ridge regression (standardised inputs, ``strength`` the L2 weight) of the weights on the
    features in context, fitted on ``train`` and applied to ``held``; ``(T, 52)`` in [0, 1]."""
    inputs = np.concatenate([with_context(c.features) for c in train]).astype(np.float64)
    targets = np.concatenate([c.weights for c in train]).astype(np.float64)
    mean, scale = inputs.mean(0), inputs.std(0) + 1e-6
    standard = (inputs - mean) / scale
    offset = targets.mean(0)
    gram = standard.T @ standard + strength * np.eye(standard.shape[1])
    coefficients = np.linalg.solve(gram, standard.T @ (targets - offset))
    predicted = ((with_context(held.features) - mean) / scale) @ coefficients + offset
    return (np.clip(predicted, 0.0, 1.0) * held.valid).astype(np.float32)


def perfect_jaw(held: Clip) -> np.ndarray:
    """The captured jawOpen, every other channel 0."""
    face = np.zeros_like(held.weights)
    face[:, JAW_OPEN] = held.weights[:, JAW_OPEN]
    return face


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ridge", type=float, default=100.0, help="L2 weight of the read-out")
    parser.add_argument("--json", type=Path, help="also save the figures here")
    args = parser.parse_args()
    if not DATA.is_dir():
        raise SystemExit(f"{DATA}: the FACEGOOD data is not there (see ../shared/data)")
    clips = {name: real_clip(name) for name in CLIPS}
    rows = []
    for held_name in CLIPS:
        held = clips[held_name]
        train = [clips[name] for name in CLIPS if name != held_name]
        fitted = fit_loudness(train)
        frames = len(held.weights)
        faces = {
            "loudness": loudness_jaw(
                held.audio, 16000, frames, FPS, fitted["max_open"], fitted["range_db"]
            ),
            "ridge": ridge_face(train, held, args.ridge),
            "perfect jaw": perfect_jaw(held),
        }
        scores = {k: face_metrics(v, held.weights, FPS, held.valid) for k, v in faces.items()}
        base = scores["loudness"]["mae_lower_face"]
        rows.append(
            {
                "clip": held_name + (" (held out)" if held_name == HELD_OUT_CLIP else ""),
                "loudness r": scores["loudness"]["jaw_correlation"],
                "loudness lag": scores["loudness"]["jaw_lag_frames"],
                "loudness MAE": base,
                "ridge r": scores["ridge"]["jaw_correlation"],
                "ridge lag": scores["ridge"]["jaw_lag_frames"],
                "ridge MAE / loudness": scores["ridge"]["mae_lower_face"] / base,
                "perfect jaw MAE / loudness": scores["perfect jaw"]["mae_lower_face"] / base,
            }
        )
    common.print_table([list(row.values()) for row in rows], list(rows[0]))
    common.save_json({"machine": common.machine(), "ridge": args.ridge, "rows": rows}, args.json)


if __name__ == "__main__":
    main()
