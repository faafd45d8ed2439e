"""Baselines: shapes, frame rates, kinematic consistency and exact retrieval."""

from __future__ import annotations

import numpy as np
import pytest

from llavataros.errors import InputError
from llavataros.eval import baselines
from llavataros.motion import rotations
from llavataros.motion.kinematics import bone_lengths
from llavataros.motion.skeleton import AVATAROS, RIGHT_WRIST
from llavataros.motion.take import Motion

FPS = 60.0


def wavy_motion(rng: np.random.Generator, frames: int, fps: float = FPS) -> Motion:
    """Smooth random global rotations (sums of sinusoidal turns) and a swaying root."""
    t = np.arange(frames) / fps
    turns = np.zeros((frames, 9, 3))
    for _ in range(2):
        axis = rng.normal(size=(1, 9, 3))
        frequency = rng.uniform(0.2, 1.0, size=(1, 9, 1))
        phase = rng.uniform(0, 2 * np.pi, size=(1, 9, 1))
        turns += 0.3 * axis * np.sin(2 * np.pi * frequency * t[:, None, None] + phase)
    quats = rotations.from_axis_angle(turns, np.linalg.norm(turns, axis=-1))
    root = np.stack([0.03 * np.sin(t), 1.0 + 0.01 * np.cos(2 * t), np.zeros_like(t)], axis=-1)
    return Motion.from_root_and_rotations(root, quats, fps)


@pytest.fixture(scope="module")
def train():
    rng = np.random.default_rng(0)
    return [wavy_motion(rng, frames) for frames in (300, 420, 360)]


def assert_consistent(motion: Motion, frames: int, fps: float) -> None:
    assert motion.positions.shape == (frames, 9, 3)
    assert motion.rotations.shape == (frames, 9, 4)
    assert motion.fps == fps
    lengths = bone_lengths(motion.positions)  # (t, 8)
    np.testing.assert_allclose(
        lengths, np.broadcast_to(AVATAROS.bone_lengths, lengths.shape), atol=1e-9
    )
    np.testing.assert_allclose(np.linalg.norm(motion.rotations, axis=-1), 1.0, atol=1e-9)
    assert np.all(np.sum(motion.rotations[1:] * motion.rotations[:-1], axis=-1) >= 0)


def test_average_quaternion_is_sign_invariant():
    q = rotations.from_axis_angle(np.array([0.0, 1.0, 0.0]), 0.7)
    np.testing.assert_allclose(baselines.average_quaternion(np.stack([q, -q, q])), q, atol=1e-12)
    axis = np.array([0.0, 0.0, 1.0])
    pair = np.stack([rotations.from_axis_angle(axis, 0.4), rotations.from_axis_angle(axis, -0.4)])
    np.testing.assert_allclose(baselines.average_quaternion(pair), rotations.IDENTITY, atol=1e-12)


def test_local_and_global_rotations_round_trip(train):
    quats = train[0].rotations[:10]
    local = baselines.to_local(quats, AVATAROS.parents)
    np.testing.assert_allclose(baselines.to_global(local, AVATAROS.parents), quats, atol=1e-12)


def test_mean_pose_baseline(train):
    motion = baselines.mean_pose_baseline(train, 250, 30.0, np.random.default_rng(1))
    assert_consistent(motion, 250, 30.0)
    root, average = baselines.mean_pose(train)
    np.testing.assert_allclose(motion.positions[:, 0], np.broadcast_to(root, (250, 3)))
    # Idle noise: small turns (a few degrees) and slow wrists.
    angle = 2 * np.degrees(
        np.arccos(np.clip(np.abs(np.sum(motion.rotations * average, axis=-1)), 0, 1))
    )
    assert 0.5 < angle.mean() < 10.0
    wrist_speed = np.linalg.norm(np.diff(motion.positions[:, RIGHT_WRIST], axis=0), axis=-1) * 30
    assert wrist_speed.mean() < 0.1
    again = baselines.mean_pose_baseline(train, 250, 30.0, np.random.default_rng(1))
    np.testing.assert_array_equal(again.positions, motion.positions)


def test_mean_pose_without_noise_is_the_mean_pose(train):
    motion = baselines.mean_pose_baseline(train, 5, FPS, np.random.default_rng(1), idle_degrees=0)
    _, average = baselines.mean_pose(train)
    np.testing.assert_allclose(motion.rotations, np.broadcast_to(average, (5, 9, 4)), atol=1e-12)


def find_segment(motion: Motion, train: list[Motion]) -> tuple[int, int] | None:
    """(take, first frame) whose rotations equal ``motion``'s, if any."""
    frames = motion.num_frames
    for index, take in enumerate(train):
        for first in range(take.num_frames - frames + 1):
            if np.allclose(take.rotations[first : first + frames], motion.rotations, atol=1e-12):
                return index, first
    return None


def test_random_segment_is_a_real_segment(train):
    motion = baselines.random_segment_baseline(train, 200, np.random.default_rng(2))
    assert_consistent(motion, 200, FPS)
    found = find_segment(motion, train)
    assert found is not None
    index, first = found
    np.testing.assert_allclose(
        motion.positions, train[index].positions[first : first + 200], atol=1e-12
    )


def test_random_segments_are_joined_when_takes_are_short(train):
    short = [take.slice(0, 50) for take in train]
    motion = baselines.random_segment_baseline(short, 400, np.random.default_rng(3), crossfade=8)
    assert_consistent(motion, 400, FPS)
    assert find_segment(motion.slice(0, 30), short) is not None  # starts as real motion


def random_features(train: list[Motion], rng: np.random.Generator) -> list[np.ndarray]:
    return [rng.normal(size=(take.num_frames, 5)) for take in train]


@pytest.mark.parametrize(("first", "frames", "stride"), [(37, 230, 1), (40, 60, 10), (0, 13, 1)])
def test_nearest_neighbour_returns_the_training_segment(train, first, frames, stride):
    features = random_features(train, np.random.default_rng(4))
    test = features[1][first : first + frames]
    motion = baselines.nearest_neighbour_baseline(
        features, train, test, window=60, crossfade=15, stride=stride
    )
    assert_consistent(motion, frames, FPS)
    expected = train[1].slice(first, first + frames)
    np.testing.assert_allclose(motion.rotations, expected.rotations, atol=1e-9)
    np.testing.assert_allclose(motion.positions, expected.positions, atol=1e-9)


def test_nearest_neighbour_on_new_features(train):
    features = random_features(train, np.random.default_rng(5))
    test = np.random.default_rng(6).normal(size=(500, 5))
    motion = baselines.nearest_neighbour_baseline(features, train, test, window=40)
    assert_consistent(motion, 500, FPS)


def test_window_descriptors_average_parts():
    features = np.arange(20, dtype=float).reshape(10, 2)
    descriptors = baselines.window_descriptors(features, np.array([0, 2]), window=4, segments=2)
    np.testing.assert_allclose(descriptors[0], [1.0, 2.0, 5.0, 6.0])  # frames 0-1, 2-3
    np.testing.assert_allclose(descriptors[1], [5.0, 6.0, 9.0, 10.0])


def test_baselines_reject_bad_input(train):
    rng = np.random.default_rng(7)
    with pytest.raises(InputError):
        baselines.random_segment_baseline([], 10, rng)
    with pytest.raises(InputError):
        baselines.mean_pose_baseline(train, 0, FPS, rng)
    mixed = [train[0], wavy_motion(rng, 100, fps=30.0)]
    with pytest.raises(InputError, match="frame rates"):
        baselines.random_segment_baseline(mixed, 10, rng)
    features = random_features(train, rng)
    with pytest.raises(InputError):
        baselines.nearest_neighbour_baseline(features, train, np.zeros((10, 3)), window=20)
    with pytest.raises(InputError):
        baselines.nearest_neighbour_baseline(
            features, train, np.zeros((10, 5)), window=20, crossfade=20
        )
