"""Face takes: validation and ``NAME.face.npy`` files.

A face take is a ``(T, 52)`` float32 array of ARKit weights in [0, 1] (columns in
:data:`~llavataros.face.arkit.ARKIT_NAMES` order) at the body's frame rate. Files hold exactly
that array (``np.save``, no pickle); the frame rate travels with the body take.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from llavataros.errors import InputError
from llavataros.face.arkit import NUM_BLENDSHAPES

FACE_SUFFIX = ".face.npy"
TOLERANCE = 1e-4  # values this far outside [0, 1] are clipped (float round-off), beyond: error


def check_face(weights: np.ndarray, source: str | Path | None = None) -> np.ndarray:
    """Validate ``(T, 52)`` finite weights in [0, 1] (round-off within 1e-4 is clipped) and
    return them as float32. Raises :class:`InputError` naming ``source`` and the problem."""
    weights = np.asarray(weights)
    if weights.ndim != 2 or weights.shape[1] != NUM_BLENDSHAPES:
        raise InputError(
            source, f"face weights must be (T, {NUM_BLENDSHAPES}), got shape {weights.shape}"
        )
    if not np.issubdtype(weights.dtype, np.number) or np.issubdtype(
        weights.dtype, np.complexfloating
    ):
        raise InputError(source, f"face weights must be real numbers, got dtype {weights.dtype}")
    weights = weights.astype(np.float32)
    if not np.all(np.isfinite(weights)):
        frame = int(np.argwhere(~np.isfinite(weights))[0, 0])
        raise InputError(source, f"face weights contain NaN or infinite values (frame {frame})")
    if weights.size and (weights.min() < -TOLERANCE or weights.max() > 1 + TOLERANCE):
        raise InputError(
            source,
            f"face weights must lie in [0, 1], got range [{weights.min():.4g}, "
            f"{weights.max():.4g}]",
        )
    return np.clip(weights, 0.0, 1.0)


def face_path(base: str | Path) -> Path:
    """``NAME.face.npy`` beside ``NAME`` (any suffix of ``base`` is replaced)."""
    base = Path(base)
    name = base.name[: -len(FACE_SUFFIX)] if base.name.endswith(FACE_SUFFIX) else base.stem
    return base.with_name(name + FACE_SUFFIX)


def save_face(path: str | Path, weights: np.ndarray) -> Path:
    """Validate and write ``weights`` to ``path`` (``.npy``); returns the path written."""
    path = Path(path)
    weights = check_face(weights, path)
    with open(path, "wb") as handle:
        np.save(handle, weights, allow_pickle=False)
    return path


def load_face(path: str | Path) -> np.ndarray:
    """Read and validate a face take ``(T, 52)`` float32."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "face file not found")
    try:
        weights = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise InputError(path, f"not a readable .npy array ({error})") from None
    return check_face(weights, path)
