"""The Lightning task of the diffusion family (DiffMotion-v2, arXiv 2308.05995; issue 11).

Each batch holds windows cut as the sampler cuts them (``models/diffusion/windows.py``):
``lookbehind + window + lookahead`` frames of speech around ``window`` frames of motion. The
loss is :func:`~llavataros.models.diffusion.loss.diffusion_loss`: v-prediction MSE at a random
diffusion time, the speech condition dropped with probability ``condition_dropout`` (so one
network is both the conditional and the unconditional model of classifier-free guidance), and
known clean prefixes as the windowed sampler gives them.

Two copies of the network: :attr:`DiffusionTask.network` is trained; :attr:`DiffusionTask.model`
is the exponential moving average of its weights (Polyak averaging; diffusion samples from
averaged weights are markedly smoother than from the last step's). The average is the one
validated and exported (``RUN/model``, ``RUN/best``), and, being named ``model``, the one a
trainer checkpoint ``RUN/checkpoints/last.ckpt`` gives to ``load_model``.

Axes: ``b`` batch, ``t`` window frames with speech context, ``n`` motion frames, ``m`` motion
features (``3 + 6 j``).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import lightning as L
import torch

from llavataros.data.dataset import PreparedTake
from llavataros.models.diffusion.config import DiffusionConfig
from llavataros.models.diffusion.loss import GeometryTerms, diffusion_loss
from llavataros.models.diffusion.model import DiffusionModel
from llavataros.models.diffusion.network import Speech
from llavataros.models.geometry import RootStatistics
from llavataros.motion.skeleton import Skeleton
from llavataros.training.config import TrainConfig
from llavataros.training.losses import motion_to_target
from llavataros.training.task import motion_targets, warmup_cosine_adamw

VALIDATION_SEED = 1234  # validation draws the same times, noise and prefixes every epoch


def motion_statistics(
    takes: Sequence[PreparedTake], root_statistics: RootStatistics
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-feature mean and standard deviation ``(m,)`` of the training motion in the model
    output layout (the scale the diffusion noise lives at)."""
    rows = torch.cat([motion_to_target(take.motion, root_statistics) for take in takes])
    return rows.mean(dim=0), rows.std(dim=0)


def window_batch(
    batch: dict, config: DiffusionConfig, root_statistics: RootStatistics
) -> tuple[torch.Tensor, Speech, torch.Tensor]:
    """``(motion (b, n, m), speech, speaker (b,))`` of a batch of windows of
    ``lookbehind + n + lookahead`` frames (``WindowDataset`` items, collated)."""
    c = config
    frames = batch["audio"].shape[1] - c.lookbehind - c.lookahead
    text, mask = (batch["text"], batch["text_mask"]) if c.use_text else (None, None)
    speech = Speech(text, mask, batch["audio"], before=c.lookbehind, after=c.lookahead)
    motion = batch["motion"][:, c.lookbehind : c.lookbehind + frames]  # (b, n, j, 7)
    return motion_targets(motion, root_statistics), speech, batch["speaker"]


def ema_decay_at(step: int, decay: float) -> float:
    """The EMA decay after ``step`` optimiser steps, warmed up so early weights fade fast."""
    return min(decay, (1.0 + step) / (10.0 + step))


class DiffusionTask(L.LightningModule):
    """The diffusion network, its EMA, loss and optimiser for Lightning."""

    def __init__(
        self,
        config: TrainConfig,
        skeleton: Skeleton,
        root_statistics: RootStatistics,
        statistics: tuple[torch.Tensor, torch.Tensor],
    ):
        super().__init__()
        self.config, self.skeleton, self.root_statistics = config, skeleton, root_statistics
        self.network = DiffusionModel(config.diffusion)
        self.network.set_motion_statistics(*statistics)
        self.model = copy.deepcopy(self.network).requires_grad_(False)  # the EMA
        settings = config.diffusion_training
        self.geometry = None
        weights = (
            settings.position_weight,
            settings.velocity_weight,
            settings.acceleration_weight,
        )
        if any(weights):
            self.geometry = GeometryTerms(skeleton, root_statistics, *weights)

    def window(self, batch: dict) -> tuple[torch.Tensor, Speech, torch.Tensor]:
        return window_batch(batch, self.config.diffusion, self.root_statistics)

    def _log(self, stage: str, loss: torch.Tensor, parts: dict, size: int) -> None:
        on_step = stage == "train"
        options = dict(on_step=on_step, on_epoch=True, batch_size=size, sync_dist=not on_step)
        self.log(f"{stage}_loss", loss, prog_bar=True, **options)
        for name, value in parts.items():
            self.log(f"{stage}_{name}", value, **options)

    def training_step(self, batch, batch_index):
        motion, speech, speaker = self.window(batch)
        cap = self.config.diffusion_training.snr_cap
        loss, parts = diffusion_loss(
            self.network, motion, speech, speaker, None, self.geometry, cap
        )
        self._log("train", loss, parts, motion.shape[0])
        return loss

    def validation_step(self, batch, batch_index):
        motion, speech, speaker = self.window(batch)
        generator = torch.Generator().manual_seed(VALIDATION_SEED + batch_index)
        cap = self.config.diffusion_training.snr_cap
        loss, parts = diffusion_loss(
            self.model, motion, speech, speaker, generator, self.geometry, cap
        )
        self._log("validation", loss, parts, motion.shape[0])
        return loss

    def on_train_batch_end(self, outputs, batch, batch_index) -> None:
        decay = self.config.diffusion_training.ema_decay
        self.update_average(ema_decay_at(self.global_step, decay))

    @torch.no_grad()
    def update_average(self, decay: float) -> None:
        """``average <- decay * average + (1 - decay) * weights`` (buffers are copied)."""
        averaged = list(self.model.parameters())
        torch._foreach_lerp_(averaged, list(self.network.parameters()), 1.0 - decay)
        for average, buffer in zip(self.model.buffers(), self.network.buffers(), strict=True):
            average.copy_(buffer)

    def configure_optimizers(self):
        return warmup_cosine_adamw(self, self.network.parameters())

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["torch_rng_state"] = torch.get_rng_state()  # noise and dropout continue

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        if "torch_rng_state" in checkpoint:
            torch.set_rng_state(checkpoint["torch_rng_state"].to(torch.uint8))


def build_diffusion_task(
    config: TrainConfig,
    skeleton: Skeleton,
    root_statistics: RootStatistics,
    train_takes: Sequence[PreparedTake],
) -> DiffusionTask:
    """A :class:`DiffusionTask` whose motion normalisation comes from ``train_takes``."""
    statistics = motion_statistics(train_takes, root_statistics)
    return DiffusionTask(config, skeleton, root_statistics, statistics)
