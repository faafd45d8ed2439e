"""Metrics of face takes ``(T, 52)`` (ARKit weights in [0, 1], see :mod:`llavataros.face`).

- :func:`channel_mae`: mean absolute error per channel (NaN where the truth is not valid);
- :func:`pearson`: correlation of two curves (jawOpen against the truth, the figure the issue
  targets);
- :func:`lip_sync_lag`: the shift ``k`` in frames maximising the cross-correlation of the
  predicted jawOpen with the truth; ``k > 0`` means the prediction is late
  (``prediction[t] ~ truth[t - k]``);
- :func:`bilabial_closure`: share of p, b, m intervals in which the lips close at least once.
  Lip aperture per frame is ``max(jawOpen - mouthClose, 0) + 0.5 * mean(mouthLowerDown L, R)
  + 0.5 * mean(mouthUpperUp L, R)`` (ARKit's mouthClose closes the lips over an open jaw; the
  lip raisers/lowerers part them with the jaw shut); the lips count as closed when the
  aperture is <= ``threshold`` (0.1). An interval shorter than a frame is judged at its
  nearest frame; one frame of slack each side allows for rounding of the phoneme times;
- :func:`blink_rate`: blinks per minute: rises of ``mean(eyeBlink L, R)`` above 0.5 (after
  having been below 0.3: hysteresis, so one blink counts once);
- :func:`brow_motion`: mean absolute speed of the five brow channels (weight units per s).

:func:`face_metrics` bundles them into one flat dict of floats.
"""

from __future__ import annotations

import numpy as np

from llavataros.face.arkit import ARKIT_NAMES, GROUPS, NUM_BLENDSHAPES, index
from llavataros.face.lips import CLOSURE_THRESHOLD, JAW_OPEN, lip_aperture

BLINKS = (index("eyeBlinkLeft"), index("eyeBlinkRight"))


def _pair(prediction: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    prediction = np.asarray(prediction, dtype=np.float64)
    truth = np.asarray(truth, dtype=np.float64)
    if prediction.shape != truth.shape:
        raise ValueError(f"shapes differ: prediction {prediction.shape}, truth {truth.shape}")
    return prediction, truth


def channel_mae(
    prediction: np.ndarray, truth: np.ndarray, valid: np.ndarray | None = None
) -> np.ndarray:
    """``(52,)`` mean absolute error per channel; NaN where ``valid (52,)`` is False."""
    prediction, truth = _pair(prediction, truth)
    mae = np.abs(prediction - truth).mean(axis=0)
    if valid is not None:
        mae = np.where(np.asarray(valid, dtype=bool), mae, np.nan)
    return mae


def group_mae(mae: np.ndarray, columns) -> float:
    """Mean of the per-channel MAE over ``columns``, ignoring NaN (invalid) channels."""
    values = np.asarray(mae)[list(columns)]
    values = values[np.isfinite(values)]
    return float(values.mean()) if len(values) else float("nan")


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two ``(T,)`` curves (NaN if either is constant)."""
    a, b = _pair(a, b)
    a, b = a - a.mean(), b - b.mean()
    norm = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / norm) if norm > 0 else float("nan")


def lip_sync_lag(prediction: np.ndarray, truth: np.ndarray, max_lag: int = 15) -> int:
    """Lag ``k`` in ``[-max_lag, max_lag]`` frames maximising the correlation of
    ``prediction[t]`` with ``truth[t - k]`` over their overlap (``k > 0``: prediction late)."""
    prediction, truth = _pair(prediction, truth)
    best, best_lag = -np.inf, 0
    for lag in range(-max_lag, max_lag + 1):
        if lag >= 0:
            p, q = prediction[lag:], truth[: len(truth) - lag]
        else:
            p, q = prediction[:lag], truth[-lag:]
        if len(p) < 2:
            continue
        value = pearson(p, q)
        if np.isfinite(value) and (value > best or (value == best and abs(lag) < abs(best_lag))):
            best, best_lag = value, lag
    return best_lag


def bilabial_closure(
    weights: np.ndarray,
    intervals: list[tuple[float, float]],
    fps: float,
    threshold: float = CLOSURE_THRESHOLD,
) -> float:
    """Share of ``intervals`` (s) in which the lip aperture drops to ``threshold`` or below
    (NaN without intervals)."""
    if not intervals:
        return float("nan")
    aperture = lip_aperture(weights)
    closed = 0
    for start, end in intervals:
        first = max(0, int(np.floor(start * fps)) - 1)
        last = min(len(aperture) - 1, int(np.ceil(end * fps)) + 1)
        if last >= first and aperture[first : last + 1].min() <= threshold:
            closed += 1
    return closed / len(intervals)


def blink_count(weights: np.ndarray, high: float = 0.5, low: float = 0.3) -> int:
    """Number of blinks: rises of the mean eyeBlink above ``high`` after being below ``low``."""
    blink = np.asarray(weights, dtype=np.float64)[:, list(BLINKS)].mean(axis=1)
    count, armed = 0, True
    for value in blink:
        if armed and value > high:
            count, armed = count + 1, False
        elif value < low:
            armed = True
    return count


def blink_rate(weights: np.ndarray, fps: float) -> float:
    """Blinks per minute."""
    minutes = len(weights) / fps / 60.0
    return blink_count(weights) / minutes if minutes > 0 else float("nan")


def brow_motion(weights: np.ndarray, fps: float) -> float:
    """Mean absolute speed of the brow channels, weight units per second."""
    brows = np.asarray(weights, dtype=np.float64)[:, list(GROUPS["brows"])]
    if len(brows) < 2:
        return 0.0
    return float(np.abs(np.diff(brows, axis=0)).mean() * fps)


def face_metrics(
    prediction: np.ndarray,
    truth: np.ndarray,
    fps: float,
    valid: np.ndarray | None = None,
    bilabials: list[tuple[float, float]] | None = None,
) -> dict[str, float]:
    """All figures for one take: MAE overall / per group / per channel (valid channels only),
    jawOpen correlation and lag, closure on ``bilabials`` (if given), and the upper-face
    dynamics of prediction and truth."""
    prediction, truth = _pair(prediction, truth)
    if prediction.ndim != 2 or prediction.shape[1] != NUM_BLENDSHAPES:
        raise ValueError(f"face takes must be (T, 52), got {prediction.shape}")
    mae = channel_mae(prediction, truth, valid)
    result = {"mae": group_mae(mae, range(NUM_BLENDSHAPES))}
    for group, columns in GROUPS.items():
        result[f"mae_{group}"] = group_mae(mae, columns)
    result["mae_lower_face"] = group_mae(mae, GROUPS["jaw"] + GROUPS["mouth"])
    result["jaw_correlation"] = pearson(prediction[:, JAW_OPEN], truth[:, JAW_OPEN])
    result["jaw_lag_frames"] = float(lip_sync_lag(prediction[:, JAW_OPEN], truth[:, JAW_OPEN]))
    if bilabials is not None:
        result["bilabial_closure"] = bilabial_closure(prediction, bilabials, fps)
        result["bilabial_closure_truth"] = bilabial_closure(truth, bilabials, fps)
    result["blink_rate"] = blink_rate(prediction, fps)
    result["blink_rate_truth"] = blink_rate(truth, fps)
    result["brow_motion"] = brow_motion(prediction, fps)
    result["brow_motion_truth"] = brow_motion(truth, fps)
    for k, name in enumerate(ARKIT_NAMES):
        if np.isfinite(mae[k]):
            result[f"mae/{name}"] = float(mae[k])
    return result
