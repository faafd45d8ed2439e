"""Training with PyTorch Lightning: the train config, the per-family task and losses, the run
folder (resolved config, exported models, pickle-free resumable state)."""

from llavataros.training.config import TrainConfig
from llavataros.training.train import read_config, train

__all__ = ["TrainConfig", "read_config", "train"]
