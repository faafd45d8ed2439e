"""Resampling, mirroring, smoothing and take statistics (motion: resample, mirror, smoothing,
info)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from llavataros.errors import InputError
from llavataros.motion import rotations
from llavataros.motion.info import describe, describe_array, describe_take, format_description
from llavataros.motion.kinematics import bone_lengths, forward_kinematics
from llavataros.motion.mirror import (
    is_mirrored,
    mirror,
    mirror_name,
    mirror_rotations,
    mirror_skeleton,
    partners,
)
from llavataros.motion.resample import resample
from llavataros.motion.skeleton import AVATAROS, JOINT_NAMES, MIRROR_PARTNER, Skeleton
from llavataros.motion.smoothing import effective_window, smooth
from llavataros.motion.take import Motion, load_take

SPEC_BONE_LENGTHS = np.array([0.291, 0.117, 0.172, 0.296, 0.229, 0.173, 0.287, 0.257])


def swaying_motion(frames: int = 120, fps: float = 60.0, seed: int = 0) -> Motion:
    """A smooth, kinematically consistent motion: each joint turns sinusoidally about its own
    axis around a random base orientation, the root drifts slowly."""
    rng = np.random.default_rng(seed)
    time = np.arange(frames) / fps  # (t,)
    axes = rng.normal(size=(9, 3))
    amplitude, frequency, phase = (
        rng.uniform(0.2, 0.8, 9),
        rng.uniform(0.3, 1.5, 9),
        rng.uniform(0, 6, 9),
    )
    angles = amplitude * np.sin(2 * np.pi * frequency * time[:, None] + phase)  # (t, j)
    base = rotations.normalize(rng.normal(size=(9, 4)))
    q = rotations.multiply(rotations.from_axis_angle(axes, angles), base)  # (t, j, 4)
    root = np.stack([0.05 * np.sin(time), 0.9 + 0.01 * time, 0.02 * np.cos(time)], axis=-1)
    return Motion.from_root_and_rotations(root, q, fps)


def angle_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Rotation angle in radians between unit quaternions (sign-independent; arccos near 1
    resolves about 1e-7 rad, so "exact" below means < 1e-6)."""
    return 2 * np.arccos(np.clip(np.abs(np.sum(a * b, axis=-1)), 0.0, 1.0))


def jerk(positions: np.ndarray, fps: float) -> float:
    """Mean norm of the third time derivative (m/s^3)."""
    return float(np.linalg.norm(np.diff(positions, 3, axis=0) * fps**3, axis=-1).mean())


@pytest.fixture(scope="module")
def sample(sample_npy) -> Motion:
    return load_take(sample_npy)


# --- resampling ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "frames, fps_in, fps_out, expected",
    [
        (120, 60, 30, 60),
        (121, 60, 30, 60),
        (7076, 60, 30, 3538),
        (60, 30, 60, 120),
        (100, 60, 25, 42),
        (1, 60, 30, 1),
    ],
)
def test_resample_frame_count_is_rounded_duration(frames, fps_in, fps_out, expected):
    motion = swaying_motion(frames, fps_in)
    out = resample(motion, fps_out)
    assert out.num_frames == expected == max(1, round(frames / fps_in * fps_out))
    assert out.fps == fps_out
    assert out.rotations.shape == (expected, 9, 4) and out.positions.shape == (expected, 9, 3)


def test_resample_known_answer_constant_turn_and_linear_root():
    # A constant angular velocity and a linear root path are reproduced exactly by slerp/lerp.
    frames, fps = 31, 30.0
    time = np.arange(frames) / fps
    q = rotations.from_axis_angle(
        np.array([0.0, 0.0, 1.0]), np.broadcast_to(time[:, None], (frames, 9))
    )
    root = np.stack([time, np.zeros(frames), -2 * time], axis=-1)
    out = resample(Motion.from_root_and_rotations(root, q, fps), 90.0)
    out_time = np.arange(out.num_frames) / 90.0
    inside = out_time <= time[-1]
    expected_q = rotations.from_axis_angle(np.array([0.0, 0.0, 1.0]), out_time[inside])
    assert np.max(angle_between(out.rotations[inside, 4], expected_q)) < 1e-6
    np.testing.assert_allclose(out.positions[inside, 0, 0], out_time[inside], atol=1e-12)
    np.testing.assert_allclose(out.positions[inside, 0, 2], -2 * out_time[inside], atol=1e-12)
    # Past the last input frame the last frame is held.
    np.testing.assert_allclose(
        out.positions[~inside, 0], np.broadcast_to(root[-1], (int(np.sum(~inside)), 3))
    )


def test_resample_down_and_up_preserves_motion():
    motion = swaying_motion(240, 60.0, seed=1)
    half = resample(motion, 30.0)
    # Every other input frame is an output frame at 30 fps: exact.
    assert np.max(angle_between(half.rotations, motion.rotations[::2])) < 1e-6
    np.testing.assert_allclose(half.positions, motion.positions[::2], atol=1e-12)
    back = resample(half, 60.0)
    assert back.num_frames == motion.num_frames
    assert np.max(angle_between(back.rotations, motion.rotations)[:-1]) < np.radians(0.5)
    error = np.linalg.norm(back.positions - motion.positions, axis=-1)[:-1]
    assert error.max() < 0.002
    np.testing.assert_allclose(
        bone_lengths(back.positions), np.broadcast_to(AVATAROS.bone_lengths, (240, 8)), atol=1e-12
    )


def test_resample_sample_60_30_60(sample):
    back = resample(resample(sample, 30.0), 60.0)
    assert back.num_frames == sample.num_frames == 7076 and back.fps == 60.0
    # Compare with the sample's own FK positions (the output is kinematically consistent;
    # the raw take is only within a few mm of its skeleton at joints 1, 3, 6).
    reference = forward_kinematics(sample.positions[:, 0], sample.rotations, sample.skeleton)
    error = np.linalg.norm(back.positions - reference, axis=-1)  # (t, j)
    assert error.mean() < 0.0005  # measured 0.07 mm
    assert error.max() < 0.01  # measured 5.2 mm, at the fastest wrist turn
    assert np.degrees(angle_between(back.rotations, sample.rotations)).mean() < 0.1
    raw_error = np.linalg.norm(back.positions - sample.positions, axis=-1).mean(axis=0)
    assert np.all(raw_error < 0.007)  # measured 3.3-6.4 mm: the FK error of the take
    assert np.ptp(bone_lengths(back.positions), axis=0).max() < 1e-12


def test_resample_rejects_bad_rates():
    for fps in (0.0, -30.0, float("nan")):
        with pytest.raises(InputError, match="frame rate"):
            resample(swaying_motion(10), fps)


# --- mirroring -----------------------------------------------------------------------------------


def test_partners_by_name():
    assert partners(JOINT_NAMES) == MIRROR_PARTNER
    renamed = tuple(name + "_" for name in JOINT_NAMES)  # not the AvatarOS names: by prefix
    assert partners(renamed) == MIRROR_PARTNER
    assert partners(("Hips", "LeftHand", "Head", "RightHand")) == (0, 3, 2, 1)


def test_mirror_known_answer():
    positions = np.zeros((1, 9, 3))
    positions[0, 5] = [-0.3, 1.0, 0.2]  # right wrist, on the character's right (-X)
    q = np.broadcast_to(rotations.IDENTITY, (1, 9, 4)).copy()
    q[0, 5] = rotations.from_axis_angle(np.array([0.0, 0.0, 1.0]), 0.5)  # turn about +Z
    mirrored = mirror(Motion(positions, q, 60.0))
    np.testing.assert_allclose(mirrored.positions[0, 8], [0.3, 1.0, 0.2])  # now the left wrist
    np.testing.assert_allclose(mirrored.positions[0, 5], [0.0, 0.0, 0.0])
    # A turn about +Z reflects to the opposite turn about +Z.
    expected = rotations.from_axis_angle(np.array([0.0, 0.0, 1.0]), -0.5)
    np.testing.assert_allclose(mirrored.rotations[0, 8], expected, atol=1e-12)


def test_mirrored_quaternions_are_reflected_rotations():
    q = rotations.normalize(np.random.default_rng(2).normal(size=(100, 9, 4)))
    vectors = np.random.default_rng(3).normal(size=(100, 9, 3))
    reflect = np.array([-1.0, 1.0, 1.0])
    mirrored = mirror_rotations(q, tuple(range(9)))  # reflection only, no joint swap
    np.testing.assert_allclose(
        rotations.rotate(mirrored, vectors * reflect),
        rotations.rotate(q, vectors) * reflect,
        atol=1e-12,
    )


def test_mirror_is_an_involution():
    motion = swaying_motion(50, seed=4)
    twice = mirror(mirror(motion))
    np.testing.assert_array_equal(twice.positions, motion.positions)
    np.testing.assert_array_equal(twice.rotations, motion.rotations)
    np.testing.assert_array_equal(twice.skeleton.offsets, motion.skeleton.offsets)
    assert twice.fps == motion.fps
    np.testing.assert_array_equal(
        mirror_skeleton(mirror_skeleton(AVATAROS)).offsets, AVATAROS.offsets
    )


def test_mirror_of_consistent_motion_is_consistent():
    mirrored = mirror(swaying_motion(50, seed=5))
    fk = forward_kinematics(mirrored.positions[:, 0], mirrored.rotations, mirrored.skeleton)
    np.testing.assert_allclose(fk, mirrored.positions, atol=1e-12)
    # The mirrored skeleton has the partner's bone lengths.
    np.testing.assert_allclose(
        mirrored.skeleton.bone_lengths,
        np.linalg.norm(AVATAROS.offsets[list(MIRROR_PARTNER)][1:], axis=-1),
    )


def test_sample_mirror_is_kinematically_consistent(sample):
    mirrored = mirror(sample)
    assert mirrored.num_frames == sample.num_frames
    # Right-side joints stay on the character's right (-X) after the swap.
    assert mirrored.positions[:, 3:6, 0].mean() < -0.1 < 0.1 < mirrored.positions[:, 6:9, 0].mean()
    fk = forward_kinematics(mirrored.positions[:, 0], mirrored.rotations, mirrored.skeleton)
    error = np.linalg.norm(fk - mirrored.positions, axis=-1).mean(axis=0)  # (j,)
    original = forward_kinematics(sample.positions[:, 0], sample.rotations, sample.skeleton)
    original_error = np.linalg.norm(original - sample.positions, axis=-1).mean(axis=0)
    # Exactly the original FK error, moved to the partner joints (3.3-6.4 mm per joint).
    np.testing.assert_allclose(error, original_error[list(MIRROR_PARTNER)], atol=1e-12)
    assert np.all(error < 0.007)
    # Per bone, the exact bones stay exact: joint -> parent offsets of the mirrored skeleton.
    for joint in (2, 4, 5, 7, 8):
        parent = mirrored.skeleton.parents[joint]
        predicted = mirrored.positions[:, parent] + rotations.rotate(
            mirrored.rotations[:, parent], mirrored.skeleton.offsets[joint]
        )
        assert np.linalg.norm(predicted - mirrored.positions[:, joint], axis=-1).mean() < 1e-4


@pytest.mark.parametrize(
    "name, mirrored",
    [
        ("001_Neutral_0_x_1_0", "001_Neutral_0_mirror_x_1_0"),
        ("063_Speech_12_x_1_0", "063_Speech_12_mirror_x_1_0"),
        ("001_Neutral_0_x_1_0.npy", "001_Neutral_0_mirror_x_1_0.npy"),
    ],
)
def test_mirror_name_both_ways(name, mirrored):
    assert mirror_name(name) == mirrored
    assert mirror_name(mirrored) == name
    assert not is_mirrored(name) and is_mirrored(mirrored)


@pytest.mark.parametrize("name", ["speech", "001_Neutral_x_1_0", "Neutral_0_x_1_0", ""])
def test_mirror_name_rejects_other_names(name):
    with pytest.raises(InputError, match="not an AvatarOS take name"):
        mirror_name(name)


# --- smoothing -----------------------------------------------------------------------------------


def noisy_motion(frames: int = 200, seed: int = 6) -> Motion:
    motion = swaying_motion(frames, seed=seed)
    rng = np.random.default_rng(seed + 1)
    q = motion.rotations + rng.normal(scale=0.01, size=motion.rotations.shape)
    q *= rng.choice([-1.0, 1.0], size=(frames, 9, 1))  # sign flips must not hurt
    root = motion.positions[:, 0] + rng.normal(scale=0.002, size=(frames, 3))
    return Motion(forward_kinematics(root, rotations.normalize(q), AVATAROS), q, motion.fps)


def test_smoothing_reduces_jerk_and_keeps_the_skeleton():
    noisy = noisy_motion()
    smoothed = smooth(noisy)
    assert jerk(smoothed.positions, 60.0) < 0.2 * jerk(noisy.positions, 60.0)
    np.testing.assert_allclose(np.linalg.norm(smoothed.rotations, axis=-1), 1.0, atol=1e-12)
    assert np.all(np.sum(smoothed.rotations[1:] * smoothed.rotations[:-1], axis=-1) > 0)
    np.testing.assert_allclose(
        bone_lengths(smoothed.positions),
        np.broadcast_to(AVATAROS.bone_lengths, (200, 8)),
        atol=1e-12,
    )
    # It removes noise rather than motion: closer to the clean motion than the noisy input.
    clean = swaying_motion(200, seed=6)
    assert (
        np.linalg.norm(smoothed.positions - clean.positions, axis=-1).mean()
        < np.linalg.norm(noisy.positions - clean.positions, axis=-1).mean()
    )


def test_smoothing_keeps_quadratic_root_paths():
    # Savitzky-Golay of order 2 reproduces a quadratic exactly (known answer).
    time = np.arange(40) / 60.0
    root = np.stack([time**2, 1.0 + 0.5 * time, -(time**2)], axis=-1)
    q = np.broadcast_to(rotations.IDENTITY, (40, 9, 4))
    smoothed = smooth(Motion.from_root_and_rotations(root, q, 60.0), window=9, order=2)
    np.testing.assert_allclose(smoothed.positions[:, 0], root, atol=1e-12)


@pytest.mark.parametrize("frames, window", [(20, 9), (9, 9), (6, 5), (5, 5), (3, 3), (2, None)])
def test_effective_window_for_short_sequences(frames, window):
    assert effective_window(frames, 9, 2) == window


def test_smoothing_short_sequences():
    five = noisy_motion(5, seed=8)
    smoothed = smooth(five, window=9, order=2)  # window 5
    assert smoothed.num_frames == 5
    assert not np.allclose(smoothed.positions, five.positions)
    np.testing.assert_allclose(np.linalg.norm(smoothed.rotations, axis=-1), 1.0)
    three = noisy_motion(3, seed=8)  # window 3 with order 2 fits the three points exactly
    np.testing.assert_allclose(smooth(three).positions, three.positions, atol=1e-12)
    for frames in (1, 2):  # no odd window > order fits: returned unchanged
        short = noisy_motion(frames, seed=8)
        assert smooth(short) is short


@pytest.mark.parametrize("window, order", [(8, 2), (0, 0), (5, 5), (9, -1)])
def test_smoothing_rejects_bad_options(window, order):
    with pytest.raises(InputError, match="smoothing"):
        smooth(swaying_motion(20), window=window, order=order)


def test_smoothing_the_sample(sample):
    smoothed = smooth(sample)
    assert jerk(smoothed.positions, 60.0) < 0.5 * jerk(sample.positions, 60.0)  # 13.9 vs 33.9
    reference = forward_kinematics(sample.positions[:, 0], sample.rotations, sample.skeleton)
    assert np.linalg.norm(smoothed.positions - reference, axis=-1).mean() < 0.0005  # 0.05 mm
    assert np.ptp(bone_lengths(smoothed.positions), axis=0).max() < 1e-12


# --- statistics ----------------------------------------------------------------------------------


def test_describe_known_answers():
    frames = 61
    root = np.stack([np.arange(frames) / 60.0, np.ones(frames), np.zeros(frames)], axis=-1)
    q = np.broadcast_to(rotations.IDENTITY, (frames, 9, 4)).copy()
    q[1::2, 4] *= -1.0  # 30 sign flips on each side of every odd frame: 60 flips in joint 4
    q[0, 0] *= 1.001  # one slightly non-unit quaternion
    info = describe(Motion(forward_kinematics(root, rotations.normalize(q), AVATAROS), q, 60.0))
    assert info["frames"] == 61 and info["fps"] == 60.0
    assert info["duration"] == pytest.approx(61 / 60)
    assert info["joints"] == list(JOINT_NAMES)
    assert info["quaternions"]["sign_flips"] == 60
    assert info["quaternions"]["sign_flips_per_joint"]["RightArm"] == 60
    assert info["quaternions"]["max_norm_error"] == pytest.approx(0.001)
    assert info["wrist_speed_mean"] == pytest.approx(1.0)  # the whole body moves at 1 m/s
    lengths = info["bone_lengths"]
    assert list(lengths)[0] == "Spine->Spine1" and len(lengths) == 8
    np.testing.assert_allclose([v["mean"] for v in lengths.values()], AVATAROS.bone_lengths)
    assert max(v["std"] for v in lengths.values()) < 1e-12
    assert max(v["max"] for v in info["fk_error"].values()) < 1e-12
    json.dumps(info)  # plain Python types only
    assert "61 at 60 fps" in format_description(info).replace("frames ", "")


def test_describe_array_of_the_sample(sample_npy):
    info = describe_array(np.load(sample_npy), 60.0)
    assert info["frames"] == 7076 and info["duration"] == pytest.approx(117.93, abs=0.01)
    assert info["quaternions"]["sign_flips"] == 50  # raw data: 38 + 2 + 10 in three joints
    assert info["quaternions"]["max_norm_error"] < 1e-6
    means = np.array([v["mean"] for v in info["bone_lengths"].values()])
    np.testing.assert_allclose(means, SPEC_BONE_LENGTHS, atol=1e-3)
    fk_means = np.array([v["mean"] for v in info["fk_error"].values()])
    assert fk_means[0] == 0.0 and np.all(fk_means < 0.007)  # measured 3.3-6.4 mm
    assert 0.24 < info["wrist_speed_mean"] < 0.28  # SPEC: about 0.26 m/s
    # After loading, signs are continuous.
    assert describe_take(sample_npy)["quaternions"]["sign_flips"] == 50
    assert describe(load_take(sample_npy))["quaternions"]["sign_flips"] == 0


def test_describe_array_rejects_bad_arrays():
    with pytest.raises(InputError, match="raw: expected an array of shape"):
        describe_array(np.zeros((10, 9, 6)), 60.0, source="raw")


def test_describe_other_skeletons_without_wrists():
    chain = Skeleton(np.array([[0, 0, 0], [0, 1.0, 0]]), names=("a", "b"), parents=(-1, 0))
    q = np.broadcast_to(rotations.IDENTITY, (5, 2, 4))
    info = describe(Motion.from_root_and_rotations(np.zeros((5, 3)), q, 30.0, chain))
    assert info["wrist_speed_mean"] is None and list(info["bone_lengths"]) == ["a->b"]
