"""How much a set of motions moves like real people (issue 15): posture, speed, bandwidth.

Every take is first resampled to ``COMMON_FPS`` (30 fps, linear interpolation of positions)
so systems at any frame rate are compared on the same footing. Per frame and per wrist (both
wrists pooled), in the body frame of :func:`llavataros.gestures.detectors.to_body` (origin Spine2,
+Y world up, +X toward the character's left, +Z forward):

- ``wrist_height``: wrist Y relative to Spine2 (m); real speakers rest with hanging arms at
  about -0.37 m;
- ``wrist_forward``: wrist Z (m);
- ``wrist_lateral``: wrist X toward its own side (m; the right wrist's -X, the left's +X);
- ``elbow_abduction``: angle (degrees) between the upper arm (shoulder joint to elbow) and
  the body's sagittal Y-Z plane, positive toward its own side: 0 for an arm hanging straight
  or raised straight forward, 90 for an elbow straight out to the side;
- ``wrist_speed``: m/s, central differences at ``COMMON_FPS``.

Each feature is histogrammed on fixed bins (``BINS``; values outside count in the end bins)
and two sets are compared by the Hellinger distance of their pooled histograms (0 identical,
1 disjoint). The scale is the real takes' distance to each other: the mean over pairs of
reference takes, or, with a single reference take, the distance between its two halves.

Scalars: the share of wrist-velocity power above ``HIGH_FREQUENCY`` (3 Hz; Welch spectrum of
each velocity coordinate from forward differences, Hann windows of ``WELCH_SECONDS``, pooled
over takes by energy), the share of wrist-frames slower than ``STILL_SPEED`` (stillness), the
median wrist height, the share of frames with a wrist above Spine2, peak wrist speed and
acceleration.

Everything here is pure NumPy/SciPy except :func:`load_motions`, which reads a folder.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from itertools import combinations
from pathlib import Path

import numpy as np
from scipy.signal import welch

from llavataros.errors import InputError
from llavataros.eval.metrics import hellinger_distance, resample_positions, speed_bins
from llavataros.gestures.detectors import to_body
from llavataros.motion.kinematics import wrist_speed
from llavataros.motion.skeleton import LEFT_WRIST, RIGHT_WRIST, SPINE2
from llavataros.motion.take import Motion, load_take, motion_paths

COMMON_FPS = 30.0  # Hz every take is resampled to before measuring
HIGH_FREQUENCY = 3.0  # Hz; wrist-velocity power above this counts as "snappy"
WELCH_SECONDS = 8.0  # s, Hann window length of the velocity spectrum (shorter takes: whole)
STILL_SPEED = 0.05  # m/s; a wrist slower than this is still

# Fixed histogram bin edges: positions 0.025 m wide, the abduction angle 5 degrees, speed
# 0.05 m/s from 0 to 3 m/s (as metrics.speed_bins). With them the corpus before calibration is
# 0.65 from the AvatarOS sample in wrist height, the figure issue 15 reports (0.64).
BINS: dict[str, np.ndarray] = {
    "wrist_height": np.linspace(-0.70, 0.70, 57),
    "wrist_forward": np.linspace(-0.30, 0.70, 41),
    "wrist_lateral": np.linspace(-0.30, 0.70, 41),
    "elbow_abduction": np.linspace(-30.0, 90.0, 25),
    "wrist_speed": speed_bins(),
}
FEATURES = tuple(BINS)


def common_rate(motion: Motion, fps: float = COMMON_FPS) -> np.ndarray:
    """Joint positions ``(t', j, 3)`` of ``motion`` linearly resampled to ``fps``."""
    return resample_positions(motion.positions, motion.fps, fps)


def frame_features(positions: np.ndarray, fps: float) -> dict[str, np.ndarray]:
    """Per-frame features ``(t, 2)`` (right, left wrist) of positions ``(t, 9, 3)`` at
    ``fps``: the five of the module docstring, in metres, degrees and m/s."""
    positions = np.asarray(positions, dtype=np.float64)
    if positions.ndim != 3 or positions.shape[1:] != (9, 3):
        raise InputError(None, f"expected joint positions (t, 9, 3), got {positions.shape}")
    body = to_body(positions)  # (t, j, 3)
    wrist = body[:, [RIGHT_WRIST, LEFT_WRIST]]  # (t, 2, 3)
    side = np.array([-1.0, 1.0])
    upper = body[:, [RIGHT_WRIST - 1, LEFT_WRIST - 1]] - body[:, [RIGHT_WRIST - 2, LEFT_WRIST - 2]]
    upper = upper / np.maximum(np.linalg.norm(upper, axis=-1, keepdims=True), 1e-9)
    abduction = np.degrees(np.arcsin(np.clip(upper[..., 0] * side, -1.0, 1.0)))  # (t, 2)
    return {
        "wrist_height": wrist[..., 1],
        "wrist_forward": wrist[..., 2],
        "wrist_lateral": wrist[..., 0] * side,
        "elbow_abduction": abduction,
        "wrist_speed": wrist_speed(positions, fps),
    }


def high_frequency_energy(
    positions: np.ndarray, fps: float, cutoff: float = HIGH_FREQUENCY
) -> tuple[float, float]:
    """``(energy above cutoff, total energy)`` of the wrist velocities of positions
    ``(t, 9, 3)``: Welch power spectra (Hann, ``WELCH_SECONDS`` windows, mean removed) of the
    six velocity coordinates (forward differences), summed, times the take's length (so takes
    pool by energy)."""
    wrists = np.asarray(positions, dtype=np.float64)[:, [RIGHT_WRIST, LEFT_WRIST]]
    if len(wrists) < 8:
        return 0.0, 0.0
    # Forward differences: closer to the true derivative near Nyquist than central ones.
    velocity = (np.diff(wrists, axis=0) * fps).reshape(len(wrists) - 1, -1)  # (t - 1, 6)
    window = min(len(velocity), int(round(WELCH_SECONDS * fps)))
    frequencies, power = welch(velocity, fs=fps, window="hann", nperseg=window, axis=0)
    power = power.sum(axis=1) * len(velocity)  # (f,)
    return float(power[frequencies > cutoff].sum()), float(power[frequencies > 0].sum())


def power_above(positions: np.ndarray, fps: float, cutoff: float = HIGH_FREQUENCY) -> float:
    """Share in [0, 1] of wrist-velocity power above ``cutoff`` Hz (0 for a still take)."""
    high, total = high_frequency_energy(positions, fps, cutoff)
    return high / total if total > 0 else 0.0


def stillness(positions: np.ndarray, fps: float, threshold: float = STILL_SPEED) -> float:
    """Share in [0, 1] of wrist-frames (both wrists) slower than ``threshold`` m/s."""
    return float(np.mean(wrist_speed(positions, fps) < threshold))


def histogram(values: np.ndarray, bins: np.ndarray) -> np.ndarray:
    """Counts ``(len(bins) - 1,)`` of ``values`` (any shape) in ``bins``, ends clipped in."""
    values = np.clip(np.asarray(values, dtype=np.float64).reshape(-1), bins[0], bins[-1])
    return np.histogram(values, bins=bins)[0].astype(np.float64)


def feature_histograms(takes: Sequence[np.ndarray], fps: float) -> dict[str, np.ndarray]:
    """Pooled counts per feature (``BINS``) over position arrays ``(t, 9, 3)`` at ``fps``."""
    counts = {name: np.zeros(len(edges) - 1) for name, edges in BINS.items()}
    for positions in takes:
        for name, values in frame_features(positions, fps).items():
            counts[name] += histogram(values, BINS[name])
    return counts


def histogram_distances(
    first: dict[str, np.ndarray], second: dict[str, np.ndarray]
) -> dict[str, float]:
    """Hellinger distance per feature between two :func:`feature_histograms` results."""
    return {name: hellinger_distance(first[name], second[name]) for name in FEATURES}


@dataclass(frozen=True)
class RealismStats:
    """Scalar figures of one set of takes (all at ``COMMON_FPS``)."""

    takes: int
    seconds: float
    power_above_3hz: float
    stillness: float
    median_wrist_height: float  # m relative to Spine2
    wrist_above_spine2: float  # share of frames with a wrist above Spine2
    peak_wrist_speed: float  # m/s
    peak_wrist_acceleration: float  # m/s^2


@dataclass(frozen=True)
class RealismReport:
    """A set of takes against real reference takes: per-feature Hellinger distances of the
    pooled histograms, the real takes' own distances (``scale``, made by ``scale_method``),
    and the scalar figures of both sets."""

    distances: dict[str, float]
    scale: dict[str, float]
    scale_method: str
    system: RealismStats
    reference: RealismStats
    fps: float = COMMON_FPS

    def ratios(self) -> dict[str, float]:
        """Distance over the real-to-real scale per feature (<= 1: as close as people are)."""
        return {
            name: self.distances[name] / self.scale[name] if self.scale[name] > 0 else np.inf
            for name in FEATURES
        }

    def to_dict(self) -> dict:
        return {**asdict(self), "ratios": self.ratios()}

    def table(self) -> str:
        """Markdown tables: distances with scale, then the scalar figures side by side."""
        lines = [
            f"| feature (Hellinger) | system vs real | real vs real ({self.scale_method}) |",
            "|---|--:|--:|",
        ]
        for name in FEATURES:
            lines.append(f"| {name} | {self.distances[name]:.3f} | {self.scale[name]:.3f} |")
        lines += ["", "| figure | system | real |", "|---|--:|--:|"]
        system, reference = asdict(self.system), asdict(self.reference)
        for key, value in system.items():
            fmt = "{:.0f}" if key == "takes" else "{:.1f}" if key == "seconds" else "{:.3f}"
            lines.append(f"| {key} | {fmt.format(value)} | {fmt.format(reference[key])} |")
        return "\n".join(lines)


def realism_stats(takes: Sequence[np.ndarray], fps: float) -> RealismStats:
    """:class:`RealismStats` of position arrays ``(t, 9, 3)`` at ``fps``."""
    if not takes:
        raise InputError(None, "no takes to measure realism on")
    energies = np.array([high_frequency_energy(p, fps) for p in takes])  # (n, 2)
    speeds = np.concatenate([wrist_speed(p, fps).reshape(-1) for p in takes])
    heights = np.concatenate([_wrist_heights(p) for p in takes])  # (n_frames, 2)
    accelerations = [
        np.linalg.norm(np.diff(p[:, [RIGHT_WRIST, LEFT_WRIST]], n=2, axis=0), axis=-1) * fps**2
        for p in takes
        if len(p) >= 3
    ]
    return RealismStats(
        takes=len(takes),
        seconds=float(sum(len(p) for p in takes) / fps),
        power_above_3hz=float(energies[:, 0].sum() / max(energies[:, 1].sum(), 1e-12)),
        stillness=float(np.mean(speeds < STILL_SPEED)),
        median_wrist_height=float(np.median(heights)),
        wrist_above_spine2=float(np.mean(heights.max(axis=1) > 0.0)),
        peak_wrist_speed=float(speeds.max()),
        peak_wrist_acceleration=float(max((a.max() for a in accelerations), default=0.0)),
    )


def _wrist_heights(positions: np.ndarray) -> np.ndarray:
    """Wrist heights ``(t, 2)`` relative to Spine2 (m): world Y, as the body frame's Y."""
    positions = np.asarray(positions, dtype=np.float64)
    return positions[:, [RIGHT_WRIST, LEFT_WRIST], 1] - positions[:, SPINE2 : SPINE2 + 1, 1]


def real_scale(reference: Sequence[np.ndarray], fps: float) -> tuple[dict[str, float], str]:
    """Per-feature distance of the real takes to each other: the mean over pairs of takes, or
    for one take the distance between its first and second half; and how it was made."""
    if len(reference) == 1:
        take = reference[0]
        middle = len(take) // 2
        if middle < 8:
            raise InputError(None, "the reference take is too short to split into halves")
        halves = [feature_histograms([part], fps) for part in (take[:middle], take[middle:])]
        return histogram_distances(*halves), "halves of 1 take"
    histograms = [feature_histograms([take], fps) for take in reference]
    pairs = [histogram_distances(a, b) for a, b in combinations(histograms, 2)]
    scale = {name: float(np.mean([pair[name] for pair in pairs])) for name in FEATURES}
    return scale, f"mean of {len(pairs)} pairs"


def score_realism(motions: Sequence[Motion], reference: Sequence[Motion]) -> RealismReport:
    """Score ``motions`` against real ``reference`` takes (each resampled to ``COMMON_FPS``)."""
    if not motions:
        raise InputError(None, "no motions to score")
    if not reference:
        raise InputError(None, "no reference takes to score against")
    system = [common_rate(m) for m in motions]
    real = [common_rate(m) for m in reference]
    distances = histogram_distances(
        feature_histograms(system, COMMON_FPS), feature_histograms(real, COMMON_FPS)
    )
    scale, method = real_scale(real, COMMON_FPS)
    return RealismReport(
        distances=distances,
        scale=scale,
        scale_method=method,
        system=realism_stats(system, COMMON_FPS),
        reference=realism_stats(real, COMMON_FPS),
    )


def load_motions(folder: str | Path, fps: float | None = None) -> list[Motion]:
    """Every ``*.npy`` take in ``folder`` (sorted by name); fps from ``fps``, ``NAME.json``
    or ``NAME.wav`` (see :func:`llavataros.motion.take.load_take`)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(folder, "not a folder of takes")
    paths = motion_paths(folder)
    if not paths:
        raise InputError(folder, "no .npy takes in this folder")
    return [load_take(path, fps=fps) for path in paths]
