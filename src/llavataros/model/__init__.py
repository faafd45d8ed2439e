"""The LLAniMAtion model: cross-attentive Transformer-XL (arXiv 2405.08042)."""

from llavataros.model.checkpoint import load_checkpoint, save_checkpoint
from llavataros.model.config import FUSIONS, ModelConfig, paper_scale_config
from llavataros.model.geometry import RootStatistics, output_to_motion
from llavataros.model.llanimation import LlanimationModel, ModelMemory
from llavataros.model.losses import LossWeights, motion_loss, motion_to_target
from llavataros.model.stream import ModelStream, generate
from llavataros.model.transformer_xl import TransformerXL

__all__ = [
    "FUSIONS",
    "LlanimationModel",
    "LossWeights",
    "ModelConfig",
    "ModelMemory",
    "ModelStream",
    "RootStatistics",
    "TransformerXL",
    "generate",
    "load_checkpoint",
    "motion_loss",
    "motion_to_target",
    "output_to_motion",
    "paper_scale_config",
    "save_checkpoint",
]
