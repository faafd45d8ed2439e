"""Gesture detectors of SPEC section 4 on crafted poses, and the recall/precision matching."""

from __future__ import annotations

import math

import numpy as np
import pytest

from llavataros.corpus.curves import minimum_jerk
from llavataros.gestures.classes import CLASS_NAMES
from llavataros.gestures.detectors import (
    DetectedGesture,
    DetectorConfig,
    detect_gestures,
    match_gestures,
)
from llavataros.gestures.landmarks import body_frame, to_body

ROOT = np.array([0.0, 0.886, 0.0])
SPINE2_ABOVE_ROOT = 0.408
REST = {"right": np.array([-0.24, -0.28, 0.10]), "left": np.array([0.24, -0.28, 0.10])}
# Peak wrist positions (body frame, relative to Spine2) well inside each class's condition.
PEAKS = {
    "SELF": {"right": [-0.04, -0.03, 0.16]},
    "YOU": {"right": [-0.13, 0.06, 0.52]},
    "BIG": {"right": [-0.53, 0.0, 0.05], "left": [0.53, 0.0, 0.05]},
    "SMALL": {"right": [-0.045, -0.05, 0.37], "left": [0.045, -0.05, 0.37]},
    "UP": {"right": [-0.20, 0.60, 0.09]},
    "DOWN": {"right": [-0.16, 0.05 - SPINE2_ABOVE_ROOT, 0.28]},
    "EAT": {"right": [-0.03, 0.31, 0.16]},
    "THINK": {"left": [0.135, 0.41, 0.03]},
}


def skeleton_track(right: np.ndarray, left: np.ndarray, yaw: float = 0.0) -> np.ndarray:
    """Positions ``(t, 9, 3)`` of an upright character whose wrists are at the body-frame
    offsets ``right``/``left`` ``(t, 3)``, turned by ``yaw`` radians about +Y."""
    frames = len(right)
    spine2 = ROOT + np.array([0.0, SPINE2_ABOVE_ROOT, 0.0])
    points = np.zeros((frames, 9, 3))
    points[:, 0] = ROOT
    points[:, 1] = ROOT + np.array([0.0, 0.29, 0.0])
    points[:, 2] = spine2
    for side, (shoulder, elbow, wrist), offsets in (
        (-1.0, (3, 4, 5), right),
        (1.0, (6, 7, 8), left),
    ):
        points[:, shoulder] = spine2 + np.array([0.13 * side, 0.11, 0.03])
        points[:, wrist] = spine2 + offsets
        points[:, elbow] = 0.5 * (points[:, shoulder] + points[:, wrist]) + [0.05 * side, -0.1, 0]
    c, s = math.cos(yaw), math.sin(yaw)
    turn = np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])
    return (points - ROOT) @ turn.T + ROOT + np.array([0.3, 0.0, -0.2])


def gesture_track(targets: dict, fps: float, hold: float = 0.5) -> np.ndarray:
    """Rest 0.5 s -> minimum-jerk move 0.35 s -> hold -> back 0.35 s -> rest 0.5 s; returns
    ``(right, left)`` offsets ``(t, 3)`` each."""
    times = np.arange(int(round((2 * 0.5 + 2 * 0.35 + hold) * fps))) / fps
    go = minimum_jerk((times - 0.5) / 0.35)
    back = minimum_jerk((times - 0.85 - hold) / 0.35)
    weight = (go - back)[:, None]
    tracks = []
    for hand in ("right", "left"):
        peak = np.array(targets.get(hand, REST[hand]), dtype=float)
        tracks.append(REST[hand] + weight * (peak - REST[hand]))
    return tracks


def detected_classes(positions: np.ndarray, fps: float) -> list[str]:
    return [g.gesture for g in detect_gestures(positions, fps)]


def test_body_frame_follows_the_character():
    right, left = gesture_track({}, 60.0)
    for yaw in (0.0, 0.7, math.pi / 2, math.pi):
        positions = skeleton_track(right, left, yaw)
        axes = body_frame(positions)
        forward = axes[0, :, 2]
        assert np.allclose(forward, [math.sin(yaw), 0.0, math.cos(yaw)], atol=1e-9)
        assert np.allclose(to_body(positions)[:, 5], right, atol=1e-9)


def test_rest_pose_is_nothing():
    right, left = gesture_track({}, 60.0)
    assert detected_classes(skeleton_track(right, left), 60.0) == []


@pytest.mark.parametrize("fps", [60.0, 30.0])
@pytest.mark.parametrize("yaw", [0.0, 2.0])
@pytest.mark.parametrize("name", sorted(PEAKS))
def test_pose_is_its_class_and_nothing_else(name, yaw, fps):
    right, left = gesture_track(PEAKS[name], fps)
    found = detect_gestures(skeleton_track(right, left, yaw), fps)
    assert [g.gesture for g in found] == [name]
    hold_middle = 0.85 + 0.25  # s: the move ends at 0.85 s, the 0.5 s hold follows
    assert abs(found[0].peak - hold_middle) < 0.2
    assert found[0].start < found[0].peak < found[0].end


def test_right_think_and_left_self():
    for targets, name in (
        ({"right": [-0.135, 0.41, 0.03]}, "THINK"),
        ({"left": [0.04, -0.03, 0.16]}, "SELF"),
    ):
        right, left = gesture_track(targets, 60.0)
        assert detected_classes(skeleton_track(right, left), 60.0) == [name]


def test_left_wrist_at_mouth_or_forward_is_not_eat_or_you():
    """EAT and YOU are right-wrist classes in the table."""
    for target in ([0.03, 0.31, 0.16], [0.13, 0.06, 0.52]):
        right, left = gesture_track({"left": target}, 60.0)
        assert detected_classes(skeleton_track(right, left), 60.0) == []


def test_too_short_a_pose_is_noise():
    right, left = gesture_track({}, 60.0)
    right[100:104] = PEAKS["SELF"]["right"]  # 4 frames = 0.067 s < min_duration
    assert detected_classes(skeleton_track(right, left), 60.0) == []


def all_track(fps: float, start_apart: float, end_apart: float, static: bool = False):
    """Both wrists in front (0.33-0.37 m forward) opening from ``start_apart`` to
    ``end_apart`` in 0.35 s after 0.5 s, then holding 0.5 s."""
    times = np.arange(int(round(1.6 * fps))) / fps
    opening = 0.0 if static else minimum_jerk((times - 0.5) / 0.35)
    half = 0.5 * (start_apart + (end_apart - start_apart) * opening)
    half = np.broadcast_to(half, times.shape)
    right = np.stack([-half, np.full_like(times, -0.03), 0.33 + 0.04 * opening + 0 * times], -1)
    left = right * np.array([-1.0, 1.0, 1.0])
    return right, left


@pytest.mark.parametrize("fps", [60.0, 25.0])
def test_all_needs_an_outward_movement(fps):
    right, left = all_track(fps, 0.45, 0.72)
    found = detect_gestures(skeleton_track(right, left), fps)
    assert [g.gesture for g in found] == ["ALL"]
    right, left = all_track(fps, 0.72, 0.72, static=True)  # the end pose alone is not ALL
    assert detected_classes(skeleton_track(right, left), fps) == []
    right, left = all_track(fps, 0.90, 0.72)  # closing in to the same pose is not ALL
    assert "ALL" not in detected_classes(skeleton_track(right, left), fps)


def no_track(fps: float, amplitude: float, frequency: float, seconds: float = 0.8):
    """Right wrist swinging sideways ``x = -0.15 + amplitude * sin`` for ``seconds``."""
    times = np.arange(int(round((seconds + 1.0) * fps))) / fps
    active = (times >= 0.5) & (times <= 0.5 + seconds)
    swing = np.where(active, np.sin(2 * np.pi * frequency * (times - 0.5)), 0.0)
    right = np.tile([-0.15, -0.03, 0.32], (len(times), 1))
    right[:, 0] += amplitude * swing
    left = np.tile(REST["left"], (len(times), 1))
    return right, left


@pytest.mark.parametrize("fps", [60.0, 30.0])
def test_no_is_a_fast_wide_sweep(fps):
    right, left = no_track(fps, 0.10, 1.8)  # range 0.2 m, extremes 0.28 s apart
    found = detect_gestures(skeleton_track(right, left, 1.0), fps)
    assert [g.gesture for g in found] == ["NO"]
    assert 0.6 < found[0].peak < 1.2
    right, left = no_track(fps, 0.05, 1.8)  # range 0.1 m < 0.15 m
    assert detected_classes(skeleton_track(right, left), fps) == []
    right, left = no_track(fps, 0.10, 0.5, seconds=1.0)  # direction changes 1 s apart
    assert detected_classes(skeleton_track(right, left), fps) == []


def test_jitter_is_not_no():
    right, left = gesture_track({}, 60.0)
    rng = np.random.default_rng(0)
    noisy = skeleton_track(right, left) + rng.normal(0.0, 0.002, (len(right), 9, 3))
    assert detected_classes(noisy, 60.0) == []


def test_apart_reading_of_big():
    """A raised hand over a hanging one is ~0.95 m apart in 3-D but not spread sideways."""
    right, left = gesture_track({"right": [-0.08, 0.62, 0.05]}, 60.0)
    left = left + np.array([0.0, -0.08, -0.05])
    positions = skeleton_track(right, left)
    assert detected_classes(positions, 60.0) == ["UP"]
    euclidean = detect_gestures(positions, 60.0, DetectorConfig(spread="euclidean"))
    assert sorted(g.gesture for g in euclidean) == ["BIG", "UP"]


def test_bad_shape_is_rejected():
    with pytest.raises(ValueError):
        detect_gestures(np.zeros((10, 8, 3)), 60.0)


def test_match_known_answers():
    triggers = [
        {"gesture": "SELF", "start": 1.0, "end": 1.2},
        {"gesture": "SELF", "word_start": 5.0, "word_end": 5.3},
        {"gesture": "YOU", "start": 3.0, "end": 3.2},
    ]
    detected = [
        DetectedGesture("SELF", 1.3, 1.5, 1.7),  # in [0.9, 1.7]
        DetectedGesture("SELF", 1.5, 1.65, 1.8),  # same window, but each trigger counts once
        DetectedGesture("YOU", 3.6, 3.75, 3.9),  # window ends at 3.2 + 0.4 + 0.1 = 3.7
        DetectedGesture("BIG", 6.8, 7.0, 7.2),  # no trigger
    ]
    scores = match_gestures(detected, triggers)
    assert scores.per_class["SELF"].recall == 0.5
    assert scores.per_class["SELF"].precision == 0.5
    assert scores.per_class["YOU"].recall == 0.0
    assert scores.per_class["YOU"].precision == 0.0
    assert math.isnan(scores.per_class["BIG"].recall)
    assert scores.per_class["BIG"].precision == 0.0
    assert math.isnan(scores.per_class["UP"].precision)
    assert scores.overall.recall == pytest.approx(1 / 3)
    assert scores.overall.precision == pytest.approx(1 / 4)
    assert scores.pairs == ((0, 0),)
    looser = match_gestures(detected, triggers, tolerance=0.2)
    assert looser.per_class["YOU"].recall == 1.0
    assert set(looser.per_class) == set(CLASS_NAMES)


def test_match_is_one_to_one_and_maximal():
    """Two overlapping windows, two detections: both triggers are matched."""
    triggers = [
        {"gesture": "UP", "start": 1.0, "end": 1.3},
        {"gesture": "UP", "start": 1.5, "end": 1.6},
    ]
    detected = [DetectedGesture("UP", 1.5, 1.55, 1.6), DetectedGesture("UP", 1.9, 2.0, 2.1)]
    scores = match_gestures(detected, triggers)
    assert scores.overall.recall == 1.0 and scores.overall.precision == 1.0
