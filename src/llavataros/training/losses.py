"""Training targets and losses for the LLAniMAtion model (arXiv 2405.08042, section 3.3).

Target per frame: root position normalised by :class:`RootStatistics` (3) followed by the 6D
of each joint's global quaternion (``6 j``), the same layout as the model output.

Loss = ``rotation`` (error of the 6D, or the geodesic angle in radians)
     + ``position`` (error of joint positions in metres from forward kinematics of both sides)
     + ``velocity`` (error of first differences of those positions, metres per frame)
     + ``acceleration`` (error of second differences, metres per frame^2),
each scaled by its :class:`LossWeights` entry. Frame masks allow padded batches.

The error is absolute (``"l1"``) or squared (``"l2"``). The choice decides what a model learns
where speech leaves the motion uncertain: L1 is smallest at the conditional *median*, L2 at the
conditional *mean*. When a gesture may start a little earlier or later, the median of the
shifted trajectories is a step at the middle time (the model snaps from rest to the stroke)
while the mean is a smooth ramp with the corpus' speed profile.

Axes: ``b`` batch, ``t`` frames, ``j`` joints.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from llavataros.models.geometry import (
    RootStatistics,
    forward_kinematics,
    matrix_to_sixd,
    quaternion_to_matrix,
    sixd_to_matrix,
)
from llavataros.models.llanimation.network import split_output
from llavataros.motion import rotations
from llavataros.motion.skeleton import Skeleton
from llavataros.motion.take import Motion

RotationMeasure = Literal["sixd", "geodesic"]
ErrorKind = Literal["l1", "l2"]


@dataclass(frozen=True)
class LossWeights:
    """Weight of each loss term (the total is their weighted sum)."""

    rotation: float = 1.0
    position: float = 1.0
    velocity: float = 5.0
    acceleration: float = 5.0


def motion_to_target(motion: Motion | np.ndarray, stats: RootStatistics) -> torch.Tensor:
    """A take ``(t, j, 7)`` (positions + global quaternions) or a :class:`Motion` to the model's
    output layout ``(t, 3 + 6 j)`` float32."""
    array = motion.to_array(np.float64) if isinstance(motion, Motion) else np.asarray(motion)
    if array.ndim != 3 or array.shape[-1] != 7:
        raise ValueError(f"motion must be (t, j, 7), got {array.shape}")
    quaternions = torch.from_numpy(rotations.normalize(array[..., 3:]))
    sixd = matrix_to_sixd(quaternion_to_matrix(quaternions))  # (t, j, 6)
    root = stats.normalise(torch.from_numpy(array[:, 0, :3].astype(np.float64)))  # (t, 3)
    return torch.cat([root, sixd.flatten(-2)], dim=-1).float()


ERRORS = {"l1": torch.abs, "l2": torch.square}  # elementwise error of each loss term


def _masked_mean(error: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Mean of ``error (b, t, ...)`` over frames where ``mask (b, t)`` is True (0 if none)."""
    if error.numel() == 0:
        return error.new_zeros(())
    if mask is None:
        return error.mean()
    weights = mask.to(error.dtype).reshape(*mask.shape, *([1] * (error.ndim - 2)))
    count = weights.expand_as(error).sum().clamp_min(1.0)
    return (error * weights).sum() / count


def geodesic_angle(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Angle in radians between rotation matrices ``(..., 3, 3)``; result ``(...)``.

    Computed as ``atan2(sin, cos)`` of the relative rotation, which keeps the gradient finite
    at zero and at 180 degrees (``acos`` of the trace does not)."""
    relative = a.transpose(-1, -2) @ b
    cosine = (relative.diagonal(dim1=-2, dim2=-1).sum(-1) - 1.0) / 2.0
    axis = (
        torch.stack(
            [
                relative[..., 2, 1] - relative[..., 1, 2],
                relative[..., 0, 2] - relative[..., 2, 0],
                relative[..., 1, 0] - relative[..., 0, 1],
            ],
            dim=-1,
        )
        / 2.0
    )
    sine = torch.sqrt((axis * axis).sum(-1) + 1e-12)
    return torch.atan2(sine, cosine)


def motion_loss(
    output: torch.Tensor,
    target: torch.Tensor,
    skeleton: Skeleton,
    stats: RootStatistics,
    weights: LossWeights = LossWeights(),
    rotation: RotationMeasure = "sixd",
    frame_mask: torch.Tensor | None = None,
    error: ErrorKind = "l1",
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Loss between ``output`` and ``target`` (both ``(b, t, 3 + 6 j)``); ``frame_mask (b, t)``
    marks real frames; ``error`` is ``"l1"`` (absolute) or ``"l2"`` (squared). Returns
    ``(total, parts)`` with parts ``rotation``, ``position``, ``velocity``, ``acceleration``
    (unweighted, detached)."""
    if output.shape != target.shape:
        raise ValueError(f"output {tuple(output.shape)} and target {tuple(target.shape)} differ")
    if error not in ERRORS:
        raise ValueError(f"error must be 'l1' or 'l2', got {error!r}")
    measure = ERRORS[error]
    predicted_root, predicted_sixd = split_output(output)
    target_root, target_sixd = split_output(target)
    predicted_matrices = sixd_to_matrix(predicted_sixd)  # (b, t, j, 3, 3)
    target_matrices = sixd_to_matrix(target_sixd)

    if rotation == "sixd":
        rotation_loss = _masked_mean(measure(predicted_sixd - target_sixd), frame_mask)
    elif rotation == "geodesic":
        rotation_loss = _masked_mean(
            measure(geodesic_angle(predicted_matrices, target_matrices)), frame_mask
        )
    else:
        raise ValueError(f"rotation must be 'sixd' or 'geodesic', got {rotation!r}")

    offsets = torch.as_tensor(skeleton.offsets, dtype=output.dtype, device=output.device)
    predicted = forward_kinematics(
        stats.denormalise(predicted_root), predicted_matrices, offsets, skeleton.parents
    )  # (b, t, j, 3) metres
    actual = forward_kinematics(
        stats.denormalise(target_root), target_matrices, offsets, skeleton.parents
    )
    position_loss = _masked_mean(measure(predicted - actual), frame_mask)

    velocity_mask = acceleration_mask = None
    if frame_mask is not None:
        frame_mask = frame_mask.bool()
        velocity_mask = frame_mask[:, 1:] & frame_mask[:, :-1]
        acceleration_mask = velocity_mask[:, 1:] & velocity_mask[:, :-1]
    predicted_velocity, actual_velocity = predicted.diff(dim=1), actual.diff(dim=1)
    velocity_loss = _masked_mean(measure(predicted_velocity - actual_velocity), velocity_mask)
    acceleration_loss = _masked_mean(
        measure(predicted_velocity.diff(dim=1) - actual_velocity.diff(dim=1)), acceleration_mask
    )

    parts = {
        "rotation": rotation_loss,
        "position": position_loss,
        "velocity": velocity_loss,
        "acceleration": acceleration_loss,
    }
    total = sum(getattr(weights, name) * value for name, value in parts.items())
    return total, {name: value.detach() for name, value in parts.items()}
