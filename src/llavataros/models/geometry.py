"""Rotation conversions and forward kinematics in torch, and model output -> :class:`Motion`.

Conventions match ``llavataros.motion.rotations`` (NumPy): quaternions are scalar-last
``[x, y, z, w]``; the continuous 6D representation (Zhou et al. 2019) is the first matrix
column followed by the second; joint rotations are **global** (SPEC section 1), so forward
kinematics is ``pos[child] = pos[parent] + R[parent] @ offset[child]``.

The model predicts the root position normalised by :class:`RootStatistics` (metres) and a 6D
global rotation per joint (LLAniMAtion, arXiv 2405.08042, section 3.2). :func:`output_to_motion`
turns that into a kinematically consistent motion: positions come from forward kinematics on
the skeleton's constant offsets, so bone lengths are exactly constant.

Axes: ``t`` frames, ``j`` joints; ``...`` any leading axes (batch, frames).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from llavataros.motion import rotations
from llavataros.motion.skeleton import PARENTS, Skeleton
from llavataros.motion.take import Motion

ROOT_STD_FLOOR = 1e-3  # metres: a root that barely moves is not blown up by normalisation


def sixd_to_matrix(sixd: torch.Tensor) -> torch.Tensor:
    """``(..., 6)`` to ``(..., 3, 3)`` rotation matrices by Gram-Schmidt."""
    first, second = sixd[..., :3], sixd[..., 3:]
    column0 = torch.nn.functional.normalize(first, dim=-1, eps=1e-8)
    second = second - (column0 * second).sum(-1, keepdim=True) * column0
    column1 = torch.nn.functional.normalize(second, dim=-1, eps=1e-8)
    column2 = torch.linalg.cross(column0, column1, dim=-1)
    return torch.stack([column0, column1, column2], dim=-1)


def matrix_to_sixd(matrix: torch.Tensor) -> torch.Tensor:
    """``(..., 3, 3)`` to ``(..., 6)``: first column, then second column."""
    return torch.cat([matrix[..., :, 0], matrix[..., :, 1]], dim=-1)


def quaternion_to_matrix(quaternion: torch.Tensor) -> torch.Tensor:
    """``(..., 4)`` quaternions ``[x, y, z, w]`` (normalised here) to ``(..., 3, 3)``."""
    x, y, z, w = torch.nn.functional.normalize(quaternion, dim=-1, eps=1e-12).unbind(-1)
    rows = [
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ]
    return torch.stack([torch.stack(row, dim=-1) for row in rows], dim=-2)


def matrix_to_quaternion(matrix: torch.Tensor) -> torch.Tensor:
    """``(..., 3, 3)`` rotation matrices to unit quaternions ``(..., 4)`` ``[x, y, z, w]`` with
    ``w >= 0``. Numerically stable: of the four algebraically equal solutions, each element
    uses the one whose pivot component is largest (no square root of a tiny number)."""
    m = matrix
    m00, m11, m22 = m[..., 0, 0], m[..., 1, 1], m[..., 2, 2]
    m01, m02, m10, m12, m20, m21 = (
        m[..., 0, 1],
        m[..., 0, 2],
        m[..., 1, 0],
        m[..., 1, 2],
        m[..., 2, 0],
        m[..., 2, 1],
    )
    candidates = torch.stack(
        [  # each row is proportional to [x, y, z, w]; its pivot component is 4 * that^2
            torch.stack([1 + m00 - m11 - m22, m01 + m10, m02 + m20, m21 - m12], -1),
            torch.stack([m01 + m10, 1 - m00 + m11 - m22, m12 + m21, m02 - m20], -1),
            torch.stack([m02 + m20, m12 + m21, 1 - m00 - m11 + m22, m10 - m01], -1),
            torch.stack([m21 - m12, m02 - m20, m10 - m01, 1 + m00 + m11 + m22], -1),
        ],
        dim=-2,
    )  # (..., 4 candidates, 4)
    pivots = torch.stack(
        [m00 - m11 - m22, m11 - m00 - m22, m22 - m00 - m11, m00 + m11 + m22], dim=-1
    )
    best = pivots.argmax(dim=-1)  # (...,)
    index = best[..., None, None].expand(*best.shape, 1, 4)
    quaternion = torch.gather(candidates, -2, index).squeeze(-2)
    quaternion = torch.nn.functional.normalize(quaternion, dim=-1, eps=1e-12)
    return torch.where(quaternion[..., 3:] < 0, -quaternion, quaternion)


def forward_kinematics(
    root_positions: torch.Tensor,
    global_matrices: torch.Tensor,
    offsets: torch.Tensor,
    parents: tuple[int, ...] = PARENTS,
) -> torch.Tensor:
    """Joint positions ``(..., j, 3)`` from root positions ``(..., 3)``, global rotation
    matrices ``(..., j, 3, 3)`` and parent-local offsets ``(j, 3)`` (metres).

    Parents must come before their children (true for the AvatarOS skeleton)."""
    offsets = offsets.to(global_matrices)
    positions: list[torch.Tensor] = []
    for joint, parent in enumerate(parents):
        if parent < 0:
            positions.append(root_positions)
            continue
        bone = torch.einsum("...ab,b->...a", global_matrices[..., parent, :, :], offsets[joint])
        positions.append(positions[parent] + bone)
    return torch.stack(positions, dim=-2)


@dataclass(frozen=True)
class RootStatistics:
    """Mean and standard deviation of the root position ``(3,)`` in metres: the model predicts
    ``(root - mean) / std``."""

    mean: tuple[float, float, float]
    std: tuple[float, float, float]

    @classmethod
    def from_root_positions(cls, roots: np.ndarray) -> RootStatistics:
        """Fit to root positions ``(n, 3)`` pooled over the training takes."""
        roots = np.asarray(roots, dtype=np.float64).reshape(-1, 3)
        std = np.maximum(roots.std(axis=0), ROOT_STD_FLOOR)
        return cls(tuple(float(v) for v in roots.mean(axis=0)), tuple(float(v) for v in std))

    def normalise(self, roots: torch.Tensor) -> torch.Tensor:
        mean, std = self._tensors(roots)
        return (roots - mean) / std

    def denormalise(self, roots: torch.Tensor) -> torch.Tensor:
        mean, std = self._tensors(roots)
        return roots * std + mean

    def _tensors(self, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return like.new_tensor(self.mean), like.new_tensor(self.std)

    def to_dict(self) -> dict:
        return {"root_mean": list(self.mean), "root_std": list(self.std)}

    @classmethod
    def from_dict(cls, data: dict) -> RootStatistics:
        return cls(
            tuple(float(v) for v in data["root_mean"]), tuple(float(v) for v in data["root_std"])
        )


def output_to_motion(
    output: torch.Tensor | np.ndarray, stats: RootStatistics, skeleton: Skeleton, fps: float
) -> Motion:
    """One sequence of model output ``(t, 3 + 6 j)`` (or ``(1, t, 3 + 6 j)``) to a
    :class:`Motion`: denormalised root, unit quaternions with continuous signs, and joint
    positions by forward kinematics (bone lengths exactly those of ``skeleton``)."""
    output = torch.as_tensor(output)
    if output.ndim == 3 and output.shape[0] == 1:
        output = output[0]
    expected = 3 + 6 * skeleton.num_joints
    if output.ndim != 2 or output.shape[1] != expected:
        raise ValueError(f"output must be (t, {expected}), got {tuple(output.shape)}")
    root, quaternions = output_to_root_and_rotations(output, stats)
    return Motion.from_root_and_rotations(
        root, rotations.make_continuous(quaternions), fps, skeleton
    )


def output_to_root_and_rotations(
    output: torch.Tensor, stats: RootStatistics
) -> tuple[np.ndarray, np.ndarray]:
    """Model output rows ``(t, 3 + 6 j)`` to the denormalised root ``(t, 3)`` and unit global
    quaternions ``(t, j, 4)`` (float64; signs as they come, see ``make_continuous``)."""
    output = output.detach().to("cpu", torch.float64)
    root = stats.denormalise(output[:, :3]).numpy()
    sixd = output[:, 3:].unflatten(-1, (-1, 6))
    quaternions = rotations.normalize(matrix_to_quaternion(sixd_to_matrix(sixd)).numpy())
    return root, quaternions
