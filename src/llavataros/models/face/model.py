"""The ``face`` model family: the JambaTalk-style decoder (:class:`FaceModel`) behind the model
protocol of :mod:`llavataros.models.base`, so checkpoints, the pipeline and the stream treat it
like the gesture families. It reads ``inputs.audio`` and, where known, ``inputs.phonemes``
(viseme ids); the text vectors are not used."""

from __future__ import annotations

from typing import ClassVar

import torch

from llavataros.models.base import FrameInputs, OutputKind
from llavataros.models.face.config import FaceModelConfig
from llavataros.models.face.network import FaceModel
from llavataros.models.face.stream import FaceStream, generate_face


class FaceSpeechModel(FaceModel):
    """Speech features in, ``(b, t, 52)`` ARKit blendshape weights out."""

    family: ClassVar[str] = "face"
    output_kind: ClassVar[OutputKind] = "face"
    config_class: ClassVar[type] = FaceModelConfig

    @property
    def output_dim(self) -> int:
        return self.config.num_outputs

    def generate(self, inputs: FrameInputs, speaker: torch.Tensor) -> torch.Tensor:
        return generate_face(self, inputs.audio, speaker, inputs.phonemes)

    def start_stream(self, speaker: torch.Tensor) -> FaceStream:
        stream = FaceStream(self)
        stream.speaker = speaker.clone()
        return stream

    def push(self, state: FaceStream, inputs: FrameInputs) -> tuple[torch.Tensor, FaceStream]:
        return state.push(inputs.audio, state.speaker, inputs.phonemes), state

    def flush(self, state: FaceStream) -> torch.Tensor:
        return state.flush()
