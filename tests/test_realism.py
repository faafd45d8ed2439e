"""Realism measure (issue 15): known answers on crafted motions, and the sample take."""

from __future__ import annotations

import numpy as np
import pytest

from llavataros.errors import InputError
from llavataros.eval.metrics import hellinger_distance
from llavataros.eval.realism import (
    BINS,
    COMMON_FPS,
    FEATURES,
    frame_features,
    load_motions,
    power_above,
    score_realism,
    stillness,
)
from llavataros.motion.kinematics import forward_kinematics
from llavataros.motion.skeleton import (
    AVATAROS,
    LEFT_SHOULDER,
    LEFT_WRIST,
    RIGHT_SHOULDER,
    RIGHT_WRIST,
    SPINE2,
)
from llavataros.motion.take import Motion


def standing(frames: int) -> np.ndarray:
    """Positions ``(t, 9, 3)`` of the skeleton with identity rotations: spine straight up,
    arms straight up (the offsets point along +Y), facing +Z; the shoulder points are put
    level (same Z) so the body frame's axes are exactly the world's."""
    quats = np.tile([0.0, 0.0, 0.0, 1.0], (frames, 9, 1))
    root = np.tile([0.0, 0.9, 0.0], (frames, 1))
    positions = forward_kinematics(root, quats, AVATAROS)
    positions[:, [RIGHT_SHOULDER, LEFT_SHOULDER], 2] = positions[:, SPINE2 : SPINE2 + 1, 2]
    return positions


def with_wrist_path(path: np.ndarray) -> np.ndarray:
    """Standing positions whose right wrist follows ``path (t, 3)`` (world metres)."""
    positions = standing(len(path))
    positions[:, RIGHT_WRIST] = path
    return positions


def test_hellinger_known_answers():
    p = np.array([0.2, 0.3, 0.5, 0.0])
    assert hellinger_distance(p, p) == 0.0
    assert hellinger_distance(p, 7 * p) == pytest.approx(0.0, abs=1e-7)  # normalised
    assert hellinger_distance([1.0, 0.0], [0.0, 1.0]) == 1.0
    assert hellinger_distance([0.5, 0.5, 0, 0], [0, 0, 0.5, 0.5]) == 1.0
    assert hellinger_distance([1.0, 0.0], [0.5, 0.5]) == pytest.approx(np.sqrt(1 - np.sqrt(0.5)))


@pytest.mark.parametrize("fps", [30.0, 60.0])
def test_power_above_3hz_of_sines(fps):
    t = np.arange(int(40 * fps)) / fps
    rest = standing(1)[0, RIGHT_WRIST]
    for frequency, expected in ((1.0, 0.0), (5.0, 1.0)):
        path = rest + 0.05 * np.sin(2 * np.pi * frequency * t)[:, None] * [1.0, 0.0, 0.0]
        assert power_above(with_wrist_path(path), fps) == pytest.approx(expected, abs=0.01)
    # Equal velocity power at 1 and 5 Hz: half above 3 Hz (the forward difference damps the
    # 5 Hz power by (sin(pi f / fps) / (pi f / fps))^2: 0.91 at 30 fps, so 0.48 there).
    x = 0.05 * np.sin(2 * np.pi * t) + 0.01 * np.sin(2 * np.pi * 5 * t)
    path = rest + x[:, None] * [1.0, 0.0, 0.0]
    damping = (np.sinc(5.0 / fps) / np.sinc(1.0 / fps)) ** 2
    expected = damping / (1.0 + damping)
    assert power_above(with_wrist_path(path), fps) == pytest.approx(expected, abs=0.005)


def test_still_take():
    positions = standing(90)
    assert stillness(positions, 30.0) == 1.0
    assert power_above(positions, 30.0) == 0.0
    moving = with_wrist_path(positions[:, RIGHT_WRIST] + np.arange(90)[:, None] * [0, 0, 0.01])
    assert stillness(moving, 30.0) == pytest.approx(0.5)  # 0.3 m/s right wrist, still left


def test_features_of_a_crafted_pose():
    positions = standing(3)
    spine2 = positions[0, SPINE2]
    # Right wrist 0.37 m below Spine2, 0.12 m forward and 0.24 m to its side (-X);
    # the left upper arm points straight out to the side.
    positions[:, RIGHT_WRIST] = spine2 + [-0.24, -0.37, 0.12]
    positions[:, LEFT_WRIST - 1] = positions[0, LEFT_SHOULDER] + [0.29, 0.0, 0.0]
    features = frame_features(positions, 30.0)
    assert set(features) == set(FEATURES)
    assert features["wrist_height"][:, 0] == pytest.approx([-0.37] * 3)
    assert features["wrist_forward"][:, 0] == pytest.approx([0.12] * 3)
    assert features["wrist_lateral"][:, 0] == pytest.approx([0.24] * 3)
    assert features["elbow_abduction"][:, 1] == pytest.approx([90.0] * 3)
    assert features["elbow_abduction"][:, 0] == pytest.approx([0.0] * 3)  # arm straight up
    assert features["wrist_speed"] == pytest.approx(np.zeros((3, 2)))


def test_features_turn_with_the_body():
    """A character turned 90 degrees (facing +X) measures the same."""
    positions = standing(2)
    positions[:, RIGHT_WRIST] = positions[0, SPINE2] + [-0.2, -0.3, 0.1]
    turn = np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 0.0]])  # +Z -> +X
    turned = positions @ turn.T
    for name, values in frame_features(positions, 30.0).items():
        assert frame_features(turned, 30.0)[name] == pytest.approx(values), name


def motion_of(positions: np.ndarray, fps: float) -> Motion:
    return Motion(positions, np.tile([0.0, 0.0, 0.0, 1.0], positions.shape[:2] + (1,)), fps)


def test_report_of_identical_and_of_other_sets():
    rng = np.random.default_rng(0)
    t = np.arange(600) / 60.0
    rest = standing(1)[0, RIGHT_WRIST]
    takes = []
    for _ in range(3):
        wave = 0.15 * np.sin(2 * np.pi * rng.uniform(0.3, 0.8) * t + rng.uniform(0, 6))
        takes.append(motion_of(with_wrist_path(rest + wave[:, None] * [0, 1, 0]), 60.0))
    report = score_realism(takes, takes)
    assert all(report.distances[name] == pytest.approx(0.0, abs=1e-7) for name in FEATURES)
    assert report.scale_method == "mean of 3 pairs"
    assert report.system == report.reference
    assert report.system.takes == 3 and report.system.seconds == pytest.approx(30.0)
    # The same motion at 30 fps scores (almost) the same: everything is resampled first.
    halved = [motion_of(m.positions[::2], 30.0) for m in takes]
    assert max(score_realism(halved, takes).distances.values()) < 0.05
    # Wrists 1 m lower: disjoint height histograms.
    lowered = [motion_of(m.positions.copy(), 60.0) for m in takes]
    for motion in lowered:
        motion.positions[:, RIGHT_WRIST] -= [0.0, 1.0, 0.0]
        motion.positions[:, LEFT_WRIST] -= [0.0, 1.0, 0.0]
    assert score_realism(lowered, takes).distances["wrist_height"] == 1.0
    single = score_realism(takes, takes[:1])
    assert single.scale_method == "halves of 1 take"
    assert "wrist_height" in single.table() and single.to_dict()["ratios"]


def test_bins_are_fixed_and_increasing():
    for name, edges in BINS.items():
        assert np.all(np.diff(edges) > 0), name
    assert COMMON_FPS == 30.0


def test_bad_input(tmp_path):
    with pytest.raises(InputError):
        load_motions(tmp_path)  # no takes
    np.save(tmp_path / "talk.face.npy", np.zeros((30, 52), np.float32))
    with pytest.raises(InputError, match="no .npy takes"):
        load_motions(tmp_path)  # a face alone is not a take
    with pytest.raises(InputError):
        score_realism([], [motion_of(standing(10), 30.0)])
    with pytest.raises(InputError):
        frame_features(np.zeros((4, 5, 3)), 30.0)


def test_the_sample_resembles_itself(sample_dir):
    """The real take's halves are close (the scale) and its posture is the documented one."""
    reference = load_motions(sample_dir)
    report = score_realism(reference, reference)
    assert max(report.distances.values()) == pytest.approx(0.0, abs=1e-7)
    assert report.scale_method == "halves of 1 take"
    assert 0.05 < report.scale["wrist_height"] < 0.25
    assert -0.40 < report.reference.median_wrist_height < -0.34  # arms hanging
    assert report.reference.power_above_3hz < 0.03
    assert report.reference.peak_wrist_speed < 2.5
