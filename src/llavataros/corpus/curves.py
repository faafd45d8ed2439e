"""Smooth time curves for the procedural motion of the synthetic corpus (SPEC section 4).

Gesture phases (preparation, stroke, hold, retraction) are keyframes joined by minimum-jerk
segments (Flash and Hogan 1985): ``s(u) = 10u^3 - 15u^4 + 6u^5``, whose velocity and
acceleration vanish at both ends, so a chain of segments is continuous up to acceleration.
Beats are short down-strokes built from the same profile. Idle motion is a sum of slow
sinusoids. Times are seconds, curves are sampled at the frame times ``t (n,)``.
"""

from __future__ import annotations

import numpy as np


def minimum_jerk(u: np.ndarray) -> np.ndarray:
    """Minimum-jerk profile ``(...,)``: 0 at ``u <= 0``, 1 at ``u >= 1``, C2 in between."""
    u = np.clip(np.asarray(u, dtype=np.float64), 0.0, 1.0)
    return u * u * u * (10.0 + u * (-15.0 + 6.0 * u))


def keyframe_curve(
    times: np.ndarray, values: np.ndarray, t: np.ndarray, controls: np.ndarray | None = None
) -> np.ndarray:
    """Minimum-jerk interpolation of keyframes.

    ``times (k,)`` strictly increasing seconds, ``values (k, d)``, ``t (n,)`` frame times;
    returns ``(n, d)``. Each key is a stop (zero velocity and acceleration); the curve holds
    the first value before the first key and the last value after the last key.
    ``controls (k - 1, d)`` optionally bends segment ``i`` (key ``i`` to ``i + 1``) into a
    quadratic Bezier curve with that control point; rows of NaN keep the segment straight.
    """
    times = np.asarray(times, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)
    if len(times) == 1:
        return np.repeat(values[:1], len(t), axis=0)
    if np.any(np.diff(times) <= 0):
        raise ValueError("keyframe times must be strictly increasing")
    segment = np.clip(np.searchsorted(times, t, side="right") - 1, 0, len(times) - 2)  # (n,)
    start, end = times[segment], times[segment + 1]
    s = minimum_jerk((t - start) / (end - start))[:, None]  # (n, 1) path parameter
    first, last = values[segment], values[segment + 1]  # (n, d)
    if controls is None:
        return first + s * (last - first)
    control = np.asarray(controls, dtype=np.float64)[segment]  # (n, d)
    control = np.where(np.isnan(control), 0.5 * (first + last), control)
    return (1.0 - s) ** 2 * first + 2.0 * s * (1.0 - s) * control + s * s * last


def stroke_pulse(t: np.ndarray, peak: float, down: float, up: float) -> np.ndarray:
    """Beat profile ``(n,)`` in [0, 1]: rises with minimum jerk over ``down`` seconds to 1 at
    ``peak`` (the moment the down-stroke lands) and returns to 0 over ``up`` seconds."""
    t = np.asarray(t, dtype=np.float64)
    rising = minimum_jerk((t - (peak - down)) / down)
    falling = 1.0 - minimum_jerk((t - peak) / up)
    return np.where(t <= peak, rising, falling)


def pulse_train(
    t: np.ndarray, peaks: np.ndarray, amplitudes: np.ndarray, down: float, up: float
) -> np.ndarray:
    """Sum of :func:`stroke_pulse` at ``peaks (b,)`` scaled by ``amplitudes (b,)``; ``(n,)``.

    Only frames within ``[peak - down, peak + up]`` of a beat are touched, so the cost is
    linear in the number of frames."""
    t = np.asarray(t, dtype=np.float64)
    out = np.zeros(len(t))
    if len(t) == 0:
        return out
    rate = (len(t) - 1) / max(t[-1] - t[0], 1e-9)
    for peak, amplitude in zip(peaks, amplitudes, strict=True):
        first = max(int(np.floor((peak - down - t[0]) * rate)), 0)
        last = min(int(np.ceil((peak + up - t[0]) * rate)) + 1, len(t))
        if last > first:
            out[first:last] += amplitude * stroke_pulse(t[first:last], peak, down, up)
    return out


def slow_wander(
    t: np.ndarray, rng: np.random.Generator, amplitude: float, rate: float, dims: int = 1
) -> np.ndarray:
    """Idle drift ``(n, dims)``: three sinusoids per dimension around ``rate`` Hz with random
    phases, scaled so each dimension stays within about ``+-amplitude``."""
    t = np.asarray(t, dtype=np.float64)
    frequencies = rate * rng.uniform(0.6, 1.6, size=(3, dims))
    phases = rng.uniform(0.0, 2.0 * np.pi, size=(3, dims))
    weights = np.array([0.5, 0.3, 0.2])[:, None]
    waves = np.sin(2.0 * np.pi * frequencies[None] * t[:, None, None] + phases[None])
    return amplitude * np.sum(weights[None] * waves, axis=1)  # (n, dims)
