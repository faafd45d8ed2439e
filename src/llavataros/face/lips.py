"""How open the lips are, from ARKit weights: shared by the face metrics and the lip-closure
loss. Aperture per frame is ``max(jawOpen - mouthClose, 0) + 0.5 * mean(mouthLowerDown L, R)
+ 0.5 * mean(mouthUpperUp L, R)`` (ARKit's mouthClose closes the lips over an open jaw; the lip
raisers/lowerers part them with the jaw shut); the lips count as closed at or below
``CLOSURE_THRESHOLD``."""

from __future__ import annotations

import numpy as np

from llavataros.face.arkit import index

JAW_OPEN = index("jawOpen")
MOUTH_CLOSE = index("mouthClose")
LOWER_DOWN = (index("mouthLowerDownLeft"), index("mouthLowerDownRight"))
UPPER_UP = (index("mouthUpperUpLeft"), index("mouthUpperUpRight"))
CLOSURE_THRESHOLD = 0.1


def lip_aperture(weights: np.ndarray) -> np.ndarray:
    """``(T,)`` lip opening (see the module docstring)."""
    weights = np.asarray(weights, dtype=np.float64)
    return (
        np.maximum(weights[:, JAW_OPEN] - weights[:, MOUTH_CLOSE], 0.0)
        + 0.5 * weights[:, list(LOWER_DOWN)].mean(axis=1)
        + 0.5 * weights[:, list(UPPER_UP)].mean(axis=1)
    )
