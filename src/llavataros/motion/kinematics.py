"""Forward kinematics and skeleton estimation (SPEC section 1)."""

from __future__ import annotations

import numpy as np

from llavataros.motion import rotations
from llavataros.motion.skeleton import LEFT_WRIST, PARENTS, RIGHT_WRIST, Skeleton


def forward_kinematics(
    root_positions: np.ndarray, global_rotations: np.ndarray, skeleton: Skeleton
) -> np.ndarray:
    """Joint positions ``(t, j, 3)`` from root positions ``(t, 3)`` and global quaternions
    ``(t, j, 4)``: ``pos[child] = pos[parent] + rotate(q[parent], offset[child])``."""
    root_positions = np.asarray(root_positions, dtype=np.float64)
    global_rotations = np.asarray(global_rotations, dtype=np.float64)
    positions = np.empty(global_rotations.shape[:-1] + (3,))
    positions[..., 0, :] = root_positions
    for joint, parent in enumerate(skeleton.parents):
        if parent < 0:
            continue
        offset = skeleton.offsets[joint]
        positions[..., joint, :] = positions[..., parent, :] + rotations.rotate(
            global_rotations[..., parent, :], offset
        )
    return positions


def wrist_speed(positions: np.ndarray, fps: float) -> np.ndarray:
    """Speed ``(t, 2)`` in m/s of the right and left wrist of positions ``(t, j, 3)`` (central
    differences)."""
    wrists = np.asarray(positions, dtype=np.float64)[:, [RIGHT_WRIST, LEFT_WRIST]]
    if len(wrists) < 2:
        return np.zeros((len(wrists), 2))
    return np.linalg.norm(np.gradient(wrists, axis=0), axis=-1) * fps


def estimate_offsets(
    positions: np.ndarray, global_rotations: np.ndarray, parents: tuple[int, ...] = PARENTS
) -> np.ndarray:
    """Constant parent-local offsets ``(j, 3)`` that best explain a take (mean over frames)."""
    offsets = np.zeros((len(parents), 3))
    for joint, parent in enumerate(parents):
        if parent < 0:
            continue
        world = positions[:, joint] - positions[:, parent]
        local = rotations.rotate(rotations.conjugate(global_rotations[:, parent]), world)
        offsets[joint] = local.mean(axis=0)
    return offsets


def bone_lengths(positions: np.ndarray, parents: tuple[int, ...] = PARENTS) -> np.ndarray:
    """Per-frame bone lengths ``(t, j-1)`` measured from joint positions."""
    children = [j for j, p in enumerate(parents) if p >= 0]
    parent_index = [parents[j] for j in children]
    return np.linalg.norm(positions[..., children, :] - positions[..., parent_index, :], axis=-1)
