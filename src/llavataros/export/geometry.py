"""Small mesh builders for the procedural avatar: swept surfaces, normals, smooth masks.

A swept surface is a closed 2D ring shape placed along a polyline of centres, scaled per ring;
a ring of scale zero at either end becomes a single pole vertex, so every surface is closed
(no degenerate triangles) and its triangles wind outward.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Part:
    """One closed surface: vertices ``(n, 3)``, triangles ``(m, 3)`` and a ``tag`` naming the
    region (morph targets and materials select parts by tag)."""

    tag: str
    vertices: np.ndarray
    triangles: np.ndarray


def circle(segments: int) -> np.ndarray:
    """``(segments, 2)`` unit circle, counter-clockwise."""
    angle = np.linspace(0.0, 2.0 * np.pi, segments, endpoint=False)
    return np.stack([np.cos(angle), np.sin(angle)], axis=-1)


def sweep(
    tag: str,
    centres: np.ndarray,
    axis_a: np.ndarray,
    axis_b: np.ndarray,
    scales: np.ndarray,
    shape: np.ndarray,
) -> Part:
    """Place ``shape (s, 2)`` at each of ``centres (r, 3)`` in the plane of ``axis_a`` and
    ``axis_b`` (``(3,)`` or ``(r, 3)``), scaled by ``scales (r, 2)``. Rings of scale 0 at the
    ends are poles."""
    centres = np.asarray(centres, dtype=np.float64)
    scales = np.asarray(scales, dtype=np.float64)
    axis_a = np.broadcast_to(np.asarray(axis_a, dtype=np.float64), centres.shape)
    axis_b = np.broadcast_to(np.asarray(axis_b, dtype=np.float64), centres.shape)
    segments = len(shape)
    vertices: list[np.ndarray] = []
    rings: list[np.ndarray | int] = []  # per ring: vertex indices (s,) or a pole index
    count = 0
    for k, centre in enumerate(centres):
        if np.all(scales[k] == 0.0):
            vertices.append(centre[None])
            rings.append(count)
            count += 1
            continue
        ring = (
            centre
            + shape[:, :1] * scales[k, 0] * axis_a[k]
            + shape[:, 1:] * scales[k, 1] * axis_b[k]
        )
        vertices.append(ring)
        rings.append(np.arange(count, count + segments))
        count += segments
    triangles: list[list[int]] = []
    for lower, upper in zip(rings[:-1], rings[1:], strict=True):
        for i in range(segments):
            j = (i + 1) % segments
            if isinstance(lower, int) and isinstance(upper, int):
                continue
            if isinstance(lower, int):
                triangles.append([lower, upper[j], upper[i]])
            elif isinstance(upper, int):
                triangles.append([lower[i], lower[j], upper])
            else:
                triangles.append([lower[i], lower[j], upper[j]])
                triangles.append([lower[i], upper[j], upper[i]])
    part = Part(tag, np.concatenate(vertices), np.asarray(triangles, dtype=np.int64))
    return orient_outward(part)


def orient_outward(part: Part) -> Part:
    """Flip all triangles if the closed surface's signed volume is negative."""
    a, b, c = (part.vertices[part.triangles[:, k]] for k in range(3))
    volume = np.sum(np.einsum("ij,ij->i", a, np.cross(b, c)))
    if volume < 0:
        return Part(part.tag, part.vertices, part.triangles[:, ::-1].copy())
    return part


def ellipsoid(tag: str, centre, radii, rings: int = 12, segments: int = 16, axis: int = 1) -> Part:
    """An ellipsoid with semi-axes ``radii (3,)``, poles along world ``axis`` (0, 1 or 2)."""
    centre = np.asarray(centre, dtype=np.float64)
    radii = np.asarray(radii, dtype=np.float64)
    others = [k for k in range(3) if k != axis]
    polar = np.linspace(np.pi, 0.0, rings + 1)  # bottom pole to top pole
    unit = np.eye(3)
    centres = centre + np.cos(polar)[:, None] * radii[axis] * unit[axis]
    scales = np.sin(polar)[:, None] * radii[others]
    scales[[0, -1]] = 0.0
    return sweep(tag, centres, unit[others[0]], unit[others[1]], scales, circle(segments))


def capsule(
    tag: str,
    length: float,
    radius_start: float,
    radius_end: float,
    rings: int = 6,
    segments: int = 14,
    body_rings: int = 6,
) -> Part:
    """A tapered capsule along local +Y from 0 to ``length`` with hemispherical caps."""
    cap = np.linspace(0.0, 0.5 * np.pi, rings + 1)
    start_y = -radius_start * np.cos(cap)
    start_r = radius_start * np.sin(cap)
    body = np.linspace(0.0, 1.0, body_rings + 1)[1:-1]
    end_y = length + radius_end * np.sin(cap)
    end_r = radius_end * np.cos(cap)
    heights = np.concatenate([start_y, body * length, end_y])
    radii = np.concatenate([start_r, radius_start + body * (radius_end - radius_start), end_r])
    radii[[0, -1]] = 0.0
    centres = np.stack([np.zeros_like(heights), heights, np.zeros_like(heights)], -1)
    scales = np.stack([radii, radii], -1)
    return sweep(tag, centres, [1.0, 0, 0], [0, 0, 1.0], scales, circle(segments))


def vertex_normals(vertices: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """Area-weighted unit vertex normals ``(n, 3)``."""
    a, b, c = (vertices[triangles[:, k]] for k in range(3))
    face = np.cross(b - a, c - a)
    normals = np.zeros_like(vertices)
    for k in range(3):
        np.add.at(normals, triangles[:, k], face)
    length = np.linalg.norm(normals, axis=-1, keepdims=True)
    return np.where(length > 1e-12, normals / np.maximum(length, 1e-12), [0.0, 1.0, 0.0])


def smoothstep(edge0: float, edge1: float, x: np.ndarray) -> np.ndarray:
    """Hermite step from 0 at ``edge0`` to 1 at ``edge1`` (either order)."""
    t = np.clip((np.asarray(x, dtype=np.float64) - edge0) / (edge1 - edge0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def bump(points: np.ndarray, centre, radii) -> np.ndarray:
    """Smooth ``(n,)`` mask: 1 at ``centre``, 0 outside the ellipsoid of semi-axes ``radii``."""
    d2 = np.sum(((points - np.asarray(centre)) / np.asarray(radii)) ** 2, axis=-1)
    return (1.0 - np.clip(d2, 0.0, 1.0)) ** 2


def rotation_displacement(points: np.ndarray, pivot, axis, angle: float) -> np.ndarray:
    """Displacement ``(n, 3)`` that rotates ``points`` by ``angle`` radians about ``axis``
    through ``pivot`` (Rodrigues)."""
    axis = np.asarray(axis, dtype=np.float64) / np.linalg.norm(axis)
    v = points - np.asarray(pivot)
    cos, sin = np.cos(angle), np.sin(angle)
    rotated = v * cos + np.cross(axis, v) * sin + np.outer(v @ axis, axis) * (1.0 - cos)
    return rotated - v
