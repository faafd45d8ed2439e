"""Offline generation and model-level streaming for :class:`LlanimationModel`.

Both run the same computation (LLAniMAtion's Transformer-XL with explicit memory, arXiv
2405.08042 section 3.2), so their outputs are identical frame for frame:

- :func:`generate` cuts a whole sequence into segments of ``W`` frames and runs them one after
  another, each with the memory of the previous one and ``A`` frames of real lookahead input;
  memory stays constant in size for any sequence length;
- :func:`push` accepts input in chunks of any size with an explicit :class:`StreamState` (the
  Transformer-XL memory and a buffer of the last ``A`` input frames, the lookahead not yet
  usable), and returns each output frame as soon as its lookahead has arrived, that is ``A``
  frames (``A / fps`` seconds) after its input. :func:`flush` ends the sequence: the buffered
  frames are produced with the model's end convention (the learned boundary vector in place of
  input after the end), exactly as :func:`generate` treats the last segment.
  :class:`llavataros.models.base.ModelStream` carries the state for callers.

All tensors are batched: text ``(b, t, text_dim)``, text_mask ``(b, t)``, audio
``(b, t, audio_dim)``, speaker ``(b,)``; outputs ``(b, t, 3 + 6 j)``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import torch

from llavataros.models.base import FrameInputs, inference

if TYPE_CHECKING:
    from llavataros.models.llanimation.network import LlanimationModel, ModelMemory


def run_segments(
    model: LlanimationModel,
    text: torch.Tensor,
    text_mask: torch.Tensor,
    audio: torch.Tensor,
    speaker: torch.Tensor,
    frames: int | None = None,
    segment_length: int | None = None,
) -> torch.Tensor:
    """Output ``(b, frames, 3 + 6 j)`` segment by segment with the memory carried (used by
    training and by :func:`generate`). Input frames after ``frames`` (default: none) serve only
    as lookahead for the last segment, as they would in the middle of a longer sequence.
    ``segment_length`` (default ``model.config.segment_length``) changes speed and peak memory,
    never the result."""
    segment = segment_length or model.config.segment_length
    if segment < 1:
        raise ValueError(f"segment_length must be >= 1, got {segment}")
    total = text.shape[1]
    frames = total if frames is None else frames
    outputs = []
    memory = None
    for start in range(0, frames, segment):
        stop = min(start + segment, frames)
        end = min(stop + model.config.lookahead, total)  # real lookahead where there is some
        output, memory = model(
            text[:, start:end],
            text_mask[:, start:end],
            audio[:, start:end],
            speaker,
            memory,
            context_after=end - stop,
        )
        outputs.append(output)
    if not outputs:
        return text.new_zeros(text.shape[0], 0, model.config.output_dim)
    return torch.cat(outputs, dim=1)


def generate(
    model: LlanimationModel,
    text: torch.Tensor,
    text_mask: torch.Tensor,
    audio: torch.Tensor,
    speaker: torch.Tensor,
    segment_length: int | None = None,
) -> torch.Tensor:
    """Output ``(b, t, 3 + 6 j)`` for whole sequences in eval mode without autograd, segment by
    segment with memory (constant memory for any length)."""
    with inference(model):
        return run_segments(model, text, text_mask, audio, speaker, segment_length=segment_length)


@dataclass(frozen=True)
class StreamState:
    """What the stream carries between pushes: the Transformer-XL memory and the input frames
    whose lookahead has not arrived yet (at most ``A``)."""

    speaker: torch.Tensor  # (b,)
    max_segment: int  # frames per model call (bounds work per call; never the result)
    memory: ModelMemory | None = None
    pending: FrameInputs | None = None

    @property
    def pending_frames(self) -> int:
        return 0 if self.pending is None else self.pending.frames


def start_stream(
    model: LlanimationModel, speaker: torch.Tensor, max_segment: int | None = None
) -> StreamState:
    """The state at the start of a sequence for ``speaker (b,)``."""
    return StreamState(speaker, max_segment or model.config.segment_length)


def push(
    model: LlanimationModel, state: StreamState, inputs: FrameInputs
) -> tuple[torch.Tensor, StreamState]:
    """Add input frames; return the output frames whose lookahead has arrived and the new
    state."""
    if state.pending is not None:
        inputs = state.pending.then(inputs)
    return _run(model, state, inputs, final=False)


def flush(model: LlanimationModel, state: StreamState) -> torch.Tensor:
    """End the sequence: the remaining frames, with the model's end convention (the learned
    boundary vector in place of input after the end), exactly as :func:`generate` ends."""
    if state.pending is None:
        return torch.zeros(state.speaker.shape[0], 0, model.config.output_dim)
    return _run(model, state, state.pending, final=True)[0]


def _run(
    model: LlanimationModel, state: StreamState, inputs: FrameInputs, final: bool
) -> tuple[torch.Tensor, StreamState]:
    """Produce every frame whose lookahead is available (all of them when ``final``)."""
    lookahead = model.config.lookahead
    ready = max(inputs.frames - (0 if final else lookahead), 0)
    outputs, memory = [], state.memory
    with inference(model):
        for start in range(0, ready, state.max_segment):
            stop = min(start + state.max_segment, ready)
            end = min(stop + lookahead, inputs.frames)
            piece = inputs.slice(start, end)
            output, memory = model(
                piece.text,
                piece.text_mask,
                piece.audio,
                state.speaker,
                memory,
                context_after=end - stop,
            )
            outputs.append(output)
    pending = inputs.slice(ready).copy()
    state = replace(state, memory=memory, pending=pending)
    if not outputs:
        return inputs.text.new_zeros(inputs.text.shape[0], 0, model.config.output_dim), state
    return torch.cat(outputs, dim=1), state
