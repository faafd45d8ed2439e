"""Motion metrics of SPEC section 5: beat alignment (BA), L1 diversity, mean jerk, the
Hellinger distance between wrist-speed histograms, and the Frechet distance behind FGD.

Every function is pure NumPy. A motion is either a :class:`~llavataros.motion.Motion` (its own
fps is used) or joint positions ``(t, j, 3)`` in metres at ``fps`` frames per second.

Beat alignment, choices made where SPEC section 5 leaves room:

- Frame rate: positions are **resampled to 30 fps** (linear interpolation in time) before the
  speed is taken, so "order 7 at 30 fps" holds literally (a +-233 ms neighbourhood) and the
  noise of the speed curve does not depend on the input rate. Beat times are therefore
  quantised to 1/30 s (a 17 ms error at most, which costs at most 0.2 % of a score).
- Speed: the **mean over joints** of the joint speed (m/s, central differences), the "kinetic
  velocity" of AI Choreographer (Li et al. 2021), divided by the same quantity averaged over the
  training split (:func:`training_mean_speed`). BEAT/EMAGE (Liu et al. 2022) instead score each
  joint separately and average the scores; on this 9-joint skeleton the root and spine barely
  move, so a per-joint score would average in joints that have no beats at all (score 0).
- Threshold: a local minimum is kept when the normalised speed *at the minimum* exceeds 0.3
  (as in the BEAT/EMAGE reference code): beats are decelerations inside movement, not rests.
- Score: the mean over audio onsets in ``[exclude_edges, duration - exclude_edges]`` of
  ``exp(-d^2 / (2 * 0.3^2))``, ``d`` the distance in seconds to the nearest motion beat (the
  audio-to-motion direction of BEAT). No motion beat gives 0; no onset in range gives NaN.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
from scipy.linalg import LinAlgWarning, sqrtm
from scipy.signal import argrelextrema

from llavataros.errors import InputError
from llavataros.motion.skeleton import WRISTS
from llavataros.motion.take import Motion

BEAT_FPS = 30.0  # frame rate at which motion beats are found
BEAT_ORDER = 7  # local-minimum neighbourhood, frames at BEAT_FPS
BEAT_SIGMA = 0.3  # seconds
BEAT_SPEED_THRESHOLD = 0.3  # minimum normalised speed at a motion beat
SPEED_BIN_WIDTH = 0.05  # m/s, default wrist-speed histogram bins
SPEED_BIN_MAXIMUM = 3.0  # m/s; faster frames count in the last bin

MotionLike = Motion | np.ndarray


def positions_and_fps(motion: MotionLike, fps: float | None) -> tuple[np.ndarray, float]:
    """Positions ``(t, j, 3)`` and frame rate of a :class:`Motion` or a positions array."""
    if isinstance(motion, Motion):
        if fps is not None and abs(fps - motion.fps) > 1e-6:
            raise InputError(None, f"fps {fps} disagrees with the motion's fps {motion.fps}")
        return motion.positions, float(motion.fps)
    positions = np.asarray(motion, dtype=np.float64)
    if positions.ndim != 3 or positions.shape[-1] != 3:
        raise InputError(None, f"expected joint positions (t, j, 3), got {positions.shape}")
    if fps is None or not (np.isfinite(fps) and fps > 0):
        raise InputError(None, f"a positive fps is needed for a positions array, got {fps}")
    return positions, float(fps)


def resample_positions(positions: np.ndarray, fps: float, target_fps: float) -> np.ndarray:
    """Positions ``(t, j, 3)`` at ``fps`` linearly interpolated to ``(round(t / fps *
    target_fps), j, 3)`` at ``target_fps`` (frame ``k`` at ``k / target_fps`` seconds)."""
    positions = np.asarray(positions, dtype=np.float64)
    if abs(fps - target_fps) < 1e-9 or len(positions) < 2:
        return positions
    count = max(1, int(round(len(positions) / fps * target_fps)))
    source = np.clip(np.arange(count) * (fps / target_fps), 0.0, len(positions) - 1)
    before = np.floor(source).astype(int)
    after = np.minimum(before + 1, len(positions) - 1)
    fraction = (source - before)[:, None, None]
    return positions[before] + fraction * (positions[after] - positions[before])


def joint_speed(positions: np.ndarray, fps: float) -> np.ndarray:
    """Speed ``(t, j)`` of every joint in m/s (central differences, one-sided at the ends)."""
    positions = np.asarray(positions, dtype=np.float64)
    if len(positions) < 2:
        return np.zeros(positions.shape[:2])
    return np.linalg.norm(np.gradient(positions, axis=0), axis=-1) * fps


def kinetic_speed(motion: MotionLike, fps: float | None = None) -> np.ndarray:
    """Mean-over-joints speed ``(t30,)`` in m/s of a motion resampled to 30 fps."""
    positions, fps = positions_and_fps(motion, fps)
    positions = resample_positions(positions, fps, BEAT_FPS)
    return joint_speed(positions, BEAT_FPS).mean(axis=-1)


def training_mean_speed(motions: Sequence[MotionLike], fps: float | None = None) -> float:
    """The BA normaliser: :func:`kinetic_speed` averaged over all frames of ``motions``."""
    curves = [kinetic_speed(motion, fps) for motion in motions]
    frames = np.concatenate(curves) if curves else np.zeros(0)
    if len(frames) == 0:
        raise InputError(None, "no training frames to measure the mean speed on")
    return float(frames.mean())


def motion_beats(motion: MotionLike, fps: float | None, mean_train_speed: float) -> np.ndarray:
    """Motion beat times in seconds ``(n_beats,)``: local minima (order 7 at 30 fps) of the
    kinetic speed divided by ``mean_train_speed``, kept where that ratio exceeds 0.3."""
    if not (np.isfinite(mean_train_speed) and mean_train_speed > 0):
        raise InputError(None, f"mean training speed must be positive, got {mean_train_speed}")
    speed = kinetic_speed(motion, fps) / mean_train_speed
    (minima,) = argrelextrema(speed, np.less, order=BEAT_ORDER)
    minima = minima[speed[minima] > BEAT_SPEED_THRESHOLD]
    return minima / BEAT_FPS


def beat_alignment_score(
    audio_onsets: np.ndarray,
    motion_beat_times: np.ndarray,
    duration: float,
    exclude_edges: float = 2.0,
    sigma: float = BEAT_SIGMA,
) -> float:
    """Mean over onsets in ``[exclude_edges, duration - exclude_edges]`` (seconds) of
    ``exp(-d^2 / (2 sigma^2))``, ``d`` = distance to the nearest motion beat."""
    onsets = np.asarray(audio_onsets, dtype=np.float64).reshape(-1)
    onsets = onsets[(onsets >= exclude_edges) & (onsets <= duration - exclude_edges)]
    if len(onsets) == 0:
        return float("nan")
    beats = np.sort(np.asarray(motion_beat_times, dtype=np.float64).reshape(-1))
    if len(beats) == 0:
        return 0.0
    distance = np.abs(onsets[:, None] - beats[None, :]).min(axis=1)  # (n_onsets,)
    return float(np.mean(np.exp(-(distance**2) / (2.0 * sigma**2))))


def beat_alignment(
    motion_positions: MotionLike,
    fps: float | None,
    audio_onsets_seconds: np.ndarray,
    mean_train_speed: float,
    exclude_edges: float = 2.0,
) -> float:
    """BA of SPEC section 5 in [0, 1] (NaN when no onset lies outside the excluded edges).

    ``motion_positions``: ``(t, j, 3)`` metres at ``fps`` (or a Motion); onsets in seconds, e.g.
    from :func:`llavataros.eval.onsets.audio_onsets`; ``mean_train_speed`` in m/s from
    :func:`training_mean_speed` on the training split."""
    positions, fps = positions_and_fps(motion_positions, fps)
    beats = motion_beats(positions, fps, mean_train_speed)
    return beat_alignment_score(audio_onsets_seconds, beats, len(positions) / fps, exclude_edges)


def l1_diversity(positions: MotionLike) -> float:
    """Mean absolute deviation (metres) of joint coordinates from the sequence's mean pose,
    averaged over frames, joints and axes. (EMAGE's "L1div" sums over the 27 coordinates
    instead of averaging: multiply by ``j * 3`` to compare.)"""
    positions = positions.positions if isinstance(positions, Motion) else np.asarray(positions)
    mean_pose = positions.mean(axis=0, keepdims=True)  # (1, j, 3)
    return float(np.mean(np.abs(positions - mean_pose)))


def mean_jerk(positions: MotionLike, fps: float | None = None) -> float:
    """Mean over frames and joints of the norm of the third time derivative, in m/s^3
    (third finite difference times ``fps^3``; 0 for fewer than 4 frames)."""
    positions, fps = positions_and_fps(positions, fps)
    if len(positions) < 4:
        return 0.0
    jerk = np.diff(positions, n=3, axis=0) * fps**3  # (t - 3, j, 3)
    return float(np.linalg.norm(jerk, axis=-1).mean())


def speed_bins(maximum: float = SPEED_BIN_MAXIMUM, width: float = SPEED_BIN_WIDTH) -> np.ndarray:
    """Fixed wrist-speed bin edges ``(n + 1,)`` in m/s from 0 to ``maximum``. Fixed edges keep
    scores of different models comparable against the same real data."""
    return np.linspace(0.0, maximum, int(round(maximum / width)) + 1)


def wrist_speeds(
    motions: MotionLike | Sequence[MotionLike], fps: float | None = None
) -> np.ndarray:
    """Speeds ``(n,)`` in m/s of both wrists over all frames of one motion or a list of them."""
    items = motions if isinstance(motions, list | tuple) else [motions]
    speeds = []
    for motion in items:
        positions, rate = positions_and_fps(motion, fps)
        speeds.append(joint_speed(positions[:, list(WRISTS)], rate).reshape(-1))
    return np.concatenate(speeds) if speeds else np.zeros(0)


def wrist_speed_histogram(
    positions: MotionLike | Sequence[MotionLike], fps: float | None, bins: np.ndarray
) -> np.ndarray:
    """Probabilities ``(len(bins) - 1,)`` (summing to 1) of wrist speeds in the bins with edges
    ``bins`` (m/s); speeds outside the edges count in the first or last bin."""
    bins = np.asarray(bins, dtype=np.float64)
    if bins.ndim != 1 or len(bins) < 2 or np.any(np.diff(bins) <= 0):
        raise InputError(None, "histogram bins must be at least two increasing edges")
    speeds = np.clip(wrist_speeds(positions, fps), bins[0], bins[-1])
    counts, _ = np.histogram(speeds, bins=bins)
    if counts.sum() == 0:
        raise InputError(None, "no frames to build a wrist-speed histogram from")
    return counts / counts.sum()


def hellinger_distance(p: np.ndarray, q: np.ndarray) -> float:
    """Hellinger distance in [0, 1] between two discrete distributions (normalised here):
    ``sqrt(1 - sum(sqrt(p * q)))``; 0 for identical, 1 for disjoint supports."""
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    if p.shape != q.shape or np.any(p < 0) or np.any(q < 0) or p.sum() <= 0 or q.sum() <= 0:
        raise InputError(
            None, "Hellinger distance needs two non-negative histograms of the same shape"
        )
    overlap = np.sum(np.sqrt((p / p.sum()) * (q / q.sum())))
    return float(np.sqrt(max(0.0, 1.0 - overlap)))


def speed_hellinger(
    generated: MotionLike | Sequence[MotionLike],
    real: MotionLike | Sequence[MotionLike],
    fps: float | None = None,
    bins: np.ndarray | None = None,
) -> float:
    """Hellinger distance between wrist-speed histograms of generated and real motion with
    shared bins (default :func:`speed_bins`: 0-3 m/s in 0.05 m/s steps)."""
    bins = speed_bins() if bins is None else bins
    return hellinger_distance(
        wrist_speed_histogram(generated, fps, bins), wrist_speed_histogram(real, fps, bins)
    )


def frechet_distance(
    mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray, eps: float = 1e-6
) -> float:
    """Frechet distance between Gaussians ``N(mu1, sigma1)`` and ``N(mu2, sigma2)``:
    ``|mu1 - mu2|^2 + tr(sigma1 + sigma2 - 2 (sigma1 sigma2)^(1/2))``.

    When the matrix square root is singular or has a noticeable imaginary part (numerical
    error of near-singular covariances), ``eps * I`` is added to both covariances."""
    mu1, mu2 = np.atleast_1d(mu1).astype(np.float64), np.atleast_1d(mu2).astype(np.float64)
    sigma1 = np.atleast_2d(sigma1).astype(np.float64)
    sigma2 = np.atleast_2d(sigma2).astype(np.float64)
    if (
        mu1.shape != mu2.shape
        or sigma1.shape != sigma2.shape
        or sigma1.shape != (len(mu1), len(mu1))
    ):
        raise InputError(None, "Frechet distance: means and covariances disagree in size")
    with warnings.catch_warnings():  # singular products are handled below
        warnings.simplefilter("ignore", LinAlgWarning)
        covariance_root = sqrtm(sigma1 @ sigma2)
        if not np.all(np.isfinite(covariance_root)) or _imaginary_part(covariance_root) > 1e-3:
            offset = eps * np.eye(len(mu1))
            covariance_root = sqrtm((sigma1 + offset) @ (sigma2 + offset))
    covariance_root = np.real(covariance_root)
    difference = mu1 - mu2
    distance = difference @ difference + np.trace(sigma1 + sigma2 - 2.0 * covariance_root)
    return float(max(distance, 0.0))


def gaussian_fit(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``(d,)`` and covariance ``(d, d)`` of ``features (n, d)`` (n >= 2)."""
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or len(features) < 2:
        raise InputError(None, f"need at least two feature vectors (n, d), got {features.shape}")
    return features.mean(axis=0), np.cov(features, rowvar=False).reshape(features.shape[1], -1)


def fgd(features_a: np.ndarray, features_b: np.ndarray) -> float:
    """Frechet distance between Gaussian fits of two feature sets ``(n_a, d)``, ``(n_b, d)``."""
    mu_a, sigma_a = gaussian_fit(features_a)
    mu_b, sigma_b = gaussian_fit(features_b)
    return frechet_distance(mu_a, sigma_a, mu_b, sigma_b)


def _imaginary_part(matrix: np.ndarray) -> float:
    """Largest imaginary component relative to the largest real one (0 for real input)."""
    if not np.iscomplexobj(matrix):
        return 0.0
    return float(np.abs(matrix.imag).max() / max(1.0, np.abs(matrix.real).max()))
