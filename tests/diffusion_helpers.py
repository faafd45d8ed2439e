"""Tiny seeded diffusion models and inputs shared by the tests/test_diffusion_*.py files."""

from __future__ import annotations

import torch

from llavataros.models.diffusion.config import DiffusionConfig
from llavataros.models.diffusion.model import DiffusionModel

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
