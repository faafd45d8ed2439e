"""The character's body frame and the body points of the SPEC section 4 gesture table.

The body frame has its origin at Spine2, ``+Y`` world up, ``+X`` the horizontal direction from
the right to the left shoulder and ``+Z = X x Y`` forward (SPEC section 1 axes when the
character faces +Z). Detectors, the corpus generator and realism measures share it.
"""

from __future__ import annotations

import numpy as np

from llavataros.motion.skeleton import LEFT_SHOULDER, RIGHT_SHOULDER, SPINE2

# Points of the SPEC section 4 table, body frame relative to Spine2 (x, y, z) in metres.
CHEST_POINT = np.array([0.0, 0.0, 0.12])
MOUTH_POINT = np.array([0.0, 0.33, 0.14])
RIGHT_TEMPLE = np.array([-0.12, 0.42, 0.0])
LEFT_TEMPLE = np.array([0.12, 0.42, 0.0])


def body_frame(positions: np.ndarray) -> np.ndarray:
    """Body axes ``(t, 3, 3)`` in world coordinates, one axis per column (x, y, z).

    ``positions (t, j, 3)``. ``x`` is the horizontal right-to-left shoulder direction, ``y``
    world up, ``z = x cross y`` the facing direction."""
    positions = np.asarray(positions, dtype=np.float64)
    across = positions[:, LEFT_SHOULDER] - positions[:, RIGHT_SHOULDER]  # (t, 3)
    across = across * np.array([1.0, 0.0, 1.0])
    norm = np.linalg.norm(across, axis=-1, keepdims=True)
    x = np.where(norm > 1e-9, across / np.maximum(norm, 1e-9), np.array([1.0, 0.0, 0.0]))
    y = np.broadcast_to(np.array([0.0, 1.0, 0.0]), x.shape)
    z = np.cross(x, y)
    return np.stack([x, y, z], axis=-1)


def to_body(positions: np.ndarray) -> np.ndarray:
    """Joint positions ``(t, j, 3)`` in the body frame: relative to Spine2, body axes."""
    positions = np.asarray(positions, dtype=np.float64)
    axes = body_frame(positions)  # (t, 3, 3)
    relative = positions - positions[:, SPINE2 : SPINE2 + 1]  # (t, j, 3)
    return np.einsum("tji,tik->tjk", relative, axes)
