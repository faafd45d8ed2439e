"""Training losses of the face model (issue 12; JambaTalk arXiv 2408.01627 section 3.3 uses
a vertex MSE, a velocity term and a lip-reading term; ours work on ARKit weights).

- weighted MSE and/or mean absolute error over channels
  (:func:`llavataros.face.arkit.channel_weights`: jaw and mouth heavier), with a ``(52,)``
  validity mask so data that only solves the mouth (FACEGOOD) does not teach a frozen upper
  face. MSE learns the mean of the weights the speech allows, absolute error their median:
  on the real clips most mouth channels rest at 0 most of the time, which the median keeps;
- velocity: MSE of frame-to-frame differences (same weights), against jitter and lag;
- lip closure on bilabials: on frames inside p, b, m (known only where phonemes are aligned)
  the lip aperture of :func:`llavataros.face.lips.lip_aperture` is pushed below the
  closure threshold with a hinge. JambaTalk's lip-reading loss (a pretrained lip reader) is
  not used: no such model is available offline here.

Axes: ``b`` batch, ``t`` frames, ``c`` channels (52).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from llavataros.face.lips import (
    CLOSURE_THRESHOLD,
    JAW_OPEN,
    LOWER_DOWN,
    MOUTH_CLOSE,
    UPPER_UP,
)


@dataclass(frozen=True)
class FaceLossWeights:
    position: float = 1.0  # squared error: the mean of the weights the speech allows
    velocity: float = 0.5
    closure: float = 0.5
    absolute: float = 0.0  # absolute error: their median (channels mostly at rest stay at 0)


def lip_aperture_torch(weights: torch.Tensor) -> torch.Tensor:
    """``(b, t, 52)`` -> ``(b, t)`` lip aperture (as in the metrics)."""
    return (
        torch.relu(weights[..., JAW_OPEN] - weights[..., MOUTH_CLOSE])
        + 0.5 * weights[..., list(LOWER_DOWN)].mean(-1)
        + 0.5 * weights[..., list(UPPER_UP)].mean(-1)
    )


def face_loss(
    prediction: torch.Tensor,
    target: torch.Tensor,
    channel_weights: torch.Tensor,
    valid: torch.Tensor | None = None,
    bilabial: torch.Tensor | None = None,
    weights: FaceLossWeights = FaceLossWeights(),
) -> tuple[torch.Tensor, dict[str, float]]:
    """Total loss and its parts. prediction, target ``(b, t, c)``; channel_weights ``(c,)``;
    valid ``(b, c)`` or ``(c,)`` bool (default all); bilabial ``(b, t)`` bool frames inside
    p, b, m (None: no closure term)."""
    scale = channel_weights.to(prediction)
    if valid is not None:
        scale = scale * valid.to(prediction)
    scale = torch.broadcast_to(scale, (prediction.shape[0], prediction.shape[-1]))[:, None]
    norm = scale.sum(-1).clamp(min=1e-6)  # (b, 1)
    error = prediction - target
    position = ((error**2 * scale).sum(-1) / norm).mean()
    absolute = ((error.abs() * scale).sum(-1) / norm).mean()
    velocity = prediction.new_zeros(())
    if prediction.shape[1] > 1:
        error = torch.diff(prediction, dim=1) - torch.diff(target, dim=1)
        velocity = ((error**2 * scale).sum(-1) / norm).mean()
    closure = prediction.new_zeros(())
    if bilabial is not None and bilabial.any():
        aperture = lip_aperture_torch(prediction)[bilabial]
        closure = torch.relu(aperture - 0.5 * CLOSURE_THRESHOLD).pow(2).mean()
    total = (
        weights.position * position
        + weights.absolute * absolute
        + weights.velocity * velocity
        + weights.closure * closure
    )
    parts = {
        "position": position.item(),
        "absolute": absolute.item(),
        "velocity": velocity.item(),
        "closure": closure.item(),
    }
    return total, parts
