"""Savitzky-Golay smoothing of generated motion (LLAniMAtion, arXiv 2405.08042: the generated
gestures are smoothed with a Savitzky-Golay filter before output).

The filter runs along time on the root position ``(t, 3)`` and on the global quaternions
``(t, j, 4)`` after their signs are made continuous (a sign flip would otherwise be smeared
into a spike); the filtered quaternions are renormalised, so rotations stay unit and
continuous. The other joint positions are then recomputed by forward kinematics with the
motion's skeleton, so bone lengths stay exactly constant (SPEC section 2).
"""

from __future__ import annotations

import numpy as np

from llavataros.errors import InputError
from llavataros.motion import rotations
from llavataros.motion.take import Motion


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
