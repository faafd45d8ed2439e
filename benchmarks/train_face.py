"""Train a small face model on the FACEGOOD clips and compare it with the baselines on the
held-out clip (issue 12 targets: jawOpen correlation >= 0.85, lag within one frame, lower-face
MAE <= 0.6 x the loudness baseline's).

Trains on the four clips other than ``1114_2_05`` (one thread, a few minutes), then prints for
the held-out clip: the loudness baseline with its default settings, the loudness baseline with
``max_open`` / ``range_db`` fitted on the training clips, and the model (from audio alone:
this data has no phoneme alignment). Saves the model to ``--out``
(``model.safetensors`` and ``model.json`` with family ``face``) and the figures to
``results.json``.

Usage: ``PYTHONPATH=src OMP_NUM_THREADS=1 .venv/bin/python benchmarks/train_face.py
[--steps 1500] [--out /tmp/llavataros-face]``
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import torch

from llavataros.eval.face_metrics import face_metrics
from llavataros.face.baselines import loudness_jaw
from llavataros.face.facegood import CLIPS, FPS, HELD_OUT_CLIP, load_facegood_clip
from llavataros.features.audio_encoders import ProsodyFeatures
from llavataros.models.checkpoint import save_checkpoint
from llavataros.models.face.config import FaceModelConfig
from llavataros.models.face.model import FaceSpeechModel
from llavataros.models.face.stream import generate_face
from llavataros.models.face.train import FaceTake, FaceTrainConfig, train_face
from llavataros.speech.audio import load_audio

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "facegood"
SHOWN = ("mae_lower_face", "mae/jawOpen", "jaw_correlation", "jaw_lag_frames")


def load(clip: str):
    data = load_facegood_clip(DATA, clip)
    audio = load_audio(data.audio_path)
    features = ProsodyFeatures(fps=FPS).extract(audio, len(data.weights))
    return data, audio, features


def fit_loudness(clips) -> dict[str, float]:
    """``max_open`` and ``range_db`` minimising jawOpen MAE over the training clips."""
    best = None
    for max_open in np.arange(0.1, 0.71, 0.05):
        for range_db in (15.0, 20.0, 25.0, 30.0, 40.0, 50.0):
            errors = [
                np.abs(
                    loudness_jaw(audio, 16000, len(d.weights), FPS, max_open, range_db)[:, 17]
                    - d.weights[:, 17]
                ).mean()
                for d, audio, _ in clips
            ]
            if best is None or np.mean(errors) < best[0]:
                best = (float(np.mean(errors)), float(max_open), range_db)
    return {"max_open": best[1], "range_db": best[2]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lookahead", type=int, default=3, help="frames")
    parser.add_argument("--dropout", type=float, default=0.1)
    parser.add_argument("--window", type=int, default=90, help="training window, frames")
    parser.add_argument("--out", type=Path, default=Path("/tmp/llavataros-face"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    started = time.perf_counter()
    clips = {clip: load(clip) for clip in CLIPS}
    print(f"features of {len(clips)} clips: {time.perf_counter() - started:.1f} s")
    training = [clips[c] for c in CLIPS if c != HELD_OUT_CLIP]
    takes = [FaceTake(features, d.weights, d.valid) for d, _, features in training]

    model_config = FaceModelConfig(width=args.width, lookahead=args.lookahead, dropout=args.dropout)
    train_config = FaceTrainConfig(steps=args.steps, seed=args.seed, window=args.window)
    started = time.perf_counter()
    model = train_face(takes, model_config, train_config)
    train_seconds = time.perf_counter() - started

    data, audio, features = clips[HELD_OUT_CLIP]
    fitted = fit_loudness(training)
    started = time.perf_counter()
    predicted = generate_face(model, torch.tensor(features)[None], torch.tensor([0]))[0].numpy()
    model_seconds = time.perf_counter() - started
    duration = len(data.weights) / FPS
    rows = {
        "loudness (default)": loudness_jaw(audio, 16000, len(data.weights), FPS),
        f"loudness (fitted {fitted})": loudness_jaw(
            audio, 16000, len(data.weights), FPS, fitted["max_open"], fitted["range_db"]
        ),
        "face model (audio only)": predicted,
    }
    results = {}
    for name, weights in rows.items():
        metrics = face_metrics(weights, data.weights, FPS, data.valid)
        results[name] = metrics
        print(f"{name:45s} " + "  ".join(f"{key} {metrics[key]:.4f}" for key in SHOWN))
    base = results[list(rows)[1]]["mae_lower_face"]
    ours = results["face model (audio only)"]
    print(f"lower-face MAE ratio to fitted loudness baseline: {ours['mae_lower_face'] / base:.3f}")
    print(
        f"training {train_seconds:.0f} s for {args.steps} steps; generation "
        f"{model_seconds:.2f} s for {duration:.0f} s of speech "
        f"({model_seconds / duration:.4f} x real time), "
        f"{sum(p.numel() for p in model.parameters())} parameters"
    )
    args.out.mkdir(parents=True, exist_ok=True)
    family_model = FaceSpeechModel(model.config)
    family_model.load_state_dict(model.state_dict())
    save_checkpoint(
        args.out,
        family_model,
        model.config,
        {
            "features": {"settings": ProsodyFeatures(fps=FPS).settings()},
            "speakers": {"names": ["facegood"]},
            "train_config": {
                "steps": args.steps,
                "clips": [c for c in CLIPS if c != HELD_OUT_CLIP],
                **dataclasses.asdict(train_config),
            },
        },
    )
    (args.out / "results.json").write_text(json.dumps(results, indent=1))
    print(f"saved to {args.out}")


if __name__ == "__main__":
    main()
