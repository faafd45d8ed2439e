"""Training configuration (YAML), saved beside every checkpoint of a run.

``family`` chooses the model trained: ``llanimation`` (the Transformer-XL, section ``model``;
the default, so configs without the key mean what they did) or ``diffusion`` (section
``diffusion``, trained as ``diffusion_training`` says). ``text_dim``, ``audio_dim`` and
``num_speakers`` of the family's section are derived from the data and the feature extractors;
whatever the YAML says for them is replaced.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from llavataros.errors import InputError
from llavataros.models.diffusion.config import DiffusionConfig
from llavataros.models.llanimation.config import ModelConfig
from llavataros.motion.timing import MODEL_FPS
from llavataros.training.losses import LossWeights


@dataclass(frozen=True)
class DataConfig:
    """Which features, at which frame rate, in which windows, split how."""

    fps: float = MODEL_FPS  # model frame rate; takes are resampled to it (slerp)
    window_seconds: float = 8.0  # training window; processed as Transformer-XL segments
    stride_seconds: float = 4.0
    shift_windows: bool = True  # move training windows by up to stride/2, anew every epoch
    split_fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)
    split_seed: int = 0
    text_model: str | None = None  # transformers folder; None: bundled all-MiniLM-L6-v2
    audio_model: str | None = None  # WavLM/wav2vec 2.0/HuBERT folder; None: prosody features
    cache_dir: str | None = None  # None: DATA_DIR/.cache


@dataclass(frozen=True)
class OptimizerConfig:
    """AdamW with linear warm-up then cosine (or constant) learning rate."""

    learning_rate: float = 1e-3
    weight_decay: float = 0.01
    betas: tuple[float, float] = (0.9, 0.99)
    warmup_steps: int = 100
    schedule: Literal["cosine", "constant"] = "cosine"
    final_learning_rate_ratio: float = 0.05
    gradient_clip: float = 1.0


@dataclass(frozen=True)
class TrainerConfig:
    """PyTorch Lightning trainer settings (several GPUs or nodes: devices/num_nodes/strategy)."""

    max_epochs: int = 30
    max_steps: int = -1
    batch_size: int = 16
    accelerator: str = "cpu"
    devices: int = 1
    num_nodes: int = 1
    strategy: str = "auto"  # "ddp" for data-parallel training on several devices
    precision: str = "32-true"  # "bf16-mixed" / "16-mixed" for mixed precision
    checkpoint_every_n_steps: int = 200
    keep_all_checkpoints: bool = False  # True: every step checkpoint stays (about 35 MB each)
    log_every_n_steps: int = 10
    validate_every_n_epochs: int = 1
    num_workers: int = 0
    threads: int = 0  # torch CPU threads per process; 0: all cores. Use 1 on a shared machine
    seed: int = 0
    progress_bar: bool = True
    max_minutes: float | None = None  # wall-clock cap (Lightning max_time); None: no cap


@dataclass(frozen=True)
class LossConfig:
    weights: LossWeights = field(default_factory=LossWeights)
    rotation: Literal["sixd", "geodesic"] = "sixd"
    error: Literal["l1", "l2"] = "l1"  # absolute or squared error (see model.losses)


@dataclass(frozen=True)
class DiffusionTrainingConfig:
    """How the diffusion family trains (``training/diffusion_task.py``): the EMA of the weights
    that validation and the saved model use, and optional forward-kinematics loss terms."""

    ema_decay: float = 0.999  # per optimiser step (warmed up: min(decay, (1 + n) / (10 + n)))
    position_weight: float = 0.0  # FK joint positions of x0_hat, weighted by alpha_t^2
    velocity_weight: float = 0.0  # their per-frame velocities
    acceleration_weight: float = 0.0  # their per-frame accelerations (second differences)
    snr_cap: float = 0.0  # >= 1: target MSE weighted by clamp(snr, 1, cap) on x0 (0: plain)

    def __post_init__(self):
        if not 0.0 <= self.ema_decay < 1.0:
            raise InputError(
                None, f"diffusion_training ema_decay must be in [0, 1), got {self.ema_decay!r}"
            )
        for name in ("position_weight", "velocity_weight", "acceleration_weight"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0.0):
                raise InputError(None, f"diffusion_training {name} must be >= 0, got {value!r}")
        if not (self.snr_cap == 0.0 or (math.isfinite(self.snr_cap) and self.snr_cap >= 1.0)):
            raise InputError(
                None, f"diffusion_training snr_cap must be 0 (off) or >= 1, got {self.snr_cap!r}"
            )


@dataclass(frozen=True)
class TrainConfig:
    family: Literal["llanimation", "diffusion"] = "llanimation"
    model: ModelConfig = field(default_factory=lambda: ModelConfig(fusion="cross"))
    diffusion: DiffusionConfig = field(default_factory=DiffusionConfig)
    diffusion_training: DiffusionTrainingConfig = field(default_factory=DiffusionTrainingConfig)
    data: DataConfig = field(default_factory=DataConfig)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    loss: LossConfig = field(default_factory=LossConfig)
