"""A tiny corpus of takes for training tests: smooth random arm motion, a voiced tone with
syllable-like bursts, and words.json (built in the test, nothing downloaded)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import soundfile

from llavataros.motion import AVATAROS, Motion, save_take
from llavataros.motion import rotations as R

# A model small enough to train in seconds (overrides for ``train``).
TINY_TRAINING = [
    "model.width=32",
    "model.depth=1",
    "model.heads=2",
    "model.segment_length=20",
    "model.memory_length=20",
    "model.lookahead=4",
    "trainer.batch_size=2",
    "data.window_seconds=4",
    "trainer.progress_bar=false",
]

WORDS = ("I", "think", "this", "is", "a", "big", "idea", "you", "know", "not", "small", "all")


def tiny_take(rng: np.random.Generator, seconds: float, fps: float = 60.0) -> Motion:
    frames = int(round(seconds * fps))
    t = np.arange(frames) / fps
    angles = np.zeros((frames, 9, 3))
    for joint in range(9):
        for axis in range(3):
            freq, phase = rng.uniform(0.2, 1.5), rng.uniform(0, 2 * np.pi)
            amplitude = 0.05 if joint < 3 else 0.4
            angles[:, joint, axis] = amplitude * np.sin(2 * np.pi * freq * t + phase)
    q = R.from_axis_angle(angles, np.linalg.norm(angles, axis=-1))
    hang = R.from_axis_angle(np.array([0.0, 0.0, 1.0]), np.pi)  # arms hang down
    q[:, 3:] = R.multiply(q[:, 3:], hang)
    root = np.stack([0.02 * np.sin(t), 0.9 + 0.01 * np.sin(2 * t), 0.0 * t], axis=-1)
    return Motion.from_root_and_rotations(root, q, fps, AVATAROS)


def write_tiny_corpus(
    folder: Path, takes: int = 4, seconds: float = 6.0, seed: int = 0, styles=("Neutral", "Happy")
) -> Path:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(takes):
        name = f"{index + 1:03d}_{styles[index % len(styles)]}_0_x_1_0"
        save_take(tiny_take(rng, seconds), folder / f"{name}.npy")
        sr = 16000
        time = np.arange(int(seconds * sr)) / sr
        envelope = (np.sin(2 * np.pi * 2.5 * time) > 0).astype(np.float32)
        audio = 0.3 * envelope * np.sin(2 * np.pi * 140 * time).astype(np.float32)
        soundfile.write(folder / f"{name}.wav", audio, sr)
        starts = np.arange(0.2, seconds - 0.5, 0.4)
        words = [
            {"word": WORDS[(i + index) % len(WORDS)], "start": float(s), "end": float(s + 0.3)}
            for i, s in enumerate(starts)
        ]
        text = " ".join(w["word"] for w in words)
        (folder / f"{name}.words.json").write_text(
            json.dumps({"text": text, "source": "json", "words": words})
        )
    return folder
