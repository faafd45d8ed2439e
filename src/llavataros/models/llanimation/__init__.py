"""The LLAniMAtion family: a cross-attentive Transformer-XL over per-word language-model vectors
and audio features (Windle et al., CGF 2024, arXiv 2405.08042)."""

from llavataros.models.llanimation.config import FUSIONS, ModelConfig, paper_scale_config
from llavataros.models.llanimation.generation import generate, run_segments
from llavataros.models.llanimation.network import LlanimationModel, ModelMemory

__all__ = [
    "FUSIONS",
    "LlanimationModel",
    "ModelConfig",
    "ModelMemory",
    "generate",
    "paper_scale_config",
    "run_segments",
]
