"""Output post-processing (pipeline/postprocess.py): the smoothing window spans a fixed time,
so a model's motion is the same at any output rate."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from llavataros.models.geometry import RootStatistics
from llavataros.motion.skeleton import AVATAROS, NUM_JOINTS
from llavataros.pipeline.postprocess import assemble_motion, smoothing_window

MODEL_FPS = 30.0
STATS = RootStatistics((0.0, 1.0, 0.0), (1.0, 1.0, 1.0))


@pytest.mark.parametrize(
    ("seconds", "fps", "frames"),
    [(8 / 30, 30.0, 9), (8 / 30, 60.0, 17), (10 / 30, 60.0, 21), (8 / 30, 24.0, 7), (0.01, 30, 1)],
)
def test_smoothing_window_spans_a_fixed_time(seconds, fps, frames):
    assert smoothing_window(seconds, fps) == frames


def swaying_rows(hertz: float, seconds: float = 4.0, amplitude: float = 0.05) -> torch.Tensor:
    """Model rows whose root sways sideways at ``hertz``; every joint keeps the identity."""
    t = np.arange(int(seconds * MODEL_FPS)) / MODEL_FPS
    rows = np.zeros((len(t), 3 + 6 * NUM_JOINTS))
    rows[:, 0] = amplitude * np.sin(2 * np.pi * hertz * t)
    rows[:, 3:] = np.tile([1.0, 0.0, 0.0, 0.0, 1.0, 0.0], NUM_JOINTS)
    return torch.from_numpy(rows)


def sway_gain(fps: float, hertz: float, seconds: float) -> float:
    """Amplitude of the sway after post-processing at ``fps`` over the amplitude before."""
    rows = swaying_rows(hertz)
    total = int(round(len(rows) / MODEL_FPS * fps))
    motion = assemble_motion(rows, AVATAROS, STATS, MODEL_FPS, fps, total, True, seconds)
    middle = motion.positions[total // 4 : 3 * total // 4, 0, 0]  # away from the edges
    return float(np.abs(middle).max() / 0.05)


@pytest.mark.parametrize("hertz", [2.0, 3.0, 4.0])
def test_the_same_motion_at_any_output_rate(hertz):
    """A sway the smoothing damps is damped alike at 30 and 60 fps, and nearly so at 24 fps
    (7 frames span 0.25 s there). With a window of 9 frames at every rate, as before, 60 fps
    kept 0.92 of a 4 Hz sway where 30 fps kept 0.61."""
    at24, at30, at60 = (sway_gain(fps, hertz, 8 / 30) for fps in (24.0, 30.0, 60.0))
    assert abs(at60 - at30) < 0.05 and abs(at24 - at30) < 0.06, (at24, at30, at60)
    if hertz >= 3:
        assert at30 < 0.9  # the smoothing acts on it


def test_a_longer_span_damps_more():
    assert sway_gain(60.0, 4.0, 10 / 30) < sway_gain(60.0, 4.0, 8 / 30) - 0.05
