"""Savitzky-Golay smoothing of generated motion (LLAniMAtion, arXiv 2405.08042: the generated
gestures are smoothed with a Savitzky-Golay filter before output).

The filter runs along time on the root position ``(t, 3)`` and on the global quaternions
``(t, j, 4)`` after their signs are made continuous (a sign flip would otherwise be smeared
into a spike); the filtered quaternions are renormalised, so rotations stay unit and
continuous. The other joint positions are then recomputed by forward kinematics with the
motion's skeleton, so bone lengths stay exactly constant (SPEC section 2).

:class:`SpeedLimit` adds smoothing only where the wrists move faster than people do (issue 15:
real speakers' wrists stay under 1.9 m/s), or than the speakers a model was trained on did
(:meth:`SpeedLimit.of_corpus`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from llavataros.errors import InputError
from llavataros.motion import rotations
from llavataros.motion.kinematics import forward_kinematics, wrist_speed
from llavataros.motion.skeleton import Skeleton
from llavataros.motion.take import Motion

EXACT = 1e-6  # spans closer than this to a whole number of frames are on it
# SpeedLimit.of_corpus: the limit starts above 99 % of the corpus's frames, is full above 99.9 %
SLOW_QUANTILE, FAST_QUANTILE = 0.99, 0.999
MINIMUM_RAMP = 0.05  # m/s between the two, however the corpus's speeds bunch


def smoothing_window(seconds: float, fps: float) -> int:
    """The odd number of frames at ``fps`` whose span is nearest ``seconds`` (1: no smoothing,
    as for spans under two frames, where no window of at least 3 fits)."""
    return 2 * int(round(seconds * fps / 2 + EXACT)) + 1


def effective_window(num_frames: int, window: int, order: int) -> int | None:
    """The window to use for ``num_frames`` frames: ``window``, or for short sequences the
    largest odd length ``<= num_frames``; ``None`` when no odd length ``> order`` fits."""
    if num_frames >= window:
        return window
    shrunk = num_frames if num_frames % 2 == 1 else num_frames - 1
    return shrunk if shrunk > order else None


def smooth(motion: Motion, window: int = 9, order: int = 2) -> Motion:
    """Savitzky-Golay smoothed copy of ``motion`` (``window`` frames, odd; polynomial
    ``order`` < ``window``). Sequences too short for any window are returned unchanged."""
    check_filter(window, order)
    if effective_window(motion.num_frames, window, order) is None:
        return motion
    root, quats = smooth_root_and_rotations(motion.positions[:, 0], motion.rotations, window, order)
    return Motion.from_root_and_rotations(root, quats, motion.fps, motion.skeleton)


def check_filter(window: int, order: int) -> None:
    if window < 1 or window % 2 == 0:
        raise InputError(None, f"smoothing window must be a positive odd number, got {window}")
    if order < 0 or order >= window:
        raise InputError(None, f"smoothing order must be in [0, window), got {order}")


def smooth_root_and_rotations(
    root: np.ndarray, quats: np.ndarray, window: int = 9, order: int = 2, edges: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """The filter of :func:`smooth` on root positions ``(t, 3)`` and global quaternions
    ``(t, j, 4)``, without forward kinematics (callers that keep only some frames run it on
    those). ``edges=False`` skips the polynomial fit of the first and last ``window // 2``
    frames, for callers that discard them: the other frames are the same."""
    from scipy.signal import savgol_filter  # here: scipy.signal takes ~1 s to import

    length = effective_window(len(root), window, order)
    if length is None:
        return root, quats
    mode = "interp" if edges else "nearest"

    def filtered(values: np.ndarray) -> np.ndarray:
        return savgol_filter(values, length, order, axis=0, mode=mode)

    quats = rotations.make_continuous(rotations.normalize(quats))
    return filtered(root), rotations.normalize(filtered(quats))


@dataclass(frozen=True)
class SpeedLimit:
    """More smoothing where the smoothed wrists move fast.

    Where the faster wrist goes from ``slow`` to ``fast`` m/s, the motion blends from the
    ordinary smoothing to a Savitzky-Golay window of ``wide_seconds``; the blend weight is
    widened by ``radius_seconds`` on each side, then eased with a Hann window of the same
    radius, so it rises before a fast movement and falls after it. Elsewhere the motion is
    untouched. Measured on the shipped diffusion model (benchmarks/speed_limit.py): peak wrist
    speed on held-out real speech 2.6-2.9 -> 2.0-2.2 m/s over five seeds, held-out synthetic
    takes' semantic recall unchanged.
    """

    wide_seconds: float = 0.8
    slow: float = 1.6  # m/s
    fast: float = 2.2
    radius_seconds: float = 0.25

    def __post_init__(self):
        if not (0.0 < self.slow < self.fast and np.isfinite(self.fast)):
            raise InputError(
                None, f"speed limit needs 0 < slow < fast m/s, got {self.slow!r}, {self.fast!r}"
            )

    @classmethod
    def over(cls, seconds: float, like: SpeedLimit | None = None) -> SpeedLimit | None:
        """``--speed-limit SECONDS``: a limit smoothing over ``seconds`` at the speeds of
        ``like`` (default: people's); 0: none."""
        if not seconds >= 0:  # NaN too
            raise InputError(None, f"--speed-limit must be >= 0 seconds, got {seconds}")
        return replace(like or cls(), wide_seconds=seconds) if seconds > 0 else None

    @classmethod
    def of_corpus(
        cls,
        motions: Sequence[Motion],
        slow_quantile: float = SLOW_QUANTILE,
        fast_quantile: float = FAST_QUANTILE,
    ) -> SpeedLimit:
        """A limit at the training corpus's own wrist speeds: it starts where the faster wrist
        of ``motions`` moves faster than in ``slow_quantile`` of their frames and is full at
        ``fast_quantile`` (speeds as :meth:`apply` measures them). A model then moves its
        wrists no faster than the speakers it learnt from did."""
        speeds = [wrist_speed(m.positions, m.fps).max(axis=1) for m in motions if m.num_frames > 1]
        if not speeds:
            raise InputError(None, "no motion to measure wrist speeds on")
        slow, fast = np.quantile(np.concatenate(speeds), [slow_quantile, fast_quantile])
        return cls(slow=float(slow), fast=float(max(fast, slow + MINIMUM_RAMP)))

    @classmethod
    def from_dict(cls, data: dict) -> SpeedLimit:
        """From its fields as model.json stores them (``dataclasses.asdict``)."""
        if not isinstance(data, dict):
            raise InputError(None, f"a speed limit is a mapping, got {data!r}")
        return cls(**{key: float(value) for key, value in data.items()})

    def wide_window(self, fps: float) -> int:
        return smoothing_window(self.wide_seconds, fps)

    def radius(self, fps: float) -> int:
        return max(1, int(round(self.radius_seconds * fps)))

    def reach(self, fps: float, window: int) -> int:
        """Frames on each side an output frame reads: the wide window's half, or the weight's
        (widening and easing, the speed's central difference, the ordinary window's half)."""
        return max(self.wide_window(fps) // 2, 2 * self.radius(fps) + 1 + window // 2)

    def apply(
        self,
        root: np.ndarray,
        quats: np.ndarray,
        fps: float,
        skeleton: Skeleton,
        window: int,
        order: int = 2,
        edges: bool = True,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Root positions ``(t, 3)`` and global quaternions ``(t, j, 4)`` smoothed with
        ``window`` frames, and more where the wrists move fast. ``edges`` as in
        :func:`smooth_root_and_rotations` (False: the first and last :meth:`reach` frames are
        not valid)."""
        from scipy.ndimage import maximum_filter1d  # here, as scipy.signal below

        wide = self.wide_window(fps)
        root_n, quats_n = smooth_root_and_rotations(root, quats, window, order, edges)
        root_w, quats_w = smooth_root_and_rotations(root, quats, wide, order, edges)
        positions = forward_kinematics(root_n, quats_n, skeleton)
        speed = wrist_speed(positions, fps).max(axis=1)
        excess = np.clip((speed - self.slow) / (self.fast - self.slow), 0.0, 1.0)
        radius = self.radius(fps)
        ease = np.hanning(2 * radius + 3)[1:-1]
        weight = np.convolve(maximum_filter1d(excess, 2 * radius + 1), ease / ease.sum(), "same")
        weight = weight[:, None]
        quats_w = np.where((quats_n * quats_w).sum(-1, keepdims=True) < 0, -quats_w, quats_w)
        blended = (1 - weight[..., None]) * quats_n + weight[..., None] * quats_w
        return (1 - weight) * root_n + weight * root_w, rotations.normalize(blended)
