"""Output post-processing (pipeline/postprocess.py): the smoothing window spans a fixed time,
so a model's motion is the same at any output rate; the speed limit smooths fast moves only,
and streams exactly."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from llavataros.errors import InputError
from llavataros.models.geometry import RootStatistics
from llavataros.motion.kinematics import wrist_speed
from llavataros.motion.skeleton import AVATAROS, NUM_JOINTS
from llavataros.motion.smoothing import SpeedLimit
from llavataros.motion.take import Motion
from llavataros.pipeline.postprocess import MotionAssembler, assemble_motion, smoothing_window

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


def fast_move_rows(seconds: float = 6.0) -> torch.Tensor:
    """Model rows whose root (so every joint, the wrists too) moves 0.6 m in 0.3 s at 2 s with
    a minimum-jerk profile (peak 3.75 m/s), then sways slowly (0.1 m at 0.5 Hz) from 4 s on."""
    t = np.arange(int(seconds * MODEL_FPS)) / MODEL_FPS
    phase = np.clip((t - 2.0) / 0.3, 0.0, 1.0)
    x = 0.6 * (10 * phase**3 - 15 * phase**4 + 6 * phase**5)
    x += np.where(t >= 4.0, 0.1 * np.sin(2 * np.pi * 0.5 * (t - 4.0)), 0.0)
    rows = np.zeros((len(t), 3 + 6 * NUM_JOINTS))
    rows[:, 0] = x
    rows[:, 3:] = np.tile([1.0, 0.0, 0.0, 0.0, 1.0, 0.0], NUM_JOINTS)
    return torch.from_numpy(rows)


@pytest.mark.parametrize("fps", [30.0, 60.0])
def test_the_speed_limit_smooths_fast_moves_only_and_streams_exactly(fps):
    rows = fast_move_rows()
    total = int(round(len(rows) / MODEL_FPS * fps))
    limit = SpeedLimit()
    plain = assemble_motion(rows, AVATAROS, STATS, MODEL_FPS, fps, total, True, 14 / 30)
    limited = assemble_motion(rows, AVATAROS, STATS, MODEL_FPS, fps, total, True, 14 / 30, limit)
    speed_plain = wrist_speed(plain.positions, fps).max()
    speed_limited = wrist_speed(limited.positions, fps).max()
    assert speed_plain > 2.4 and speed_limited < 1.8, (speed_plain, speed_limited)  # 2.52, 1.60
    # where the wrists are slow, the motion is the ordinary smoothing's
    far = int(3.2 * fps)  # 0.9 s after the move ends: beyond the limit's reach
    assert np.abs(limited.positions[far:] - plain.positions[far:]).max() < 1e-9
    assert (
        np.abs(limited.positions[: int(1.0 * fps)] - plain.positions[: int(1.0 * fps)]).max() < 1e-9
    )
    # the stream gives the same frames whatever the chunks
    assembler = MotionAssembler(AVATAROS, STATS, MODEL_FPS, fps, True, 14 / 30, limit)
    assert assembler.latency_frames == limit.reach(fps, smoothing_window(14 / 30, fps))
    pieces, start, size = [], 0, 1
    while start < len(rows):
        pieces.append(assembler.push(rows[start : start + size]))
        start, size = start + size, size % 7 + 1
    pieces.append(assembler.finish(total))
    assert np.abs(np.concatenate(pieces) - limited.to_array(np.float32)).max() < 1e-5


def test_a_speed_limit_can_be_chosen_per_run():
    """``--speed-limit``: the family's by default (the diffusion model's, none for the
    Transformer-XL, whose live stream it would delay), any span, or none; the stream waits
    for what the limit reads."""
    from llavataros.pipeline.animate import Animator
    from llavataros.pipeline.stream import AnimationStream

    animator = Animator.load("llanimation", face_model=None)
    assert animator.speed_limit is None
    plain = AnimationStream(animator, face=False).latency_seconds
    animator.speed_limit_seconds = 1.2
    assert animator.speed_limit == SpeedLimit(wide_seconds=1.2)
    limited = AnimationStream(animator, face=False).latency_seconds
    reach = SpeedLimit(1.2).reach(60.0, smoothing_window(8 / 30, 60.0))  # 39 frames at 60 fps
    assert limited - plain == pytest.approx((reach - 8) / 60.0)
    animator.speed_limit_seconds = 0.0
    assert animator.speed_limit is None
    for bad in (-1.0, float("nan")):  # the API refuses what the command line refuses
        animator.speed_limit_seconds = bad
        with pytest.raises(InputError, match="--speed-limit must be >= 0 seconds"):
            animator.speed_limit  # noqa: B018
    diffusion = Animator.load("diffusion", face_model=None)
    corpus = diffusion.metadata.speed_limit  # its training takes' wrist speeds, below people's
    assert corpus is not None and 1.2 < corpus.slow < corpus.fast < SpeedLimit().fast
    assert diffusion.speed_limit == SpeedLimit(slow=corpus.slow, fast=corpus.fast)
    diffusion.speed_limit_seconds = 1.2  # another span keeps the model's speeds
    assert diffusion.speed_limit == SpeedLimit(1.2, slow=corpus.slow, fast=corpus.fast)


def _moving(speed: float, frames: int, fps: float = 60.0) -> Motion:
    """A rest pose whose root (so every joint) moves along x at ``speed`` m/s."""
    root = np.zeros((frames, 3))
    root[:, 0] = speed * np.arange(frames) / fps
    quats = np.tile([1.0, 0.0, 0.0, 0.0], (frames, NUM_JOINTS, 1))
    return Motion.from_root_and_rotations(root, quats, fps)


def test_a_corpus_speed_limit_sits_at_its_wrist_speed_quantiles():
    # 1000 frames: 985 at 1 m/s, 13 at 1.5, 2 at 2: the 99th percentile is 1.5, the 99.9th 2
    takes = [_moving(1.0, 985), _moving(1.5, 13), _moving(2.0, 2, fps=30.0)]
    limit = SpeedLimit.of_corpus(takes)
    assert limit.slow == pytest.approx(1.5) and limit.fast == pytest.approx(2.0)
    assert limit.wide_seconds == SpeedLimit().wide_seconds
    steady = SpeedLimit.of_corpus([_moving(0.5, 100)])  # one speed: still a ramp
    assert steady.slow == pytest.approx(0.5) and steady.fast == pytest.approx(0.55)
    assert SpeedLimit.from_dict(dataclasses.asdict(limit)) == limit
    with pytest.raises(InputError, match="no motion to measure"):
        SpeedLimit.of_corpus([_moving(1.0, 1)])
    with pytest.raises(InputError, match="0 < slow < fast"):
        SpeedLimit(slow=2.0, fast=2.0)
