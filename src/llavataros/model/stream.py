"""Offline generation and model-level streaming for :class:`LlanimationModel`.

Both run the same computation (LLAniMAtion's Transformer-XL with explicit memory, arXiv
2405.08042 section 3.2), so their outputs are identical frame for frame:

- :func:`generate` cuts a whole sequence into segments of ``W`` frames and runs them one after
  another, each with the memory of the previous one and ``A`` frames of real lookahead input;
  memory stays constant in size for any sequence length;
- :class:`ModelStream` accepts input in chunks of any size, keeps the Transformer-XL memory and
  a buffer of the last ``A`` input frames (the lookahead not yet usable), and returns each
  output frame as soon as its lookahead has arrived, that is ``A`` frames
  (``A / fps`` seconds) after its input. :meth:`ModelStream.flush` ends the sequence: the
  buffered frames are produced with the model's end convention (the learned boundary vector
  in place of input after the end), exactly as :func:`generate` treats the last segment.

All tensors are batched: text ``(b, t, text_dim)``, text_mask ``(b, t)``, audio
``(b, t, audio_dim)``, speaker ``(b,)``; outputs ``(b, t, 3 + 6 j)``.
"""

from __future__ import annotations

from contextlib import contextmanager

import torch

from llavataros.model.llanimation import LlanimationModel, ModelMemory


@contextmanager
def _inference(model: torch.nn.Module):
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
    memory: ModelMemory | None = None
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
    with _inference(model):
        return run_segments(model, text, text_mask, audio, speaker, segment_length=segment_length)


class ModelStream:
    """Push input chunks, receive output frames once their lookahead has arrived.

    ``max_segment`` bounds the frames processed per model call (a large chunk is split), so
    work and memory per call stay bounded; it does not change the result.
    """

    def __init__(self, model: LlanimationModel, max_segment: int | None = None):
        self.model = model
        self.max_segment = max_segment or model.config.segment_length
        self.reset()

    def reset(self) -> None:
        """Forget everything: the next push starts a new sequence."""
        self.memory: ModelMemory | None = None
        self.speaker: torch.Tensor | None = None
        self._pending: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None
        self.frames_in = 0
        self.frames_out = 0

    @property
    def latency_frames(self) -> int:
        """Output lags input by this many frames (the model's lookahead)."""
        return self.model.config.lookahead

    @property
    def pending_frames(self) -> int:
        """Input frames received but not yet turned into output (at most the lookahead)."""
        return 0 if self._pending is None else self._pending[0].shape[1]

    def push(
        self,
        text: torch.Tensor,
        text_mask: torch.Tensor,
        audio: torch.Tensor,
        speaker: torch.Tensor,
    ) -> torch.Tensor:
        """Add ``t`` input frames; return the output frames now ready, ``(b, n, 3 + 6 j)``."""
        if self.speaker is None:
            self.speaker = speaker.clone()
        elif not torch.equal(speaker, self.speaker):
            raise ValueError("the speaker cannot change within a stream (reset it first)")
        self.frames_in += text.shape[1]
        if self._pending is not None:
            text, text_mask, audio = (
                torch.cat([old, new], dim=1)
                for old, new in zip(self._pending, (text, text_mask, audio), strict=True)
            )
        return self._run(text, text_mask, audio, final=False)

    def flush(self) -> torch.Tensor:
        """End the sequence: return the remaining output frames and reset the stream."""
        if self._pending is None:
            batch = 0 if self.speaker is None else self.speaker.shape[0]
            output = torch.zeros(batch, 0, self.model.config.output_dim)
        else:
            output = self._run(*self._pending, final=True)
        self.reset()
        return output

    def _run(self, text, text_mask, audio, final: bool) -> torch.Tensor:
        """Produce every frame whose lookahead is available (all of them when ``final``)."""
        lookahead = 0 if final else self.model.config.lookahead
        ready = max(text.shape[1] - lookahead, 0)
        outputs = []
        with _inference(self.model):
            start = 0
            while start < ready:
                stop = min(start + self.max_segment, ready)
                end = min(stop + self.model.config.lookahead, text.shape[1])
                output, self.memory = self.model(
                    text[:, start:end],
                    text_mask[:, start:end],
                    audio[:, start:end],
                    self.speaker,
                    self.memory,
                    context_after=end - stop,
                )
                outputs.append(output)
                start = stop
        # Copies, so the buffer does not keep the whole chunk's storage alive.
        self._pending = (
            text[:, ready:].clone(),
            text_mask[:, ready:].clone(),
            audio[:, ready:].clone(),
        )
        if not outputs:
            return text.new_zeros(text.shape[0], 0, self.model.config.output_dim)
        result = torch.cat(outputs, dim=1)
        self.frames_out += result.shape[1]
        return result
