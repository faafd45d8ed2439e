"""Model families behind one protocol: base (protocol, registry, stream state holder),
checkpoint (typed metadata, load_model), geometry (the body output representation) and one
sub-package per family (``llanimation``)."""

from llavataros.models.base import FAMILIES, FrameInputs, ModelStream, SpeechModel
from llavataros.models.checkpoint import (
    ModelMetadata,
    load_checkpoint,
    load_model,
    resolve_model_path,
    save_checkpoint,
)

__all__ = [
    "FAMILIES",
    "FrameInputs",
    "ModelMetadata",
    "ModelStream",
    "SpeechModel",
    "load_checkpoint",
    "load_model",
    "resolve_model_path",
    "save_checkpoint",
]
