"""The shipped diffusion model: selected by family name, samples (the same seed gives the same
motion, another seed other motion) and follows the output contract."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile

from llavataros.cli import main
from llavataros.motion.kinematics import bone_lengths
from llavataros.pipeline import Animator

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture(scope="module")
def animator() -> Animator:
    return Animator.load("diffusion")


def sample(animator: Animator, seed: int, temperature: float = 0.4) -> np.ndarray:
    animator.set_sampling(seed=seed, temperature=temperature)
    result = animator.animate(EXAMPLES / "hello.wav", EXAMPLES / "hello.txt")
    motion = result.motion
    seconds = soundfile.info(str(EXAMPLES / "hello.wav")).duration
    assert motion.num_frames == round(seconds * motion.fps)
    assert np.allclose(np.linalg.norm(motion.rotations, axis=-1), 1.0, atol=1e-6)
    assert np.ptp(bone_lengths(motion.positions), axis=0).max() < 1e-6
    return motion.to_array(np.float32)


@pytest.mark.slow
def test_the_shipped_diffusion_model_samples(animator):
    assert animator.model.family == "diffusion" and animator.model.sampler.temperature == 0.4
    wrists = [5, 8]

    def between(a: np.ndarray, b: np.ndarray) -> float:
        return float(np.abs(a[:, wrists, :3] - b[:, wrists, :3]).mean())

    first, again, other = (
        sample(animator, 0, 1.0),
        sample(animator, 0, 1.0),
        sample(animator, 1, 1.0),
    )
    assert np.array_equal(first, again)
    assert between(first, other) > 0.01  # metres: two seeds, two different performances
    speed = np.linalg.norm(np.diff(first[:, wrists, :3], axis=0), axis=-1) * animator.default_fps
    assert 0.05 < speed.mean() < 1.0  # it gestures, at a human pace
    # at the default temperature the two seeds are closer, and still two performances
    calm = between(sample(animator, 0), sample(animator, 1))
    assert 0.001 < calm < between(first, other)


@pytest.mark.slow
def test_model_diffusion_selects_it_on_the_command_line(animator, tmp_path):
    out = tmp_path / "out"
    code = main(
        [
            "animate",
            str(EXAMPLES / "hello.wav"),
            "--transcript",
            str(EXAMPLES / "hello.txt"),
            "--model",
            "diffusion",
            "--seed",
            "2",
            "--no-face",
            "--no-video",
            "-o",
            str(out),
        ]
    )
    assert code == 0
    np.testing.assert_allclose(np.load(out / "hello.npy"), sample(animator, 2), atol=1e-5)
    # NAME.json records what made the motion, enough to make it again
    record = json.loads((out / "hello.json").read_text())
    assert record["model"] == "diffusion"
    assert record["sampling"] == {
        "steps": 8,
        "guidance": 1.0,
        "eta": 0.0,
        "seed": 2,
        "temperature": 0.4,
    }


def _speed_at_joins(animator: Animator, wav: Path, textgrid: Path) -> tuple[float, float]:
    """Mean joint speed (raw output, model frame rate, seeds 0-1) into each window's first new
    frame and over the step before it, as shares of the mean speed of all steps."""
    from llavataros.models.diffusion.windows import join_frames

    config = animator.model.config
    into, before, overall = [], [], []
    for seed in (0, 1):
        animator.set_sampling(seed=seed)
        motion = animator.animate(wav, textgrid, config.fps, smooth=False, face=False).motion
        positions = motion.positions
        speed = np.linalg.norm(np.diff(positions, axis=0), axis=-1).mean(axis=-1)  # (T - 1,)
        joins = join_frames(len(positions), config.window, config.overlap, config.discard_frames)
        into += [speed[join - 1] for join in joins]
        before += [speed[join - 2] for join in joins]
        overall.append(speed)
    mean = np.concatenate(overall).mean()
    return float(np.mean(into) / mean), float(np.mean(before) / mean)


@pytest.mark.slow
def test_the_shipped_model_joins_its_windows_without_a_jump(sample_wav, sample_textgrid):
    """On real speech (118 s, 94 joins over two seeds) the step into a window's first new frame
    and the one before it move like any other step; without discarding and blending, the
    same weights slow down before each join and jump into it (README, "seams")."""
    import dataclasses

    animator = Animator.load("diffusion")
    shipped = animator.model.config
    assert shipped.discard_frames == 10 and shipped.blend_frames == 15
    into, before = _speed_at_joins(animator, sample_wav, sample_textgrid)
    assert 0.6 < into < 1.5 and 0.6 < before < 1.5
    animator.model.config = dataclasses.replace(shipped, discard_frames=0, blend_frames=0)
    into, before = _speed_at_joins(animator, sample_wav, sample_textgrid)
    assert into > 2.5 and before < 0.6
