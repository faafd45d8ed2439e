"""Tiny seeded diffusion models and inputs shared by the tests/test_diffusion_*.py files."""

from __future__ import annotations

import functools

import torch

from llavataros.models.diffusion.config import DiffusionConfig
from llavataros.models.diffusion.loss import diffusion_loss
from llavataros.models.diffusion.model import DiffusionModel
from llavataros.models.diffusion.network import slice_speech

TINY = dict(
    text_dim=8,
    audio_dim=6,
    num_speakers=3,
    num_joints=2,
    width=24,
    depth=2,
    heads=2,
    feedforward_multiplier=2,
    dropout=0.0,
    window=16,
    overlap=4,
    lookahead=3,
    lookbehind=1,
    pool_frames=6,
    steps=4,
)


def tiny_config(**overrides) -> DiffusionConfig:
    return DiffusionConfig(**{**TINY, **overrides})


def randomised(config: DiffusionConfig, seed: int = 0, scale: float = 0.3) -> DiffusionModel:
    """A network whose every parameter is random (no zero-initialised modulation or head), so
    outputs depend on every input; motion statistics are set to non-trivial values."""
    torch.manual_seed(seed)
    network = DiffusionModel(config)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in network.parameters():
            parameter.copy_(scale * torch.randn(parameter.shape, generator=generator))
    network.set_motion_statistics(
        torch.linspace(-0.5, 0.5, config.motion_dim), torch.linspace(0.5, 1.5, config.motion_dim)
    )
    return network.eval()


def features(config: DiffusionConfig, frames: int, batch: int = 2, seed: int = 1):
    """``(text, text_mask, audio, speaker)`` of random speech."""
    generator = torch.Generator().manual_seed(seed)
    text = torch.randn(batch, frames, config.text_dim, generator=generator)
    mask = torch.rand(batch, frames, generator=generator) > 0.4
    audio = torch.randn(batch, frames, config.audio_dim, generator=generator)
    speaker = torch.arange(batch) % config.num_speakers
    return text, mask, audio, speaker


# A toy problem with a known answer: every frame of a window is +1 or -1 in every channel,
# equally likely, whatever the speech says (two modes a regressor would average).
TOY_BATCH, TOY_FRAMES = 64, 4
TOY = tiny_config(
    num_joints=1,
    use_text=False,
    window=8,
    overlap=2,
    width=32,
    depth=1,
    prefix_probability=0.0,
)


def toy_batch(generator: torch.Generator, config: DiffusionConfig = TOY):
    """``(motion (b, n, m), speech, speaker)`` of the toy problem."""
    sign = torch.randint(0, 2, (TOY_BATCH, TOY_FRAMES, 1), generator=generator).float() * 2 - 1
    audio = torch.zeros(TOY_BATCH, TOY_FRAMES, config.audio_dim)  # speech says nothing
    speech = slice_speech(None, None, audio, 0, TOY_FRAMES, config.lookbehind, config.lookahead)
    return (
        sign.expand(TOY_BATCH, TOY_FRAMES, config.motion_dim),
        speech,
        torch.zeros(TOY_BATCH).long(),
    )


@functools.cache
def toy_teacher(steps: int = 400) -> DiffusionModel:
    """A denoiser trained on the toy problem (shared by the tests of one session; do not
    change it)."""
    torch.manual_seed(0)
    network = DiffusionModel(TOY)
    generator = torch.Generator().manual_seed(0)
    optimiser = torch.optim.Adam(network.parameters(), lr=3e-3)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, 3e-3, total_steps=steps)
    for _ in range(steps):
        loss, _ = diffusion_loss(network, *toy_batch(generator), generator)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()
    return network.eval()
