"""Semantic gesture detectors written from the table of SPEC section 4, and trigger matching
for the semantic recall / precision metrics of SPEC section 5.

The detectors read joint positions only, ``(t, 9, 3)`` in metres at any frame rate, so they
score the synthetic corpus and a model's output alike; they never see generator labels.
Geometry is expressed in the character's *body frame*: origin at Spine2, ``+Y`` world up,
``+X`` the horizontal direction from the right to the left shoulder, ``+Z = X x Y`` forward
(SPEC section 1 axes when the character faces +Z). "Its side" is -X for the right hand and
+X for the left hand.

"Apart" (BIG, ALL) is measured in the horizontal plane (body X and Z): those classes spread
the hands sideways, and a raised hand over a hanging one (UP) is about 0.95 m away in 3-D
without being BIG. SMALL's "less than 0.15 m apart" is the 3-D distance (the stricter reading).
``DetectorConfig(spread="euclidean")`` gives the 3-D reading for BIG and ALL as well.

Per class a frame condition is evaluated (for NO a velocity pattern, for ALL a pose plus an
outward movement); runs of frames that satisfy it are merged across gaps shorter than
``merge_gap`` and kept when at least ``min_duration`` long. Each kept run is one
:class:`DetectedGesture` whose peak is the middle of the frames where the pose is deepest
inside its condition (margin, in metres, within ``peak_band`` of the largest); for NO the
middle of its counted direction changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from llavataros.gestures.classes import CLASS_NAMES
from llavataros.gestures.landmarks import (
    CHEST_POINT,
    LEFT_TEMPLE,
    MOUTH_POINT,
    RIGHT_TEMPLE,
    to_body,
)
from llavataros.motion.skeleton import (
    LEFT_WRIST,
    RIGHT_SHOULDER,
    RIGHT_WRIST,
    ROOT,
)


@dataclass(frozen=True)
class DetectorConfig:
    """Thresholds of SPEC section 4 (metres, seconds) and the event bookkeeping around them."""

    self_radius: float = 0.15
    you_forward: float = 0.45
    you_height: float = 0.25
    big_apart: float = 0.95
    big_forward: float = 0.20
    small_forward: float = 0.30
    small_apart: float = 0.15
    up_height: float = 0.55
    down_height: float = 0.10
    down_forward: float = 0.20
    no_window: float = 0.8
    no_range: float = 0.15
    no_speed: float = 0.10  # m/s; slower lateral motion has no direction (ignores jitter)
    eat_radius: float = 0.10
    think_radius: float = 0.10
    all_apart_min: float = 0.60
    all_apart_max: float = 0.85
    all_forward: float = 0.25
    all_lookback: float = 0.6  # s; the outward movement must happen within this window
    all_opening: float = 0.12  # m the wrists separate by within the lookback window
    all_outward: float = 0.04  # m each wrist moves to its own side within the window
    all_entry: float = 0.4  # s after entering the ALL pose in which the opening must show
    min_duration: float = 0.10  # s a condition must hold to count as a gesture
    merge_gap: float = 0.15  # s; runs separated by less are one gesture
    smoothing: float = 0.05  # s moving average on the NO wrist velocity
    no_peak_width: float = 0.15  # s, kernel width for the densest direction changes of NO
    peak_band: float = 0.01  # m; the peak is the middle of the frames this close to the best
    spread: Literal["horizontal", "euclidean"] = "horizontal"  # "apart" of BIG and ALL


@dataclass(frozen=True)
class DetectedGesture:
    """One detected gesture: class name and start / peak / end times in seconds."""

    gesture: str
    start: float
    peak: float
    end: float


@dataclass(frozen=True)
class ClassScore:
    """Semantic recall / precision of one class (NaN where there is nothing to count)."""

    triggers: int
    detected: int
    matched: int
    recall: float
    precision: float


@dataclass(frozen=True)
class GestureScores:
    """Per-class and pooled semantic recall / precision (SPEC section 5)."""

    per_class: dict[str, ClassScore]
    overall: ClassScore
    tolerance: float
    after: float
    pairs: tuple[tuple[int, int], ...] = field(default_factory=tuple)  # (trigger, detection)


def frame_margins(
    positions: np.ndarray, config: DetectorConfig = DetectorConfig()
) -> dict[str, np.ndarray]:
    """Per-frame margin ``(t,)`` in metres of every pose class (all but NO): how far the pose
    is inside its SPEC section 4 condition (>= 0 inside, < 0 outside; for a conjunction the
    smallest, for "a wrist" the best wrist). ALL here is only its end pose; its outward
    movement is checked per event."""
    positions = np.asarray(positions, dtype=np.float64)
    body = to_body(positions)  # (t, j, 3)
    right, left = body[:, RIGHT_WRIST], body[:, LEFT_WRIST]
    wrists = body[:, [RIGHT_WRIST, LEFT_WRIST]]  # (t, 2, 3)
    apart = np.linalg.norm(right - left, axis=-1)
    spread = _spread(right, left, config)  # "apart" of BIG and ALL
    forward = wrists[..., 2]  # (t, 2)
    above_root = positions[:, [RIGHT_WRIST, LEFT_WRIST], 1] - positions[:, ROOT : ROOT + 1, 1]
    temples = np.stack([RIGHT_TEMPLE, LEFT_TEMPLE])  # (2, 3), one per wrist
    c = config
    return {
        "SELF": c.self_radius - np.linalg.norm(wrists - CHEST_POINT, axis=-1).min(axis=1),
        "YOU": np.minimum(
            right[:, 2] - c.you_forward,
            c.you_height - np.abs(right[:, 1] - body[:, RIGHT_SHOULDER, 1]),
        ),
        "BIG": np.minimum(spread - c.big_apart, c.big_forward - forward.max(axis=1)),
        "SMALL": np.minimum(forward.min(axis=1) - c.small_forward, c.small_apart - apart),
        "UP": wrists[..., 1].max(axis=1) - c.up_height,
        "DOWN": np.minimum(c.down_height - above_root, forward - c.down_forward).max(axis=1),
        "EAT": c.eat_radius - np.linalg.norm(right - MOUTH_POINT, axis=-1),
        "THINK": c.think_radius - np.linalg.norm(wrists - temples, axis=-1).min(axis=1),
        "ALL": np.minimum.reduce(
            [
                spread - c.all_apart_min,
                c.all_apart_max - spread,
                forward.min(axis=1) - c.all_forward,
            ]
        ),
    }


def frame_conditions(
    positions: np.ndarray, config: DetectorConfig = DetectorConfig()
) -> dict[str, np.ndarray]:
    """Per-frame boolean ``(t,)`` pose condition of every class except NO (margin >= 0)."""
    return {name: margin >= 0.0 for name, margin in frame_margins(positions, config).items()}


def _spread(right: np.ndarray, left: np.ndarray, config: DetectorConfig) -> np.ndarray:
    """Distance ``(t,)`` between the wrists for BIG and ALL: horizontal (body X and Z) by
    default, or Euclidean with ``config.spread="euclidean"``."""
    difference = right - left
    if config.spread == "horizontal":
        difference = difference[:, [0, 2]]
    return np.linalg.norm(difference, axis=-1)


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Inclusive ``(first, last)`` frame indices of the runs of ``True`` in ``mask (t,)``."""
    mask = np.asarray(mask, dtype=bool)
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    starts = np.flatnonzero(edges == 1)
    stops = np.flatnonzero(edges == -1) - 1
    return list(zip(starts.tolist(), stops.tolist(), strict=True))


def merge_runs(spans: list[tuple[int, int]], gap: int) -> list[tuple[int, int]]:
    """Join spans whose gap (frames between them) is below ``gap`` frames."""
    merged: list[tuple[int, int]] = []
    for first, last in spans:
        if merged and first - merged[-1][1] - 1 < gap:
            merged[-1] = (merged[-1][0], last)
        else:
            merged.append((first, last))
    return merged


def detect_gestures(
    positions: np.ndarray, fps: float, config: DetectorConfig = DetectorConfig()
) -> list[DetectedGesture]:
    """All gestures found in ``positions (t, 9, 3)`` sampled at ``fps``, sorted by peak."""
    positions = np.asarray(positions, dtype=np.float64)
    if positions.ndim != 3 or positions.shape[1:] != (9, 3):
        raise ValueError(f"expected positions (t, 9, 3), got {positions.shape}")
    if len(positions) < 2:
        return []
    margins = frame_margins(positions, config)
    gap = max(int(round(config.merge_gap * fps)), 1)
    shortest = max(int(round(config.min_duration * fps)), 1)
    found: list[DetectedGesture] = []
    for name, margin in margins.items():
        spans = merge_runs(runs(margin >= 0.0), gap)
        spans = [s for s in spans if s[1] - s[0] + 1 >= shortest]
        if name == "ALL":
            spans = [s for s in spans if _opens_outward(positions, s, fps, config)]
        for first, last in spans:
            peak = _deepest(margin[first : last + 1], config.peak_band) + first
            found.append(DetectedGesture(name, first / fps, peak / fps, last / fps))
    found.extend(detect_no(positions, fps, config))
    return sorted(found, key=lambda g: (g.peak, g.gesture))


def _deepest(margin: np.ndarray, band: float) -> float:
    """Frame (fractional) in the middle of the frames whose margin is within ``band`` of the
    largest: the centre of the deepest part of the gesture, stable on a flat hold."""
    near = np.flatnonzero(margin >= margin.max() - band)
    return 0.5 * (near[0] + near[-1])


def _opens_outward(
    positions: np.ndarray, span: tuple[int, int], fps: float, config: DetectorConfig
) -> bool:
    """ALL: within ``all_entry`` s of entering the pose, the wrists separated by at least
    ``all_opening`` and each moved ``all_outward`` to its own side over the lookback window."""
    first, last = span
    lookback = max(int(round(config.all_lookback * fps)), 1)
    begin = max(first - lookback, 0)
    stop = min(last, first + int(round(config.all_entry * fps)))
    body = to_body(positions[begin : stop + 1])
    right, left = body[:, RIGHT_WRIST], body[:, LEFT_WRIST]
    apart = _spread(right, left, config)
    for index in range(first - begin, len(body)):
        window = slice(max(index - lookback, 0), index + 1)
        opening = apart[index] - apart[window].min()
        right_out = right[window, 0].max() - right[index, 0]
        left_out = left[index, 0] - left[window, 0].min()
        if (
            opening >= config.all_opening
            and right_out >= config.all_outward
            and left_out >= config.all_outward
        ):
            return True
    return False


def direction_changes(
    x: np.ndarray, fps: float, config: DetectorConfig = DetectorConfig()
) -> np.ndarray:
    """Times (s) where the velocity of the coordinate ``x (t,)`` changes sign.

    Frames slower than ``no_speed`` carry no direction; a change is placed halfway between
    the last frame moving one way and the first frame moving the other way."""
    velocity = np.gradient(np.asarray(x, dtype=np.float64)) * fps
    width = max(int(round(config.smoothing * fps)), 1)
    if width > 1:
        velocity = np.convolve(velocity, np.ones(width) / width, mode="same")
    moving = np.flatnonzero(np.abs(velocity) > config.no_speed)
    if len(moving) < 2:
        return np.zeros(0)
    signs = np.sign(velocity[moving])
    flips = np.flatnonzero(signs[1:] != signs[:-1])
    return 0.5 * (moving[flips] + moving[flips + 1]) / fps


def detect_no(
    positions: np.ndarray, fps: float, config: DetectorConfig = DetectorConfig()
) -> list[DetectedGesture]:
    """NO: the right wrist's body-frame X velocity changes sign at least twice within
    ``no_window`` s while its X range over that window is at least ``no_range`` m.

    Qualifying pairs of consecutive changes that overlap form one event from its first to
    its last change; the peak is where the changes are densest (Gaussian kernel of
    ``no_peak_width`` s), so a stray change at one end barely moves it."""
    x = to_body(positions)[:, RIGHT_WRIST, 0]
    changes = direction_changes(x, fps, config)
    times = np.arange(len(x)) / fps
    accepted: list[list[float]] = []
    for first, second in zip(changes[:-1], changes[1:], strict=True):
        if second - first > config.no_window:
            continue
        middle = 0.5 * (first + second)
        inside = np.abs(times - middle) <= 0.5 * config.no_window
        if np.ptp(x[inside]) >= config.no_range:
            if accepted and first <= accepted[-1][-1] + 1e-9:
                accepted[-1].append(second)
            else:
                accepted.append([first, second])
    events = []
    for chain in accepted:
        grid = np.arange(chain[0], chain[-1] + 0.5 / fps, 0.5 / fps)
        density = np.exp(
            -0.5 * ((grid[:, None] - np.array(chain)[None]) / config.no_peak_width) ** 2
        ).sum(axis=1)
        near = np.flatnonzero(density >= density.max() - 1e-6)
        peak = 0.5 * (grid[near[0]] + grid[near[-1]])
        events.append(DetectedGesture("NO", chain[0], float(peak), chain[-1]))
    return events


def match_gestures(
    detected: Iterable[DetectedGesture],
    triggers: Iterable,
    after: float = 0.4,
    tolerance: float = 0.1,
    classes: Sequence[str] = CLASS_NAMES,
) -> GestureScores:
    """Semantic recall and precision (SPEC sections 4-5) with one-to-one matching.

    ``triggers``: objects (or dicts) with ``gesture`` and the word's ``start``, ``end``
    (or ``word_start``, ``word_end``) in seconds, e.g. ``TimedTrigger`` or generator
    labels. A trigger is hit by a detection of its class whose peak lies in
    ``[start - tolerance, end + after + tolerance]``; each detection serves at most one
    trigger (earliest-deadline matching, which maximises the number of pairs).
    Recall = hit triggers / triggers; precision = matched detections / detections.
    The ``tolerance`` (default 0.1 s, beyond the SPEC window) absorbs frame quantisation
    and the detector's peak estimate (the middle of the deepest part of a held pose).
    """
    detected = list(detected)
    windows = [_trigger_window(item, after, tolerance) for item in triggers]
    pairs: list[tuple[int, int]] = []
    used: set[int] = set()
    for index in sorted(range(len(windows)), key=lambda i: windows[i][2]):
        name, low, high = windows[index]
        candidates = [
            k
            for k, g in enumerate(detected)
            if k not in used and g.gesture == name and low <= g.peak <= high
        ]
        if candidates:
            best = min(candidates, key=lambda k: detected[k].peak)
            used.add(best)
            pairs.append((index, best))
    per_class = {}
    for name in classes:
        count_triggers = sum(1 for w in windows if w[0] == name)
        count_detected = sum(1 for g in detected if g.gesture == name)
        matched = sum(1 for i, _ in pairs if windows[i][0] == name)
        per_class[name] = _score(count_triggers, count_detected, matched)
    overall = _score(len(windows), len(detected), len(pairs))
    return GestureScores(per_class, overall, tolerance, after, tuple(sorted(pairs)))


def _trigger_window(item, after: float, tolerance: float) -> tuple[str, float, float]:
    """``(class, low, high)`` of a trigger; accepts ``start``/``end`` or ``word_start``/
    ``word_end`` (generator labels), as attributes or dict keys."""
    get = (
        item.get
        if isinstance(item, dict)
        else lambda key, default=None: getattr(item, key, default)
    )
    start = get("start", None)
    start = get("word_start") if start is None else start
    end = get("end", None)
    end = get("word_end") if end is None else end
    return str(get("gesture")), float(start) - tolerance, float(end) + after + tolerance


def _score(triggers: int, detected: int, matched: int) -> ClassScore:
    recall = matched / triggers if triggers else float("nan")
    precision = matched / detected if detected else float("nan")
    return ClassScore(triggers, detected, matched, recall, precision)
