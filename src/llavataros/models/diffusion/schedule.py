"""The noise schedule as data, with its closed forms, and conversions between predictions.

Continuous time ``t`` in ``[0, 1]``; a noisy sample is ``z_t = alpha_t x0 + sigma_t eps`` with
``alpha_t^2 + sigma_t^2 = 1`` (variance preserving). The schedule is the cosine one with no
offset, ``alpha_t = cos(pi t / 2)``, ``sigma_t = sin(pi t / 2)`` (Nichol & Dhariwal 2021 with
``s = 0``, as used by Salimans & Ho 2022), so

- ``alpha_bar(t) = alpha_t^2 = cos^2(pi t / 2)``: exactly 1 at ``t = 0`` (clean data) and
  exactly 0 at ``t = 1`` (pure noise: sampling starts from the distribution it trained on);
- ``snr(t) = alpha_t^2 / sigma_t^2 = cot^2(pi t / 2)``.

Prediction targets (``prediction``): ``v`` (``v = alpha eps - sigma x0``, Salimans & Ho
2022), ``epsilon`` or ``x0``. Their conditioning:

- epsilon-prediction is ill-conditioned at high noise: ``x0 = (z - sigma eps) / alpha`` divides
  by ``alpha -> 0``, so at ``t = 1`` (where sampling starts) a tiny error in eps is a huge error
  in x0. That is the first step of every few-step sampler, where it hurts most;
- x0-prediction is ill-conditioned at low noise the other way (``eps = (z - alpha x0) / sigma``),
  but its output is the motion itself, on which the forward-kinematics loss terms act directly;
- v-prediction stays bounded at both ends (``v = -x0`` at ``t = 1``, ``v = eps`` at ``t = 0``)
  and on this schedule is the velocity of ``z`` along the angle ``phi = pi t / 2``
  (``dz/dphi = v``), so both ``x0`` and ``eps`` come from one prediction without division.

DDIM is the first-order integrator of the probability-flow ODE (exact whenever the x0 estimate
stays constant over a step) for any of them. The shipped model predicts x0: with v its samples
jittered frame to frame (README, "The diffusion model"), and with x0 the velocity term of the
loss removed the jitter best.

The cosine schedule (rather than the linear-beta one) keeps the signal-to-noise ratio falling
smoothly over the whole interval instead of destroying the signal early, so equally spaced
steps are useful at every step count from 1 to 50.

Axes: tensors of any shape; ``alpha``/``sigma`` broadcast against them (give ``(b, 1, 1)`` for
``(b, t, d)`` samples).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from llavataros.models.diffusion.config import PREDICTIONS, SCHEDULES, Prediction, ScheduleKind


@dataclass(frozen=True)
class NoiseSchedule:
    """A variance-preserving schedule; ``kind`` names its closed form."""

    kind: ScheduleKind = "cosine"

    def __post_init__(self):
        if self.kind not in SCHEDULES:
            raise ValueError(f"schedule kind must be one of {list(SCHEDULES)}, got {self.kind!r}")

    def alpha_sigma(self, time: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(alpha_t, sigma_t)`` for times in ``[0, 1]`` (same shape as ``time``)."""
        angle = time * (math.pi / 2)
        alpha = torch.where(time >= 1, torch.zeros_like(angle), torch.cos(angle))  # exact 0
        return alpha, torch.sin(angle)

    def alpha_bar(self, time: torch.Tensor) -> torch.Tensor:
        """Signal fraction of the variance, ``alpha_t^2``."""
        return self.alpha_sigma(time)[0] ** 2

    def snr(self, time: torch.Tensor) -> torch.Tensor:
        """Signal-to-noise ratio ``alpha_t^2 / sigma_t^2`` (inf at ``t = 0``, 0 at ``t = 1``)."""
        alpha, sigma = self.alpha_sigma(time)
        return alpha**2 / sigma**2

    def times(self, steps: int, dtype=torch.float32) -> torch.Tensor:
        """``steps + 1`` equally spaced times from 1 (noise) down to 0 (data)."""
        if steps < 1:
            raise ValueError(f"steps must be >= 1, got {steps}")
        return torch.linspace(1.0, 0.0, steps + 1, dtype=dtype)


def add_noise(x0: torch.Tensor, noise: torch.Tensor, alpha, sigma) -> torch.Tensor:
    """``z_t = alpha x0 + sigma eps``."""
    return alpha * x0 + sigma * noise


def prediction_target(
    x0: torch.Tensor, noise: torch.Tensor, alpha, sigma, prediction: Prediction
) -> torch.Tensor:
    """What the network is trained to output: ``v = alpha eps - sigma x0``, ``eps`` or ``x0``."""
    if prediction == "v":
        return alpha * noise - sigma * x0
    if prediction == "epsilon":
        return noise
    if prediction == "x0":
        return x0
    raise ValueError(f"prediction must be one of {list(PREDICTIONS)}, got {prediction!r}")


def split_prediction(
    output: torch.Tensor, z: torch.Tensor, alpha, sigma, prediction: Prediction
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(x0, eps)`` implied by a network ``output`` at ``z_t`` (inverse of
    :func:`prediction_target` given ``z_t = alpha x0 + sigma eps``)."""
    if prediction == "v":  # alpha^2 + sigma^2 = 1
        return alpha * z - sigma * output, sigma * z + alpha * output
    if prediction == "epsilon":
        return (z - sigma * output) / alpha, output
    if prediction == "x0":
        return output, (z - alpha * output) / sigma
    raise ValueError(f"prediction must be one of {list(PREDICTIONS)}, got {prediction!r}")


def convert_prediction(
    output: torch.Tensor, z: torch.Tensor, alpha, sigma, source: Prediction, target: Prediction
) -> torch.Tensor:
    """The same estimate expressed as another prediction target (eps <-> x0 <-> v)."""
    x0, noise = split_prediction(output, z, alpha, sigma, source)
    return prediction_target(x0, noise, alpha, sigma, target)
