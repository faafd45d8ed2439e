"""Scheduling of the synthetic take: when each semantic gesture peaks, how consecutive gestures
of one hand join, and where beats go (SPEC section 4).

- A semantic gesture peaks between its trigger word's start and 0.4 s after its end; the
  planner aims at the middle of that window (``WINDOW_MARGIN`` from both edges) and keeps
  ``MIN_PEAK_SPACING`` between peaks that share a hand.
- A hand returns to rest between two gestures only when it can stay there ``REST_GAP``
  seconds; otherwise it goes straight from one hold to the next stroke (co-articulation),
  with the intermediate key clamped sideways between the two peaks so the wrist never
  reverses left/right outside a NO gesture.
- Beats (loudness peaks) go to the dominant hand while it rests, else to the other hand; runs
  of beats become beat segments: rise to the beat space, down-strokes, lower to rest. A
  speaker performs each run with a probability (calm speakers rest more, as people do).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from llavataros.corpus.beat_candidates import BeatCandidate
from llavataros.corpus.shapes import (
    KEEP_OUT_MARGIN,
    GestureShape,
    build_shape,
    gesture_hands,
    keep_out_regions,
)

AFTER_WORD = 0.4  # s after the word's end within which the peak must fall (SPEC section 4)
WINDOW_MARGIN = 0.15  # s kept between a planned peak and the window edges
MIN_PEAK_SPACING = 1.2  # s between peaks of gestures that share a hand
REST_GAP = 0.4  # s a hand must be able to rest between gestures to return home
MIN_TRANSITION = 0.25  # s from one gesture's hold to the next gesture's first key
TRANSITION_SPEED = 1.3  # m/s peak wrist speed allowed when going from hold to preparation
BEAT_RISE = (0.55, 0.15)  # rise to the beat space from first beat - 0.55 s to - 0.15 s
BEAT_LOWER = (0.25, 0.7)  # lower to rest from last beat + 0.25 s to + 0.7 s
BEAT_RUN_GAP = 1.6  # s; beats closer than this share one beat segment
BEAT_JITTER = 0.03  # m, +- variation of the beat space's height per segment


@dataclass(frozen=True)
class PlannedGesture:
    """A semantic gesture placed in time: its trigger, peak (s), hands and keyframes."""

    gesture: str
    word: str
    word_index: int
    word_start: float
    word_end: float
    peak: float
    hands: tuple[str, ...]
    shape: GestureShape

    @property
    def start(self) -> float:
        return self.peak - self.shape.lead

    @property
    def end(self) -> float:
        return self.peak + self.shape.tail


@dataclass(frozen=True)
class TimedKey:
    """A wrist keyframe at an absolute time (s), of ``gesture`` (None for rest and beats);
    see :class:`~.shapes.HandKey`."""

    time: float
    offset: np.ndarray
    root_anchored: bool = False
    role: str = "home"
    gesture: str | None = None

    def moved(self, offset: np.ndarray) -> TimedKey:
        return replace(self, offset=offset)


@dataclass(frozen=True)
class BeatSegment:
    """A run of beats on ``hands``: rest -> beat space -> strokes -> rest between ``start`` and
    ``end`` (s); beat times (s), depths (m) and loudness (0-1)."""

    hands: tuple[str, ...]
    start: float
    end: float
    times: tuple[float, ...]
    depths: tuple[float, ...]
    loudness: tuple[float, ...]
    lift: np.ndarray  # (3,) variation of the beat space, body frame (m)


def plan_gestures(
    triggers: Sequence,
    dominant: str,
    amplitude: float,
    tempo: float,
    homes: dict[str, np.ndarray],
    rng: np.random.Generator,
    right_wrist_hand: str = "right",
) -> list[PlannedGesture]:
    """One :class:`PlannedGesture` per trigger (objects with ``gesture``, ``word``,
    ``word_index``, ``start``, ``end``), in time order. Draws a fixed amount of randomness per
    trigger so hand choices never shift the random stream."""
    last_peak = {"right": -np.inf, "left": -np.inf}
    planned = []
    for trigger in sorted(triggers, key=lambda item: item.start):
        hands = gesture_hands(trigger.gesture, dominant, right_wrist_hand)
        factor = tempo * rng.uniform(0.92, 1.08)
        low = trigger.start
        high = trigger.end + AFTER_WORD
        margin = min(WINDOW_MARGIN, (high - low) / 3.0)
        peak = 0.5 * (low + high)
        peak = max(peak, max(last_peak[h] for h in hands) + MIN_PEAK_SPACING)
        peak = min(peak, high - margin)
        shape = build_shape(trigger.gesture, hands, homes, amplitude, factor, rng)
        for hand in hands:
            last_peak[hand] = peak
        planned.append(
            PlannedGesture(
                trigger.gesture,
                trigger.word,
                trigger.word_index,
                trigger.start,
                trigger.end,
                peak,
                hands,
                shape,
            )
        )
    return sorted(planned, key=lambda g: g.peak)


def hand_timeline(
    planned: Sequence[PlannedGesture], hand: str
) -> tuple[list[TimedKey], list[tuple[float, float]]]:
    """Keyframes of one hand's semantic gestures over the take, and the intervals
    ``(start, end)`` (s, possibly infinite) during which it rests and is free for beats."""
    chains: list[list[TimedKey]] = []
    for gesture in planned:
        if hand not in gesture.hands:
            continue
        keys = [
            TimedKey(gesture.peak + k.time, k.offset, k.root_anchored, k.role, gesture.gesture)
            for k in gesture.shape.hands[hand]
        ]
        if chains and keys[0].time - chains[-1][-1].time < REST_GAP:
            _join(chains[-1], keys, gesture.gesture)
        else:
            chains.append(keys)
    free, previous = [], -np.inf
    for chain in chains:
        free.append((previous, chain[0].time))
        previous = chain[-1].time
    free.append((previous, np.inf))
    return [key for chain in chains for key in chain], free


def _join(chain: list[TimedKey], keys: list[TimedKey], gesture: str) -> None:
    """Co-articulate: drop the return home and the next start at home, go hold -> next.

    The next gesture's preparation key is clamped sideways between the previous hold and the
    next peak (no left/right reversal outside NO) and dropped when the wrist could not reach
    it in time without exceeding ``TRANSITION_SPEED`` or when it lies in another class's
    region. Gestures closer still lose the end of the previous hold."""
    chain.pop()  # the previous gesture's return home
    keys = keys[1:]  # the next gesture's start at home
    hold = chain[-1]
    first, following = keys[0], keys[1]
    if gesture == "NO":
        keys = _shift_no(keys, hold)
    else:  # keep X monotone between the previous hold and the next peak
        low, high = sorted((hold.offset[0], following.offset[0]))
        offset = first.offset.copy()
        offset[0] = np.clip(offset[0], low, high)
        keys[0] = first.moved(offset)
        needed = max(
            MIN_TRANSITION, 1.875 * np.linalg.norm(offset - hold.offset) / TRANSITION_SPEED
        )
        if first.time - hold.time < needed or _in_foreign_region(keys[0], hold):
            keys = keys[1:]
    while keys[0].time - chain[-1].time < MIN_TRANSITION and len(chain) > 1:
        chain.pop()  # very close gestures: cut the previous hold short
    if keys[0].time <= chain[-1].time:
        raise ValueError(f"gestures too close to join at {keys[0].time:.2f} s")
    chain.extend(keys)


def _in_foreign_region(key: TimedKey, hold: TimedKey) -> bool:
    """Whether a (clamped) preparation key lies in or near the region of a class other than
    its own gesture's (see :func:`~.shapes.keep_out_regions`)."""
    hand = "left" if hold.offset[0] > 0 else "right"
    return any(
        gesture != key.gesture and np.linalg.norm(key.offset - centre) < radius + KEEP_OUT_MARGIN
        for gesture, centre, radius in keep_out_regions(hand)
    )


def _shift_no(keys: list[TimedKey], hold: TimedKey) -> list[TimedKey]:
    """Move a NO's sweeps sideways to start at the previous hold's X when that hold is nearer
    the body's midline than the rest X: the wrist then reaches the first extreme without
    moving sideways, so no extra direction change precedes the sweeps."""
    first = keys[0]
    side = np.sign(first.offset[0])
    inward = (first.offset[0] - hold.offset[0]) * side
    if inward <= 0.02:
        return keys
    shift = np.array([hold.offset[0] - first.offset[0], 0.0, 0.0])
    sweeps = [k.moved(k.offset + shift) for k in keys[:-1]]
    return sweeps + keys[-1:]


def plan_beats(
    candidates: Sequence[BeatCandidate],
    free: dict[str, list[tuple[float, float]]],
    dominant: str,
    depth: float,
    two_hand_chance: float,
    rng: np.random.Generator,
    keep_chance: float = 1.0,
) -> list[BeatSegment]:
    """Group loudness peaks into beat segments on resting hands (see module docstring); each
    run of beats is performed with probability ``keep_chance`` (calm speakers skip some and
    keep their hands at rest)."""
    other = "left" if dominant == "right" else "right"
    assigned: dict[str, list[tuple[int, BeatCandidate]]] = {dominant: [], other: []}
    for candidate in candidates:
        for hand in (dominant, other):
            slot = _containing(
                free[hand], candidate.time - BEAT_RISE[0], candidate.time + BEAT_LOWER[1]
            )
            if slot is not None:
                assigned[hand].append((slot, candidate))
                break
    segments: list[BeatSegment] = []
    for hand in (dominant, other):
        runs: list[list[BeatCandidate]] = []
        last_slot = None
        for slot, candidate in assigned[hand]:
            if runs and slot == last_slot and candidate.time - runs[-1][-1].time <= BEAT_RUN_GAP:
                runs[-1].append(candidate)
            else:
                runs.append([candidate])
            last_slot = slot
        for run in runs:
            start, end = run[0].time - BEAT_RISE[0], run[-1].time + BEAT_LOWER[1]
            draws = rng.uniform(size=4)
            if any(hand in s.hands and s.start < end and start < s.end for s in segments):
                continue
            if draws[3] >= keep_chance:
                continue
            hands = (hand,)
            if (
                hand == dominant
                and draws[0] < two_hand_chance
                and _containing(free[other], start, end) is not None
                and not any(other in s.hands and s.start < end and start < s.end for s in segments)
            ):
                hands = (hand, other)
            segments.append(
                BeatSegment(
                    hands=hands,
                    start=start,
                    end=end,
                    times=tuple(c.time for c in run),
                    depths=tuple(depth * (0.3 + 0.7 * c.loudness) for c in run),
                    loudness=tuple(c.loudness for c in run),
                    lift=np.array(
                        [0.0, 2 * BEAT_JITTER * (draws[1] - 0.5), 0.03 * (draws[2] - 0.5)]
                    ),
                )
            )
    return sorted(segments, key=lambda s: s.start)


def _containing(intervals: list[tuple[float, float]], start: float, end: float) -> int | None:
    """Index of the interval that holds ``[start, end]`` with 0.05 s to spare, else None."""
    for index, (low, high) in enumerate(intervals):
        if low + 0.05 <= start and end <= high - 0.05:
            return index
    return None
