"""The FGD feature extractor separates real motion from broken motion (SPEC section 5)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from llavataros.errors import InputError
from llavataros.eval.fgd import (
    FGDConfig,
    FGDExtractor,
    MotionAutoencoder,
    cut_windows,
    load_fgd_extractor,
    pose_vectors,
    train_fgd_extractor,
    window_starts,
)
from llavataros.motion import rotations
from llavataros.motion.take import Motion

TINY = FGDConfig(
    channels=8, latent_size=8, train_stride=4, feature_stride=8, batch_size=64, learning_rate=3e-3
)

# One "speaker style" shared by all synthetic takes: per joint, three turn axes, frequencies (Hz)
# and amplitudes (radians); each take draws its own phases and a tempo factor.
STYLE = np.random.default_rng(123)
AXES = STYLE.normal(size=(3, 9, 3))
FREQUENCIES = STYLE.uniform(0.3, 1.2, size=(3, 9, 1))
AMPLITUDES = STYLE.uniform(0.2, 0.4, size=(3, 9, 1))


def smooth_random_motion(
    rng: np.random.Generator, seconds: float = 8.0, fps: float = 30.0
) -> Motion:
    """Every joint's global rotation is a sum of three slow sinusoidal turns (random phases)."""
    t = np.arange(int(seconds * fps)) / fps
    tempo = rng.uniform(0.8, 1.25)
    turns = np.zeros((len(t), 9, 3))
    for axes, frequency, amplitude in zip(AXES, FREQUENCIES, AMPLITUDES, strict=True):
        phase = rng.uniform(0, 2 * np.pi, size=(9, 1))
        wave = np.sin(2 * np.pi * tempo * frequency * t[:, None, None] + phase)  # (t, 9, 1)
        turns += amplitude * axes * wave
    quats = rotations.from_axis_angle(turns, np.linalg.norm(turns, axis=-1))  # (t, 9, 4)
    root = 0.02 * np.sin(2 * np.pi * 0.3 * t)[:, None] * np.array([1.0, 0.0, 0.5])
    return Motion.from_root_and_rotations(root, quats, fps)


@pytest.fixture(scope="module")
def corpus():
    """24 training and 12 test takes of 4 s (many short takes: less sampling noise in FGD)."""
    rng = np.random.default_rng(0)
    train = [smooth_random_motion(rng, seconds=4.0) for _ in range(24)]
    return train, [smooth_random_motion(rng, seconds=4.0) for _ in range(12)]


@pytest.fixture(scope="module")
def extractor(corpus):
    train, _ = corpus
    return train_fgd_extractor(train, TINY, epochs=8, seed=0)


def shuffled_in_time(motion: Motion, rng: np.random.Generator) -> Motion:
    order = rng.permutation(motion.num_frames)
    return Motion(motion.positions[order], motion.rotations[order], motion.fps)


def mean_pose(motion: Motion) -> Motion:
    count = motion.num_frames
    positions = np.repeat(motion.positions.mean(axis=0, keepdims=True), count, axis=0)
    return Motion(positions, np.repeat(motion.rotations[:1], count, axis=0), motion.fps)


def test_pose_vectors_and_windows():
    rng = np.random.default_rng(1)
    motion = smooth_random_motion(rng, seconds=4.0, fps=60.0)
    vectors = pose_vectors(motion, None, 30.0)
    assert vectors.shape == (120, 24)  # 4 s at 30 fps, 8 non-root joints x 3
    np.testing.assert_allclose(vectors[:, :3], motion.positions[::2, 1] - motion.positions[::2, 0])
    windows = cut_windows(vectors, 32, 8)
    assert windows.shape == (12, 32, 24)  # starts 0, 8, ..., 88
    np.testing.assert_array_equal(windows[1], vectors[8:40])
    # Takes of 40, 20 and 35 frames end to end: the 20-frame take holds no window.
    np.testing.assert_array_equal(window_starts([40, 20, 35], 32, 4), [0, 4, 8, 60])


def test_autoencoder_shapes():
    model = MotionAutoencoder(24, TINY)
    windows = torch.zeros(5, 32, 24)
    assert model.encode(windows).shape == (5, 8)
    assert model(windows).shape == (5, 32, 24)


def test_fgd_separates_real_from_broken_motion(extractor, corpus):
    train, test = corpus
    rng = np.random.default_rng(2)
    real = extractor.fgd(test, train)
    shuffled = extractor.fgd(test, [shuffled_in_time(m, rng) for m in test])
    still = extractor.fgd(test, [mean_pose(m) for m in test])
    assert extractor.features(test).shape == (12 * 12, 8)  # (120 - 32) / 8 + 1 windows each
    # Measured 17x and 30x; over six corpus seeds the smallest ratios were 7.7x and 16x.
    assert real * 8 < shuffled
    assert real * 8 < still


def test_training_reduces_reconstruction_error(corpus, extractor):
    train, test = corpus
    untrained = train_fgd_extractor(train, TINY, epochs=1, seed=0)
    assert extractor.reconstruction_error(test) < untrained.reconstruction_error(test)


def test_save_load_round_trip(extractor, corpus, tmp_path):
    _, test = corpus
    extractor.save(tmp_path / "fgd")
    assert sorted(p.name for p in (tmp_path / "fgd").iterdir()) == [
        "config.json",
        "weights.safetensors",
    ]
    loaded = load_fgd_extractor(tmp_path / "fgd")
    assert loaded.config == extractor.config
    np.testing.assert_allclose(loaded.features(test), extractor.features(test), atol=1e-6)


def test_training_is_deterministic(corpus):
    train, test = corpus
    torch.manual_seed(5)
    first = train_fgd_extractor(train[:3], TINY, epochs=1, seed=7).features(test[:1])
    after_training = torch.rand(1)
    torch.manual_seed(5)
    second = train_fgd_extractor(train[:3], TINY, epochs=1, seed=8)
    second = train_fgd_extractor(train[:3], TINY, epochs=1, seed=7).features(test[:1])
    np.testing.assert_array_equal(first, second)
    assert torch.rand(1) == after_training  # the global random state is left alone


def test_bad_inputs(extractor, tmp_path):
    with pytest.raises(InputError):
        FGDConfig(window=30)
    short = smooth_random_motion(np.random.default_rng(3), seconds=0.5)
    with pytest.raises(InputError):
        extractor.features([short])
    extractor.save(tmp_path / "fgd")
    description = json.loads((tmp_path / "fgd" / "config.json").read_text())
    description["config"]["colour"] = "blue"
    (tmp_path / "fgd" / "config.json").write_text(json.dumps(description))
    with pytest.raises(InputError, match="colour"):
        FGDExtractor.load(tmp_path / "fgd")
    with pytest.raises(InputError):
        FGDExtractor.load(tmp_path / "missing")
