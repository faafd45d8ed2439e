"""Beat gesture timing from the speech audio (SPEC section 4: "short wrist down-strokes ... on
stressed syllables, amplitude growing with loudness").

Stressed syllables are approximated by peaks of the loudness envelope (RMS level in dB over
30 ms windows every 10 ms, smoothed over 50 ms) inside words. Each peak becomes a beat
candidate carrying its loudness, normalised to [0, 1] between the 5th and 95th percentile of
the take's peak levels (so the beat size follows the relative stress within the take).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.signal import find_peaks

HOP = 0.01  # s between envelope frames
WINDOW = 0.03  # s RMS window
SMOOTHING = 5  # envelope frames in the moving average
MIN_SPACING = 0.5  # s between beats (down-stroke + recovery must fit)
PROMINENCE = 3.0  # dB a peak must stand out of its surroundings


@dataclass(frozen=True)
class BeatCandidate:
    """A loudness peak: ``time`` (s), ``level`` (dB) and ``loudness`` in [0, 1]."""

    time: float
    level: float
    loudness: float


def loudness_envelope(audio: np.ndarray, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """Frame times ``(f,)`` in seconds and smoothed RMS level ``(f,)`` in dB."""
    audio = np.asarray(audio, dtype=np.float64)
    hop = max(int(round(HOP * sample_rate)), 1)
    window = max(int(round(WINDOW * sample_rate)), hop)
    count = max(1 + (len(audio) - window) // hop, 1)
    padded = np.pad(audio, (0, max(window + (count - 1) * hop - len(audio), 0)))
    # Mean square per frame from a cumulative sum: O(n) for any window length.
    cumulative = np.concatenate([[0.0], np.cumsum(padded * padded)])
    starts = np.arange(count) * hop
    power = (cumulative[starts + window] - cumulative[starts]) / window  # (f,)
    level = 10.0 * np.log10(power + 1e-10)
    level = np.convolve(level, np.ones(SMOOTHING) / SMOOTHING, mode="same")
    times = (starts + 0.5 * window) / sample_rate
    return times, level


def beat_candidates(audio: np.ndarray, sample_rate: int, words: Sequence) -> list[BeatCandidate]:
    """Loudness peaks inside words (objects with ``start``/``end`` in s), at least
    ``MIN_SPACING`` apart, with their normalised loudness."""
    times, level = loudness_envelope(audio, sample_rate)
    inside = np.zeros(len(times), dtype=bool)
    for word in words:
        inside |= (times >= word.start) & (times <= word.end)
    if not np.any(inside):
        return []
    floor = np.percentile(level[inside], 10.0)
    peaks, _ = find_peaks(
        level, distance=max(int(round(MIN_SPACING / HOP)), 1), prominence=PROMINENCE
    )
    peaks = [int(p) for p in peaks if inside[p] and level[p] > floor]
    # Loudness relative to the take's other stressed syllables (percentiles of the peaks).
    reference = level[peaks] if len(peaks) >= 5 else level[inside]
    low, high = np.percentile(reference, [5.0, 95.0])
    span = max(high - low, 1e-6)
    return [
        BeatCandidate(
            float(times[p]), float(level[p]), float(np.clip((level[p] - low) / span, 0.0, 1.0))
        )
        for p in peaks
    ]
