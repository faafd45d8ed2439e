"""Noise schedule closed forms, prediction conversions, DDIM steps and the progressive
distillation target (models/diffusion/schedule.py, sampling.py), and the config."""

from __future__ import annotations

import math

import pytest
import torch

from llavataros.errors import InputError
from llavataros.models.diffusion.config import DiffusionConfig
from llavataros.models.diffusion.sampling import (
    ddim_sample,
    ddim_step,
    distillation_target,
    guided,
)
from llavataros.models.diffusion.schedule import (
    NoiseSchedule,
    convert_prediction,
    prediction_target,
    split_prediction,
)

SCHEDULE = NoiseSchedule()


def test_alpha_bar_endpoints_and_closed_forms():
    times = torch.tensor([0.0, 0.5, 1.0], dtype=torch.float64)
    alpha, sigma = SCHEDULE.alpha_sigma(times)
    torch.testing.assert_close(SCHEDULE.alpha_bar(times), torch.tensor([1.0, 0.5, 0.0]).double())
    torch.testing.assert_close(alpha**2 + sigma**2, torch.ones(3).double())  # variance preserving
    snr = SCHEDULE.snr(times)
    assert math.isinf(snr[0]) and snr[1].item() == pytest.approx(1.0) and snr[2] == 0
    inner = torch.linspace(0.01, 0.99, 50, dtype=torch.float64)
    torch.testing.assert_close(SCHEDULE.snr(inner), 1 / torch.tan(math.pi * inner / 2) ** 2)
    assert (SCHEDULE.alpha_bar(inner).diff() < 0).all()  # signal falls monotonically
    torch.testing.assert_close(SCHEDULE.times(4), torch.tensor([1.0, 0.75, 0.5, 0.25, 0.0]))


@pytest.mark.parametrize("source", ["v", "epsilon", "x0"])
@pytest.mark.parametrize("target", ["v", "epsilon", "x0"])
def test_conversions_invert_each_other(source, target):
    generator = torch.Generator().manual_seed(0)
    x0 = torch.randn(5, 7, 3, generator=generator, dtype=torch.float64)
    noise = torch.randn(5, 7, 3, generator=generator, dtype=torch.float64)
    alpha, sigma = SCHEDULE.alpha_sigma(torch.tensor(0.3, dtype=torch.float64))
    z = alpha * x0 + sigma * noise
    exact = prediction_target(x0, noise, alpha, sigma, source)
    recovered_x0, recovered_noise = split_prediction(exact, z, alpha, sigma, source)
    torch.testing.assert_close(recovered_x0, x0)
    torch.testing.assert_close(recovered_noise, noise)
    there = convert_prediction(exact, z, alpha, sigma, source, target)
    torch.testing.assert_close(there, prediction_target(x0, noise, alpha, sigma, target))
    torch.testing.assert_close(convert_prediction(there, z, alpha, sigma, target, source), exact)


def test_v_is_bounded_at_both_ends():
    x0, noise = torch.tensor([2.0]), torch.tensor([-3.0])
    for time, expected in ((0.0, noise), (1.0, -x0)):
        alpha, sigma = SCHEDULE.alpha_sigma(torch.tensor(time))
        torch.testing.assert_close(prediction_target(x0, noise, alpha, sigma, "v"), expected)


def test_ddim_step_with_exact_noise_recovers_x0_and_lands_on_the_path():
    generator = torch.Generator().manual_seed(1)
    x0 = torch.randn(4, 6, 2, generator=generator, dtype=torch.float64)
    noise = torch.randn(4, 6, 2, generator=generator, dtype=torch.float64)
    t, s = torch.tensor(0.8, dtype=torch.float64), torch.tensor(0.3, dtype=torch.float64)
    alpha_t, sigma_t = SCHEDULE.alpha_sigma(t)
    z = alpha_t * x0 + sigma_t * noise
    v = prediction_target(x0, noise, alpha_t, sigma_t, "v")  # what a perfect model predicts
    estimate, eps = split_prediction(v, z, alpha_t, sigma_t, "v")
    zero = SCHEDULE.alpha_sigma(torch.tensor(0.0, dtype=torch.float64))
    torch.testing.assert_close(ddim_step(estimate, eps, *zero, alpha_t, sigma_t), x0)
    alpha_s, sigma_s = SCHEDULE.alpha_sigma(s)
    torch.testing.assert_close(
        ddim_step(estimate, eps, alpha_s, sigma_s, alpha_t, sigma_t), alpha_s * x0 + sigma_s * noise
    )


def test_ddim_eta_one_is_the_ddpm_posterior_variance():
    """eta = 1: the fresh-noise scale is sqrt of the DDPM posterior variance
    sigma_s^2 (1 - alpha_t^2 / alpha_s^2) / sigma_t^2."""
    t, s = torch.tensor(0.6), torch.tensor(0.4)
    alpha_t, sigma_t = SCHEDULE.alpha_sigma(t)
    alpha_s, sigma_s = SCHEDULE.alpha_sigma(s)
    x0, eps = torch.zeros(20000), torch.zeros(20000)
    generator = torch.Generator().manual_seed(2)
    z = ddim_step(x0, eps, alpha_s, sigma_s, alpha_t, sigma_t, eta=1.0, generator=generator)
    expected = (sigma_s**2 * (1 - alpha_t**2 / alpha_s**2) / sigma_t**2).sqrt()
    assert z.std().item() == pytest.approx(expected.item(), rel=0.03)


def _two_point_denoiser(z: torch.Tensor, time: torch.Tensor) -> torch.Tensor:
    """Exact v for data x0 = +u or -u (u = ones, equal mass): E[x0|z] = u tanh(alpha <z,u> /
    sigma^2)."""
    alpha, sigma = (v.reshape(-1, *([1] * (z.ndim - 1))) for v in SCHEDULE.alpha_sigma(time))
    dot = z.sum(dim=tuple(range(1, z.ndim)), keepdim=True)
    x0 = torch.tanh(alpha * dot / sigma**2).expand_as(z)
    eps = (z - alpha * x0) / sigma
    return alpha * eps - sigma * x0


def test_ddim_with_the_exact_denoiser_recovers_both_points():
    generator = torch.Generator().manual_seed(3)
    noise = torch.randn(400, 5, 2, generator=generator, dtype=torch.float64)
    sample = ddim_sample(_two_point_denoiser, noise, SCHEDULE, steps=20)
    means = sample.mean(dim=(1, 2))
    assert ((means.abs() - 1).abs() < 1e-3).all()
    assert 0.4 < (means > 0).double().mean() < 0.6
    one_step = ddim_sample(_two_point_denoiser, noise, SCHEDULE, steps=1)  # the mean: 0
    assert one_step.abs().max() == 0


def test_distillation_target_makes_one_step_equal_two_teacher_steps():
    generator = torch.Generator().manual_seed(4)
    z = torch.randn(6, 5, 2, generator=generator, dtype=torch.float64)
    for student_steps in (1, 2, 4):
        step = 1.0 / student_steps
        time = torch.full((6,), 1.0, dtype=torch.float64)
        target = distillation_target(_two_point_denoiser, z, time, step, SCHEDULE)
        # One student DDIM step from t to t - 1/N with that prediction ...
        alpha_t, sigma_t = SCHEDULE.alpha_sigma(time[0])
        end = SCHEDULE.alpha_sigma(time[0] - step)
        student = ddim_step(
            *split_prediction(target, z, alpha_t, sigma_t, "v"), *end, alpha_t, sigma_t
        )
        # ... equals two teacher DDIM steps of 1 / (2N).
        middle = SCHEDULE.alpha_sigma(time[0] - step / 2)
        x0, eps = split_prediction(_two_point_denoiser(z, time), z, alpha_t, sigma_t, "v")
        z_middle = ddim_step(x0, eps, *middle, alpha_t, sigma_t)
        x0, eps = split_prediction(
            _two_point_denoiser(z_middle, time - step / 2), z_middle, *middle, "v"
        )
        teacher = ddim_step(x0, eps, *end, *middle)
        torch.testing.assert_close(student, teacher)


def test_guidance_combines_conditional_and_unconditional():
    def denoiser(z, time, keep):
        return torch.where(keep[:, None], torch.full_like(z, 3.0), torch.full_like(z, 1.0))

    z, time = torch.zeros(2, 4), torch.ones(2)
    assert guided(denoiser, 1.0)(z, time).unique().tolist() == [3.0]
    assert guided(denoiser, 0.0)(z, time).unique().tolist() == [1.0]
    assert guided(denoiser, 2.5)(z, time).unique().tolist() == [1.0 + 2.5 * 2.0]


def test_config_round_trip_and_unknown_keys_refused():
    config = DiffusionConfig(width=32, depth=1, heads=2, use_text=False, prediction="x0")
    assert DiffusionConfig.from_dict(config.to_dict()) == config
    with pytest.raises(InputError, match="unknown diffusion config keys: colour"):
        DiffusionConfig.from_dict({**config.to_dict(), "colour": 1})
    with pytest.raises(InputError, match="overlap"):
        DiffusionConfig(window=10, overlap=10)
    with pytest.raises(InputError, match="prediction"):
        DiffusionConfig(prediction="score")
    assert DiffusionConfig().motion_dim == 3 + 6 * 9
    assert DiffusionConfig().stream_latency_frames == 75 + 15
