"""Keyframed wrist paths of the ten semantic gestures (SPEC section 4 table).

Every gesture is preparation -> stroke -> hold -> retraction (McNeill's gesture phases),
written as wrist keyframes in the body frame of :mod:`llavataros.gestures.detectors` (metres,
relative to Spine2; +X the character's left, +Y up, +Z forward). Peak poses sit well inside
the table's thresholds (at least 4 cm, usually 6-10 cm, from every edge) so a detector finds
the class and no other. Paths are monotone in X from the rest ("home") pose to the peak and
back, so no gesture except NO reverses the wrist sideways (which the NO detector would see).

Points below are for the right hand (its side is -X); the left hand mirrors X. ``amplitude``
in [0, 1] (the speaker's style) moves a peak between a modest and a wide version, always
inside the thresholds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from llavataros.gestures.classes import CLASS_NAMES
from llavataros.gestures.detectors import DetectorConfig
from llavataros.gestures.landmarks import CHEST_POINT, MOUTH_POINT, RIGHT_TEMPLE

RIGHT_WRIST_CLASSES = ("YOU", "NO", "EAT")  # the table names the right wrist
TWO_HANDED_CLASSES = ("BIG", "SMALL", "ALL")
MIRROR_X = np.array([-1.0, 1.0, 1.0])
PEAK_SPEED = np.array([1.1, 1.3, 1.0])  # m/s wrist speed limit of prep, stroke, retraction
# Strokes that fold the forearm up to the head swing the elbow up a long way: slower.
SLOW_STROKE = {"EAT": 1.7, "THINK": 1.5}
SPINE2_ABOVE_ROOT = 0.40  # m, nominal, to measure root-anchored paths
KEEP_OUT_MARGIN = 0.05  # m kept between a transition and another class's region


def keep_out_regions(hand: str) -> tuple[tuple[str, np.ndarray, float], ...]:
    """``(class, centre, radius)`` of the sphere-shaped SPEC regions a wrist of ``hand`` could
    cross by accident (body frame). The mouth counts for both hands: the left hand of the
    unmirrored source of a mirrored take becomes the right hand."""
    limits = DetectorConfig()
    temple = RIGHT_TEMPLE * (MIRROR_X if hand == "left" else 1.0)
    return (
        ("SELF", CHEST_POINT, limits.self_radius),
        ("EAT", MOUTH_POINT, limits.eat_radius),
        ("THINK", temple, limits.think_radius),
    )


@dataclass(frozen=True)
class Phases:
    """Durations (s) of preparation, stroke, hold and retraction; ``sweep`` is one side-to-side
    movement of NO."""

    prep: float = 0.40
    stroke: float = 0.28
    hold: float = 0.30
    retract: float = 0.50
    sweep: float = 0.27

    def scaled(self, factor: float) -> Phases:
        """All phases times ``factor``; NO sweeps stay short enough for the 0.8 s rule."""
        return Phases(
            self.prep * factor,
            self.stroke * factor,
            self.hold * factor,
            self.retract * factor,
            min(self.sweep * factor, 0.32),
        )


BASE_PHASES = Phases()


@dataclass(frozen=True)
class HandKey:
    """A wrist keyframe: ``time`` (s, relative to the gesture peak) and body-frame ``offset``
    ``(3,)``; with ``root_anchored`` the offset's Y is the height above the root (Spine).
    ``role`` is one of "home", "prep", "peak", "hold", "sweep"."""

    time: float
    offset: np.ndarray
    root_anchored: bool = False
    role: str = "home"


@dataclass(frozen=True)
class GestureShape:
    """One gesture instance: keys per hand ("right"/"left") and spine lean keys
    ``(time, (pitch, roll, yaw))`` in radians, all times relative to the peak."""

    gesture: str
    hands: dict[str, tuple[HandKey, ...]]
    lean: tuple[tuple[float, np.ndarray], ...]

    @property
    def lead(self) -> float:
        """Seconds from the first movement to the peak."""
        return -min(keys[0].time for keys in self.hands.values())

    @property
    def tail(self) -> float:
        """Seconds from the peak to the end of the retraction."""
        return max(keys[-1].time for keys in self.hands.values())


def gesture_hands(gesture: str, dominant: str, right_wrist_hand: str = "right") -> tuple[str, ...]:
    """Hands a class uses: YOU/NO/EAT the right wrist (``right_wrist_hand`` only differs when
    building the unmirrored source of a mirrored take), BIG/SMALL/ALL both, others dominant."""
    if gesture not in CLASS_NAMES:
        raise ValueError(f"unknown gesture class {gesture!r}")
    if gesture in RIGHT_WRIST_CLASSES:
        return (right_wrist_hand,)
    if gesture in TWO_HANDED_CLASSES:
        return ("right", "left")
    return (dominant,)


def _right_points(gesture: str, a: float, home: np.ndarray) -> dict:
    """Right-hand prep / peak / hold points (body frame) and the peak lean for one class."""
    hx = home[0]
    lean = np.zeros(3)  # pitch (+ forward), roll and yaw (+ toward the gesture hand)
    anchored = False
    if gesture == "SELF":  # chest point (0, 0, 0.12): wrist ~6 cm from it (limit 15 cm);
        # the peak must be nearer the chest point than the paths into and out of it: the
        # detector's peak is the nearest point
        prep, peak = [-0.17, -0.17, 0.24], [-0.03, -0.015 - 0.01 * a, 0.16]
        drift = [0.0, -0.01, 0.005]
    elif gesture == "YOU":  # >= 0.45 forward (here 0.50-0.515), 0.12 below the shoulder
        prep, peak = [-0.20, -0.12, 0.24], [-0.14, -0.01, 0.50 + 0.015 * a]
        drift, lean = [0.0, 0.01, 0.0], np.array([0.10, 0.0, 0.0])
    elif gesture == "BIG":  # >= 0.95 apart (here 1.03-1.11), < 0.20 forward (here 0.05)
        prep, peak = [hx, -0.12, 0.18], [-(0.515 + 0.04 * a), -0.07, 0.05]
        drift, lean = [-0.01, 0.01, 0.0], np.array([-0.05, 0.0, 0.0])
    elif gesture == "SMALL":  # < 0.15 apart (here 0.09), > 0.30 forward (here 0.36-0.38)
        prep, peak = [-0.20, -0.15, 0.27], [-0.045, -0.13, 0.36 + 0.02 * a]
        drift, lean = [0.005, 0.005, 0.0], np.array([0.06, 0.0, 0.0])
    elif gesture == "UP":  # >= 0.55 above Spine2 (here 0.595-0.61)
        prep, peak = [-0.24, 0.12, 0.16], [-0.20, 0.595 + 0.015 * a, 0.09]
        drift, lean = [0.0, 0.005, 0.0], np.array([-0.03, -0.08, 0.0])
    elif gesture == "DOWN":  # <= 0.10 above the root (here 0.045-0.055), > 0.20 forward
        prep, peak = [-0.20, -0.10, 0.24], [-0.16, 0.055 - 0.01 * a, 0.265 + 0.02 * a]
        drift, lean, anchored = [0.0, -0.005, 0.005], np.array([0.44, 0.0, 0.0]), True
    elif gesture == "EAT":  # mouth point (0, 0.33, 0.14): wrist ~4 cm from it (limit 10 cm)
        prep, peak = [-0.14, 0.08, 0.28], [-0.03, 0.31, 0.16]
        drift = [0.0, 0.01, -0.01]
    elif gesture == "THINK":  # temple (-0.12, 0.42, 0): wrist ~3.5 cm from it (limit 10 cm)
        prep, peak = [-0.25, 0.20, 0.16], [-0.135, 0.41, 0.03]
        drift, lean = [0.005, 0.005, -0.005], np.array([0.0, 0.04, 0.0])
    elif gesture == "ALL":  # 0.60-0.85 apart (here 0.69-0.75), > 0.25 forward (0.36-0.38)
        prep, peak = [hx, -0.14, 0.28], [-(0.345 + 0.03 * a), -0.12, 0.36 + 0.02 * a]
        drift, lean = [-0.005, 0.0, 0.0], np.array([0.03, 0.0, 0.0])
    else:
        raise ValueError(f"no shape for {gesture!r}")
    prep, peak = np.array(prep, dtype=np.float64), np.array(peak, dtype=np.float64)
    return {
        "prep": prep,
        "peak": peak,
        "hold": peak + np.array(drift),
        "lean": lean,
        "anchored": anchored,
    }


def _no_points(a: float, home: np.ndarray) -> list[np.ndarray]:
    """NO: home -> outer -> inner -> outer (peak) -> inner -> outer -> home, X range
    0.19-0.23 m. The outer extremes have the home X, so preparation and retraction move the
    wrist up, down and forward only: the sideways direction changes are exactly the three
    turns between the four sweeps, centred on the peak."""
    span = 0.19 + 0.04 * a
    outer = np.array([home[0], -0.17, 0.30])
    inner = outer + np.array([span, 0.0, 0.0])
    return [home, outer, inner, outer.copy(), inner.copy(), outer.copy(), home]


def _duration(base: float, distance: float, speed: float) -> float:
    """Segment duration: at least ``base``, longer when the minimum-jerk peak speed
    (1.875 distance / duration) would exceed ``speed``."""
    return max(base, 1.875 * distance / speed)


def build_shape(
    gesture: str,
    hands: tuple[str, ...],
    homes: dict[str, np.ndarray],
    amplitude: float,
    tempo: float,
    rng: np.random.Generator,
) -> GestureShape:
    """Keyframes of one gesture instance for ``hands`` ("right"/"left"), starting and ending
    at ``homes[hand]`` (body frame), phase durations ``tempo`` times the base ones and long
    enough to respect ``PEAK_SPEED``. Draws the same number of random values for any hands."""
    jitter = rng.uniform(-0.008, 0.008, size=(2, 3))  # prep / peak, metres
    a = float(np.clip(amplitude + rng.uniform(-0.15, 0.15), 0.0, 1.0))
    phases = BASE_PHASES.scaled(tempo)
    paths: dict[str, list[np.ndarray]] = {}
    anchored = False
    lean = np.zeros(3)
    for hand in hands:
        mirror = MIRROR_X if hand == "left" else np.ones(3)
        home = homes[hand] * mirror  # in right-hand coordinates
        if gesture == "NO":
            paths[hand] = [p * mirror for p in _no_points(a, home)]
            continue
        points = _right_points(gesture, a, home)
        prep = points["prep"] + jitter[0]
        peak = points["peak"] + 0.5 * jitter[1]
        if gesture in ("BIG", "ALL"):
            prep[0] = home[0]  # keep the preparation free of sideways reversal
        hold = points["hold"] + peak - points["peak"]
        anchored = points["anchored"]
        paths[hand] = [
            homes[hand].copy(),
            prep * mirror,
            peak * mirror,
            hold * mirror,
            homes[hand].copy(),
        ]
        # Spine roll is + toward -X (right), spine yaw + toward +X (left): see poses.py.
        lean = points["lean"] * (
            np.array([1.0, 1.0, -1.0]) if hand == "right" else np.array([1.0, -1.0, 1.0])
        )
    # Distances per segment (longest over the hands); root-anchored Y is moved to Spine2.
    distances = np.zeros(len(next(iter(paths.values()))) - 1)
    for path in paths.values():
        points = [p.copy() for p in path]
        if anchored:
            points[2][1] -= SPINE2_ABOVE_ROOT
            points[3][1] -= SPINE2_ABOVE_ROOT
        steps = np.linalg.norm(np.diff(np.stack(points), axis=0), axis=-1)
        distances = np.maximum(distances, steps)
    speed = PEAK_SPEED / tempo
    if gesture == "NO":
        durations = [
            _duration(phases.prep, distances[0], speed[0]),
            *[phases.sweep] * 4,
            _duration(phases.retract, distances[-1], speed[2]),
        ]
        peak_index, hold_span = 3, (2, 4)
    else:
        stroke = phases.stroke * SLOW_STROKE.get(gesture, 1.0)
        durations = [
            _duration(phases.prep, distances[0], speed[0]),
            _duration(stroke, distances[1], speed[1]),
            phases.hold,
            _duration(phases.retract, distances[3], speed[2]),
        ]
        peak_index, hold_span = None, (2, 3)
    times = np.concatenate([[0.0], np.cumsum(durations)])
    centre = times[peak_index] if peak_index is not None else 0.5 * (times[2] + times[3])
    times = times - centre
    roles = (
        ("home",) + ("sweep",) * 5 + ("home",)
        if gesture == "NO"
        else ("home", "prep", "peak", "hold", "home")
    )
    keyed = {
        hand: tuple(
            HandKey(float(time), point, anchored and index in (2, 3), roles[index])
            for index, (time, point) in enumerate(zip(times, path, strict=True))
        )
        for hand, path in paths.items()
    }
    zero = np.zeros(3)
    lean_keys = (
        (float(times[0]), zero),
        (float(times[hold_span[0]]), lean),
        (float(times[hold_span[1]]), lean),
        (float(times[-1]), zero),
    )
    return GestureShape(gesture, keyed, lean_keys)
