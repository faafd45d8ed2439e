"""Offline generation and streaming for :class:`~llavataros.models.face.network.FaceModel`.

Both run the same computation with the state carried explicitly, so they agree frame for
frame (to float round-off of the chunked scan):

- :func:`generate_face` runs whole sequences in segments of ``segment_length`` frames, each
  with ``lookahead`` frames of real input after it;
- :class:`FaceStream` accepts chunks of any size, keeps the model state and the last
  ``lookahead`` input frames, and returns each output frame once its lookahead has arrived
  (``lookahead / fps`` s after its input); :meth:`FaceStream.flush` ends the sequence with
  the model's end convention, as offline generation does.

Tensors: audio ``(b, t, audio_dim)`` float, phonemes ``(b, t)`` long or None, speaker ``(b,)``
long; outputs ``(b, t, 52)`` weights in [0, 1].
"""

from __future__ import annotations

import numpy as np
import torch

from llavataros.models.face.network import FaceModel, FaceState


def run_face_segments(
    model: FaceModel,
    audio: torch.Tensor,
    speaker: torch.Tensor,
    phonemes: torch.Tensor | None = None,
    segment_length: int = 300,
    state: FaceState | None = None,
    final: bool = True,
) -> tuple[torch.Tensor, FaceState | None]:
    """Output for every frame whose lookahead is in ``audio`` (all of them when ``final``),
    segment by segment, and the state after the last one."""
    lookahead = model.config.lookahead
    total = audio.shape[1]
    ready = total if final else max(total - lookahead, 0)
    outputs = []
    for start in range(0, ready, segment_length):
        stop = min(start + segment_length, ready)
        end = min(stop + lookahead, total)
        output, state = model(
            audio[:, start:end],
            speaker,
            None if phonemes is None else phonemes[:, start:end],
            state,
            context_after=end - stop,
        )
        outputs.append(output)
    if not outputs:
        return audio.new_zeros(audio.shape[0], 0, model.config.num_outputs), state
    return torch.cat(outputs, dim=1), state


def generate_face(
    model: FaceModel,
    audio: torch.Tensor,
    speaker: torch.Tensor,
    phonemes: torch.Tensor | None = None,
    segment_length: int = 300,
) -> torch.Tensor:
    """``(b, t, 52)`` for whole sequences, in eval mode without autograd."""
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            return run_face_segments(model, audio, speaker, phonemes, segment_length)[0]
    finally:
        model.train(was_training)


class FaceStream:
    """Push feature chunks, receive face frames once their lookahead has arrived."""

    def __init__(self, model: FaceModel, max_segment: int = 300):
        self.model, self.max_segment = model, max_segment
        self.reset()

    def reset(self) -> None:
        """Forget everything: the next push starts a new sequence."""
        self.state: FaceState | None = None
        self.speaker: torch.Tensor | None = None
        self._pending: tuple[torch.Tensor, torch.Tensor | None] | None = None

    @property
    def latency_frames(self) -> int:
        return self.model.config.lookahead

    @property
    def pending_frames(self) -> int:
        """Frames received whose output waits for their lookahead."""
        return 0 if self._pending is None else self._pending[0].shape[1]

    def push(
        self, audio: torch.Tensor, speaker: torch.Tensor, phonemes: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Add ``t`` frames; return the face frames now ready ``(b, n, 52)``."""
        if self.speaker is None:
            self.speaker = speaker.clone()
        elif not torch.equal(speaker, self.speaker):
            raise ValueError("the speaker cannot change within a stream (reset it first)")
        if self._pending is not None:
            old_audio, old_phonemes = self._pending
            if (old_phonemes is None) != (phonemes is None):
                raise ValueError("give phonemes with every chunk of a stream or with none")
            audio = torch.cat([old_audio, audio], dim=1)
            if phonemes is not None:
                phonemes = torch.cat([old_phonemes, phonemes], dim=1)
        return self._run(audio, phonemes, final=False)

    def flush(self) -> torch.Tensor:
        """End the sequence: the remaining frames; the stream is reset."""
        if self._pending is None:
            batch = 0 if self.speaker is None else self.speaker.shape[0]
            output = torch.zeros(batch, 0, self.model.config.num_outputs)
        else:
            output = self._run(*self._pending, final=True)
        self.reset()
        return output

    def _run(self, audio, phonemes, final: bool) -> torch.Tensor:
        was_training = self.model.training
        if was_training:  # a model in eval mode (as shared by the server) is left untouched
            self.model.eval()
        try:
            with torch.inference_mode():
                output, self.state = run_face_segments(
                    self.model, audio, self.speaker, phonemes, self.max_segment, self.state, final
                )
        finally:
            if was_training:
                self.model.train()
        ready = output.shape[1]
        self._pending = (
            audio[:, ready:].clone(),
            None if phonemes is None else phonemes[:, ready:].clone(),
        )
        return output


def predict_face(
    model: FaceModel,
    features: np.ndarray,
    speaker: int = 0,
    visemes: np.ndarray | None = None,
) -> np.ndarray:
    """One take, NumPy in and out (the hook for ``animate``): features ``(T, audio_dim)``
    at the model's fps, optional viseme ids ``(T,)`` -> weights ``(T, 52)`` float32."""
    audio = torch.as_tensor(np.asarray(features, dtype=np.float32))[None]
    phonemes = None if visemes is None else torch.as_tensor(np.asarray(visemes))[None].long()
    speakers = torch.tensor([speaker], dtype=torch.long)
    return generate_face(model, audio, speakers, phonemes)[0].numpy().astype(np.float32)
