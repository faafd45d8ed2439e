"""The Lightning task of the LLAniMAtion family: model, loss and optimiser (arXiv 2405.08042,
section 4). Each training window is processed as consecutive Transformer-XL segments with the
memory carried between them (detached, as in Dai et al. 2019)."""

from __future__ import annotations

import math

import lightning as L
import torch

from llavataros.models.geometry import RootStatistics, matrix_to_sixd, quaternion_to_matrix
from llavataros.models.llanimation.generation import run_segments
from llavataros.models.llanimation.network import LlanimationModel
from llavataros.motion.skeleton import Skeleton
from llavataros.training.config import TrainConfig
from llavataros.training.losses import motion_loss


def motion_targets(motion: torch.Tensor, stats: RootStatistics) -> torch.Tensor:
    """Takes ``(b, t, j, 7)`` to the model's output layout ``(b, t, 3 + 6 j)``."""
    sixd = matrix_to_sixd(quaternion_to_matrix(motion[..., 3:]))  # (b, t, j, 6)
    root = stats.normalise(motion[..., 0, :3])  # (b, t, 3)
    return torch.cat([root, sixd.flatten(-2)], dim=-1)


def warmup_cosine_adamw(task: L.LightningModule, parameters) -> dict:
    """AdamW over ``parameters`` with linear warm-up then cosine (or constant) learning rate,
    stepped per optimiser step, as ``task.config.optimizer`` says (every family trains so)."""
    settings = task.config.optimizer
    optimizer = torch.optim.AdamW(
        parameters,
        lr=settings.learning_rate,
        betas=settings.betas,
        weight_decay=settings.weight_decay,
    )
    total = max(1, int(task.trainer.estimated_stepping_batches))

    def factor(step: int) -> float:
        if step < settings.warmup_steps:
            return (step + 1) / settings.warmup_steps
        if settings.schedule == "constant":
            return 1.0
        progress = min(1.0, (step - settings.warmup_steps) / max(1, total - settings.warmup_steps))
        floor = settings.final_learning_rate_ratio
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
    return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}


class GestureTask(L.LightningModule):
    """The model, its loss and its optimiser for Lightning."""

    def __init__(self, config: TrainConfig, skeleton: Skeleton, root_statistics: RootStatistics):
        super().__init__()
        self.config, self.skeleton, self.root_statistics = config, skeleton, root_statistics
        self.model = LlanimationModel(config.model)

    def _step(self, batch: dict, stage: str) -> torch.Tensor:
        # windows carry `lookahead` extra frames: inputs only, no target
        frames = batch["text"].shape[1] - self.config.model.lookahead
        output = run_segments(
            self.model, batch["text"], batch["text_mask"], batch["audio"], batch["speaker"], frames
        )
        target = motion_targets(batch["motion"][:, :frames], self.root_statistics)
        loss, parts = motion_loss(
            output,
            target,
            self.skeleton,
            self.root_statistics,
            self.config.loss.weights,
            self.config.loss.rotation,
            error=self.config.loss.error,
        )
        size = batch["text"].shape[0]
        on_step = stage == "train"
        self.log(
            f"{stage}_loss",
            loss,
            prog_bar=True,
            on_step=on_step,
            on_epoch=True,
            batch_size=size,
            sync_dist=not on_step,
        )
        for name, value in parts.items():
            self.log(
                f"{stage}_{name}",
                value,
                on_step=on_step,
                on_epoch=True,
                batch_size=size,
                sync_dist=not on_step,
            )
        return loss

    def training_step(self, batch, batch_index):
        return self._step(batch, "train")

    def validation_step(self, batch, batch_index):
        return self._step(batch, "validation")

    def configure_optimizers(self):
        return warmup_cosine_adamw(self, self.parameters())

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["torch_rng_state"] = torch.get_rng_state()  # dropout continues exactly

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        if "torch_rng_state" in checkpoint:
            torch.set_rng_state(checkpoint["torch_rng_state"].to(torch.uint8))
