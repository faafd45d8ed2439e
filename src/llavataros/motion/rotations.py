"""Rotation conversions in NumPy: quaternions (scalar-last ``[x, y, z, w]``), 3x3 matrices
and the continuous 6D representation of Zhou et al. (the first two matrix columns).

All functions broadcast over leading axes.
"""

from __future__ import annotations

import numpy as np

IDENTITY = np.array([0.0, 0.0, 0.0, 1.0])


def normalize(q: np.ndarray) -> np.ndarray:
    """Unit quaternions ``(..., 4)``; zero-length inputs become the identity."""
    q = np.asarray(q, dtype=np.float64)
    norm = np.linalg.norm(q, axis=-1, keepdims=True)
    safe = np.where(norm > 1e-12, q / np.maximum(norm, 1e-12), IDENTITY)
    return safe


def multiply(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamilton product ``a * b`` (apply ``b`` first, then ``a``)."""
    ax, ay, az, aw = np.moveaxis(np.asarray(a, dtype=np.float64), -1, 0)
    bx, by, bz, bw = np.moveaxis(np.asarray(b, dtype=np.float64), -1, 0)
    return np.stack(
        [
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
            aw * bw - ax * bx - ay * by - az * bz,
        ],
        axis=-1,
    )


def conjugate(q: np.ndarray) -> np.ndarray:
    """Inverse of a unit quaternion."""
    q = np.asarray(q, dtype=np.float64)
    return np.concatenate([-q[..., :3], q[..., 3:]], axis=-1)


def rotate(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotate vectors ``v (..., 3)`` by unit quaternions ``q (..., 4)``."""
    q = np.asarray(q, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    xyz, w = q[..., :3], q[..., 3:]
    t = 2.0 * np.cross(xyz, v)
    return v + w * t + np.cross(xyz, t)


def to_matrix(q: np.ndarray) -> np.ndarray:
    """``(..., 4)`` unit quaternions to ``(..., 3, 3)`` rotation matrices."""
    x, y, z, w = np.moveaxis(normalize(q), -1, 0)
    return np.stack(
        [
            np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)], -1),
            np.stack([2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)], -1),
            np.stack([2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], -1),
        ],
        axis=-2,
    )


def from_matrix(m: np.ndarray) -> np.ndarray:
    """``(..., 3, 3)`` rotation matrices to ``(..., 4)`` unit quaternions (w >= 0)."""
    m = np.asarray(m, dtype=np.float64)
    m00, m11, m22 = m[..., 0, 0], m[..., 1, 1], m[..., 2, 2]
    # Four candidate solutions; take the numerically largest one per element.
    candidates = np.stack(
        [
            np.stack(
                [
                    1 + m00 - m11 - m22,
                    m[..., 0, 1] + m[..., 1, 0],
                    m[..., 0, 2] + m[..., 2, 0],
                    m[..., 2, 1] - m[..., 1, 2],
                ],
                -1,
            ),
            np.stack(
                [
                    m[..., 0, 1] + m[..., 1, 0],
                    1 - m00 + m11 - m22,
                    m[..., 1, 2] + m[..., 2, 1],
                    m[..., 0, 2] - m[..., 2, 0],
                ],
                -1,
            ),
            np.stack(
                [
                    m[..., 0, 2] + m[..., 2, 0],
                    m[..., 1, 2] + m[..., 2, 1],
                    1 - m00 - m11 + m22,
                    m[..., 1, 0] - m[..., 0, 1],
                ],
                -1,
            ),
            np.stack(
                [
                    m[..., 2, 1] - m[..., 1, 2],
                    m[..., 0, 2] - m[..., 2, 0],
                    m[..., 1, 0] - m[..., 0, 1],
                    1 + m00 + m11 + m22,
                ],
                -1,
            ),
        ],
        axis=-2,
    )  # (..., 4 candidates, 4)
    best = np.argmax(
        np.stack([m00 - m11 - m22, m11 - m00 - m22, m22 - m00 - m11, m00 + m11 + m22], -1), axis=-1
    )
    q = np.take_along_axis(candidates, best[..., None, None], axis=-2)[..., 0, :]
    q = normalize(q)
    return np.where(q[..., 3:] < 0, -q, q)


def matrix_to_sixd(m: np.ndarray) -> np.ndarray:
    """``(..., 3, 3)`` to ``(..., 6)``: first column then second column."""
    m = np.asarray(m)
    return np.concatenate([m[..., :, 0], m[..., :, 1]], axis=-1)


def sixd_to_matrix(d: np.ndarray) -> np.ndarray:
    """``(..., 6)`` to ``(..., 3, 3)`` by Gram-Schmidt (Zhou et al. 2019)."""
    d = np.asarray(d, dtype=np.float64)
    a, b = d[..., :3], d[..., 3:]
    c0 = a / np.maximum(np.linalg.norm(a, axis=-1, keepdims=True), 1e-12)
    b = b - np.sum(c0 * b, axis=-1, keepdims=True) * c0
    c1 = b / np.maximum(np.linalg.norm(b, axis=-1, keepdims=True), 1e-12)
    c2 = np.cross(c0, c1)
    return np.stack([c0, c1, c2], axis=-1)


def quat_to_sixd(q: np.ndarray) -> np.ndarray:
    return matrix_to_sixd(to_matrix(q))


def sixd_to_quat(d: np.ndarray) -> np.ndarray:
    return from_matrix(sixd_to_matrix(d))


def from_axis_angle(axis: np.ndarray, angle: np.ndarray | float) -> np.ndarray:
    """Quaternion rotating by ``angle`` radians about ``axis (..., 3)``."""
    axis = np.asarray(axis, dtype=np.float64)
    axis = axis / np.maximum(np.linalg.norm(axis, axis=-1, keepdims=True), 1e-12)
    half = 0.5 * np.asarray(angle, dtype=np.float64)[..., None]
    xyz = axis * np.sin(half)  # broadcasts axis and angle leading shapes
    return np.concatenate([xyz, np.broadcast_to(np.cos(half), xyz.shape[:-1] + (1,))], axis=-1)


def between(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Shortest-arc quaternion rotating direction ``u`` onto direction ``v`` (both ``(..., 3)``)."""
    u = np.asarray(u, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    u = u / np.maximum(np.linalg.norm(u, axis=-1, keepdims=True), 1e-12)
    v = v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)
    w = 1.0 + np.sum(u * v, axis=-1, keepdims=True)
    xyz = np.cross(u, v)
    # Opposite vectors: rotate 180 degrees about any axis orthogonal to u.
    opposite = w[..., 0] < 1e-9
    if np.any(opposite):
        helper = np.where(np.abs(u[..., :1]) < 0.9, [1.0, 0.0, 0.0], [0.0, 1.0, 0.0])
        ortho = np.cross(u, helper)
        xyz = np.where(opposite[..., None], ortho, xyz)
        w = np.where(opposite[..., None], 0.0, w)
    return normalize(np.concatenate([xyz, w], axis=-1))


def make_continuous(q: np.ndarray, axis: int = 0) -> np.ndarray:
    """Flip signs along ``axis`` (time) so consecutive quaternions have a non-negative dot."""
    q = np.moveaxis(np.asarray(q, dtype=np.float64), axis, 0).copy()
    if len(q) > 1:
        dots = np.sum(q[1:] * q[:-1], axis=-1)
        flips = np.cumsum(dots < 0, axis=0) % 2  # parity of sign changes so far
        q[1:] *= np.where(flips[..., None] == 1, -1.0, 1.0)
    return np.moveaxis(q, 0, axis)


def slerp(q0: np.ndarray, q1: np.ndarray, t: np.ndarray | float) -> np.ndarray:
    """Spherical interpolation between unit quaternions (shortest path), ``t`` in [0, 1]."""
    q0 = normalize(q0)
    q1 = normalize(q1)
    t = np.asarray(t, dtype=np.float64)[..., None]
    dot = np.sum(q0 * q1, axis=-1, keepdims=True)
    q1 = np.where(dot < 0, -q1, q1)
    dot = np.clip(np.abs(dot), -1.0, 1.0)
    theta = np.arccos(dot)
    sin_theta = np.sin(theta)
    small = sin_theta < 1e-6
    w0 = np.where(small, 1.0 - t, np.sin((1.0 - t) * theta) / np.where(small, 1.0, sin_theta))
    w1 = np.where(small, t, np.sin(t * theta) / np.where(small, 1.0, sin_theta))
    return normalize(w0 * q0 + w1 * q1)
