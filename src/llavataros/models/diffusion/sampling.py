"""Samplers: pure functions over a denoiser callable (k-diffusion style; the denoiser knows
nothing of the sampler).

A **denoiser** is ``denoiser(z (b, ...), time (b,), keep (b,) bool) -> prediction (b, ...)``:
the network with its speech and speaker bound, ``keep`` False asking for the null condition.

- :func:`guided` applies classifier-free guidance (Ho & Salimans 2022):
  ``uncond + scale (cond - uncond)``; scale 1 is the conditional model alone (one call per
  step), 0 the unconditional one, > 1 trades diversity for adherence to the speech.
- :func:`ddim_sample`: DDIM (Song et al. 2021, eq. 12) on equally spaced times from 1 to 0;
  ``eta = 0`` is deterministic given the initial noise, ``eta = 1`` is ancestral (DDPM-like)
  and draws from ``generator``.
- Few-step method: **progressive distillation** (Salimans & Ho 2022, algorithm 2).
  :func:`distillation_target` is the v a student must predict so that one DDIM step of size
  ``1 / N`` lands where two teacher steps of size ``1 / (2 N)`` land; a student trained on it
  samples with :func:`ddim_sample` in ``N`` steps, and rounds halve ``N`` (e.g. 64 -> 1).
  Chosen because it needs nothing but the DDIM sampler and the v/cosine parametrisation we
  train anyway (no second objective as rectified flow would, no consistency-model boundary
  conditions), and every round has a closed-form known answer that is tested.

Shapes: ``z``/``noise`` ``(b, ...)``; times are scalars broadcast to ``(b,)`` for the denoiser.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from llavataros.models.diffusion.config import Prediction
from llavataros.models.diffusion.schedule import (
    NoiseSchedule,
    prediction_target,
    split_prediction,
)

Denoiser = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]
Predictor = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (z, time (b,)) -> prediction


def guided(denoiser: Denoiser, guidance: float = 1.0) -> Predictor:
    """A predictor ``(z, time) -> prediction`` with classifier-free guidance ``scale``."""

    def predict(z: torch.Tensor, time: torch.Tensor) -> torch.Tensor:
        b = z.shape[0]
        if guidance == 0.0:
            return denoiser(z, time, torch.zeros(b, dtype=torch.bool, device=z.device))
        conditional = denoiser(z, time, torch.ones(b, dtype=torch.bool, device=z.device))
        if guidance == 1.0:
            return conditional
        unconditional = denoiser(z, time, torch.zeros(b, dtype=torch.bool, device=z.device))
        return unconditional + guidance * (conditional - unconditional)

    return predict


def _per_sample(value: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """``(b,)`` -> ``(b, 1, ...)`` to broadcast against ``like (b, ...)``."""
    return value.reshape(-1, *([1] * (like.ndim - 1))).to(like.dtype)


def ddim_step(
    x0: torch.Tensor,
    noise: torch.Tensor,
    alpha_s,
    sigma_s,
    alpha_t,
    sigma_t,
    eta: float = 0.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """``z_s`` from the estimates ``(x0, eps)`` made at time ``t > s``.

    ``eta = 0``: ``z_s = alpha_s x0 + sigma_s eps`` (deterministic). Otherwise a fraction of
    the noise is fresh: ``c = eta (sigma_s / sigma_t) sqrt(1 - alpha_t^2 / alpha_s^2)``,
    ``z_s = alpha_s x0 + sqrt(sigma_s^2 - c^2) eps + c n``."""
    if eta == 0.0:
        return alpha_s * x0 + sigma_s * noise
    alpha_s, sigma_s = torch.as_tensor(alpha_s), torch.as_tensor(sigma_s)
    alpha_t, sigma_t = torch.as_tensor(alpha_t), torch.as_tensor(sigma_t)
    ratio = (1 - alpha_t**2 / alpha_s**2).clamp_min(0.0)
    c = eta * sigma_s / sigma_t * ratio.sqrt()
    fresh = torch.randn(x0.shape, generator=generator, dtype=x0.dtype, device=x0.device)
    return alpha_s * x0 + (sigma_s**2 - c**2).clamp_min(0.0).sqrt() * noise + c * fresh


def ddim_sample(
    predict: Predictor,
    noise: torch.Tensor,
    schedule: NoiseSchedule,
    steps: int,
    prediction: Prediction = "v",
    eta: float = 0.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """A sample ``x0`` (same shape as ``noise``) after ``steps`` DDIM steps from ``z_1 = noise``
    (``predict`` from :func:`guided`)."""
    times = schedule.times(steps).to(noise.device)
    z = noise
    b = noise.shape[0]
    for index in range(steps):
        t, s = times[index], times[index + 1]
        alpha_t, sigma_t = schedule.alpha_sigma(t)
        alpha_s, sigma_s = schedule.alpha_sigma(s)
        output = predict(z, t.expand(b))
        x0, eps = split_prediction(output, z, alpha_t, sigma_t, prediction)
        z = ddim_step(x0, eps, alpha_s, sigma_s, alpha_t, sigma_t, eta, generator)
    return z


def distillation_target(
    teacher: Predictor,
    z: torch.Tensor,
    time: torch.Tensor,
    student_step: float,
    schedule: NoiseSchedule,
    prediction: Prediction = "v",
) -> torch.Tensor:
    """The prediction a student should make at ``(z, time (b,))`` so that one DDIM step to
    ``time - student_step`` equals two teacher DDIM steps of half the size (Salimans & Ho
    2022, algorithm 2). ``time >= student_step`` elementwise. No gradient."""
    with torch.no_grad():
        middle, end = time - student_step / 2, time - student_step
        alpha_t, sigma_t = (_per_sample(v, z) for v in schedule.alpha_sigma(time))
        alpha_m, sigma_m = (_per_sample(v, z) for v in schedule.alpha_sigma(middle))
        alpha_e, sigma_e = (_per_sample(v, z) for v in schedule.alpha_sigma(end.clamp_min(0.0)))
        x0, eps = split_prediction(teacher(z, time), z, alpha_t, sigma_t, prediction)
        z_middle = alpha_m * x0 + sigma_m * eps
        x0, eps = split_prediction(
            teacher(z_middle, middle), z_middle, alpha_m, sigma_m, prediction
        )
        z_end = alpha_e * x0 + sigma_e * eps
        ratio = sigma_e / sigma_t
        x0_student = (z_end - ratio * z) / (alpha_e - ratio * alpha_t)
        eps_student = (z - alpha_t * x0_student) / sigma_t
        return prediction_target(x0_student, eps_student, alpha_t, sigma_t, prediction)
