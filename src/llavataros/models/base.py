"""What every model family shares: frame inputs, the model protocol, the family registry and
a stream wrapper that carries a family's explicit state.

A family (``llanimation`` today; ``diffusion`` and ``face`` next) is an ``nn.Module`` with a
frozen config dataclass that implements :class:`SpeechModel`:

- ``generate(inputs, speaker)``: output frames for whole sequences (offline);
- ``start_stream(speaker)`` -> state, ``push(state, inputs)`` -> ``(frames, state)``,
  ``flush(state)`` -> frames: the same computation on input that arrives in chunks. The state
  is data passed in and out (house style rule 5); a family's stream returns exactly the frames
  of ``generate``, each once its ``lookahead`` frames of input have arrived.

Outputs are ``(b, t, output_dim)`` per model frame at ``config.fps``; ``output_kind`` says how
the pipeline turns them into a result (``"body"``: root + global 6D rotations, see
:mod:`llavataros.models.geometry`; ``"face"``: ARKit blendshape weights).

Axes: ``b`` batch, ``t`` frames, ``d`` features.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Protocol, runtime_checkable

import torch

from llavataros.errors import InputError

OutputKind = Literal["body", "face"]

# family name -> "module:Class"; imported on first use, so loading one family never imports
# the others. A new family adds one line here.
FAMILIES: dict[str, str] = {
    "llanimation": "llavataros.models.llanimation.network:LlanimationModel",
    "diffusion": "llavataros.models.diffusion.model:DiffusionModel",
    "face": "llavataros.models.face.model:FaceSpeechModel",
}
DEFAULT_FAMILY = "llanimation"  # checkpoints written before families had names


@dataclass(frozen=True)
class FrameInputs:
    """Frame-aligned model inputs of ``b`` sequences of ``t`` frames.

    ``text (b, t, text_dim)`` per-word language-model vectors, ``text_mask (b, t)`` True where a
    word covers the frame, ``audio (b, t, audio_dim)`` speech features, optional
    ``phonemes (b, t)`` viseme ids where a transcript is aligned (0: unknown)."""

    text: torch.Tensor
    text_mask: torch.Tensor
    audio: torch.Tensor
    phonemes: torch.Tensor | None = None

    @property
    def frames(self) -> int:
        return self.text.shape[1]

    def slice(self, start: int, stop: int | None = None) -> FrameInputs:
        """Frames ``start .. stop - 1`` of every stream."""
        return FrameInputs(
            self.text[:, start:stop],
            self.text_mask[:, start:stop],
            self.audio[:, start:stop],
            None if self.phonemes is None else self.phonemes[:, start:stop],
        )

    def then(self, later: FrameInputs) -> FrameInputs:
        """These frames followed by ``later``'s."""
        if (self.phonemes is None) != (later.phonemes is None):
            raise ValueError("give phonemes with every chunk of a sequence or with none")
        return FrameInputs(
            torch.cat([self.text, later.text], dim=1),
            torch.cat([self.text_mask, later.text_mask], dim=1),
            torch.cat([self.audio, later.audio], dim=1),
            None if self.phonemes is None else torch.cat([self.phonemes, later.phonemes], dim=1),
        )

    def copy(self) -> FrameInputs:
        """Copies that own their storage (a kept slice does not pin a whole chunk)."""
        phonemes = None if self.phonemes is None else self.phonemes.clone()
        return FrameInputs(self.text.clone(), self.text_mask.clone(), self.audio.clone(), phonemes)


@runtime_checkable
class SpeechModel(Protocol):
    """The protocol of every model family (see the module docstring)."""

    family: ClassVar[str]
    output_kind: ClassVar[OutputKind]
    config: Any

    @property
    def lookahead(self) -> int:
        """Input frames a model frame waits for before it is final."""
        ...

    @property
    def output_dim(self) -> int: ...

    def generate(self, inputs: FrameInputs, speaker: torch.Tensor) -> torch.Tensor: ...

    def start_stream(self, speaker: torch.Tensor) -> Any: ...

    def push(self, state: Any, inputs: FrameInputs) -> tuple[torch.Tensor, Any]: ...

    def flush(self, state: Any) -> torch.Tensor: ...


def family_class(family: str) -> type:
    """The model class of ``family``; an unknown family is an InputError listing the known."""
    target = FAMILIES.get(family)
    if target is None:
        raise InputError(
            None, f"unknown model family {family!r}; known families: {', '.join(FAMILIES)}"
        )
    module, name = target.split(":")
    return getattr(importlib.import_module(module), name)


@contextmanager
def inference(model: torch.nn.Module) -> Iterator[None]:
    """Eval mode and no autograd for the duration; the model's mode is restored after."""
    was_training = model.training
    if was_training:  # switching modes walks every module: only when needed (streams push often)
        model.eval()
    try:
        with torch.inference_mode():
            yield
    finally:
        if was_training:
            model.train()


class ModelStream:
    """Push input chunks of any model family, receive its output frames once they are final.

    A thin holder of the family's explicit stream state; ``options`` go to
    ``model.start_stream`` (e.g. ``max_segment`` for the Transformer-XL). The speaker is fixed
    by the first push; :meth:`flush` ends the sequence and the next push starts a new one.
    """

    def __init__(self, model: SpeechModel, **options: Any):
        self.model, self.options = model, options
        self.state: Any = None
        self.speaker: torch.Tensor | None = None
        self.frames_in = self.frames_out = 0  # of the current sequence

    @property
    def latency_frames(self) -> int:
        """Output lags input by this many frames (the model's lookahead)."""
        return self.model.lookahead

    @property
    def pending_frames(self) -> int:
        """Input frames received but not yet turned into output."""
        return 0 if self.state is None else self.state.pending_frames

    def push(
        self,
        text: torch.Tensor,
        text_mask: torch.Tensor,
        audio: torch.Tensor,
        speaker: torch.Tensor,
        phonemes: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Add ``t`` input frames; return the output frames now final, ``(b, n, output_dim)``."""
        if self.state is None:
            self.speaker = speaker.clone()
            self.state = self.model.start_stream(self.speaker, **self.options)
        elif not torch.equal(speaker, self.speaker):
            raise ValueError("the speaker cannot change within a stream (flush it first)")
        inputs = FrameInputs(text, text_mask, audio, phonemes)
        output, self.state = self.model.push(self.state, inputs)
        self.frames_in += text.shape[1]
        self.frames_out += output.shape[1]
        return output

    def flush(self) -> torch.Tensor:
        """End the sequence: return the remaining output frames and forget the state."""
        if self.state is None:
            return torch.zeros(0, 0, self.model.output_dim)
        output = self.model.flush(self.state)
        self.state = self.speaker = None
        self.frames_in = self.frames_out = 0
        return output
