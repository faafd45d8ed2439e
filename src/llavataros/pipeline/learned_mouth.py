"""The learned mouth: the face model (family ``face``) from speech alone, where no words are
known (no transcript, speech that is not English, the live stream before its words settle).

It replaces the rule face's loudness jaw there (:class:`~llavataros.face.rules.RuleFace`
takes it as ``mouth``): it follows the jaw better (held-out FACEGOOD clip, jawOpen r 0.81
against 0.75 for the loudness jaw; held-out synthetic English, 0.91 against 0.61) and closes
the lips on p, b, m. Where words are known the visemes stay in charge, blinks and brows stay
with the rules.

:class:`LearnedMouth` is incremental: audio goes in with :meth:`~LearnedMouth.add_audio`, and
model frames (at the model's fps) are computed, ``batch_frames`` at a time, once the audio
their features read has arrived (:meth:`ProsodyFeatures.extract_range`) and their lookahead
frames exist
(:class:`~llavataros.models.face.stream.FaceStream`); output frames at any fps interpolate the
two model frames around them. Fed all audio at once or in chunks, it gives the same frames
(to float round-off), so the stream's face equals ``animate``'s.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from llavataros.errors import InputError
from llavataros.face.arkit import LOWER_FACE, NUM_BLENDSHAPES
from llavataros.features.audio_encoders import ProsodyFeatures
from llavataros.features.streaming import final_frames, first_sample_needed
from llavataros.models.checkpoint import ASSETS, load_checkpoint
from llavataros.models.face.network import FaceModel
from llavataros.models.face.stream import FaceStream
from llavataros.speech.audio import SAMPLE_RATE

SHIPPED_FACE_MODEL = ASSETS / "face"
# The shipped model's two speakers: captured faces of Mandarin speech (FACEGOOD) and the
# synthetic corpus's English faces. Audio alone, each is best on its own language (held-out
# FACEGOOD clip, jawOpen r 0.808 vs 0.736; held-out English takes, 0.552 vs 0.909).
REAL_SPEAKER, ENGLISH_SPEAKER = 0, 1


def load_face_model(path: str | Path | None = None) -> FaceModel:
    """A face-family checkpoint (default: the shipped one) in eval mode."""
    source = Path(path) if path is not None else SHIPPED_FACE_MODEL
    model, _ = load_checkpoint(source)
    if not isinstance(model, FaceModel):
        raise InputError(source, f"not a face model (family {model.family})")
    if model.config.audio_dim != ProsodyFeatures(model.config.fps).dim:
        raise InputError(source, "the face model does not read the prosody features")
    return model.eval()


class LearnedMouth:
    """Lower-face weights ``(n, 52)`` at ``fps`` from 16 kHz audio, computed as audio arrives."""

    def __init__(
        self, model: FaceModel, fps: float, speaker: int = ENGLISH_SPEAKER, batch_frames: int = 6
    ):
        self.fps = float(fps)
        self.batch_frames = batch_frames  # model frames run together (a call costs ~ the same)
        self.model_fps = float(model.config.fps)
        self.encoder = ProsodyFeatures(self.model_fps)
        self.stream = FaceStream(model)
        self.speaker = torch.tensor([speaker])
        self.audio = np.zeros(0, dtype=np.float32)  # received audio not yet forgotten
        self.audio_offset = 0  # absolute index of self.audio[0]
        self.samples_in = 0
        self.features_out = 0  # model frames whose features went to the model
        self.finished = False
        self.outputs = np.zeros((0, NUM_BLENDSHAPES), np.float32)  # model frames kept
        self.outputs_offset = 0  # model frame index of self.outputs[0]
        self.mask = np.zeros(NUM_BLENDSHAPES, np.float32)
        self.mask[list(LOWER_FACE)] = 1.0

    @property
    def latency_seconds(self) -> float:
        """Speech time an output frame waits for, at most: the features' audio context, the
        model's lookahead, the next model frame and the rest of its batch."""
        context = self.encoder.context_samples() / SAMPLE_RATE
        waits = self.stream.latency_frames + 1 + self.batch_frames - 1
        return context + waits / self.model_fps

    def add_audio(self, samples: np.ndarray) -> None:
        samples = np.asarray(samples, dtype=np.float32).reshape(-1)
        self.audio = np.concatenate([self.audio, samples])
        self.samples_in += len(samples)
        ready = final_frames(self.encoder, self.samples_in)
        if ready - self.features_out >= self.batch_frames:
            self._advance(ready, final=False)

    def finish(self) -> None:
        """No more audio: the last model frames (their features read zeros past the end)."""
        if self.finished:
            return
        total = max(1, math.ceil(self.samples_in * self.model_fps / SAMPLE_RATE))
        self._advance(total, final=True)
        self.finished = True

    def ready_frames(self) -> int:
        """Output frames whose model frames exist (all of them after :meth:`finish`)."""
        if self.finished:
            return 10**12
        done = self.outputs_offset + len(self.outputs)  # model frames computed
        # frame k interpolates model frames floor(k * model_fps / fps) and the one after it
        return max(0, math.ceil((done - 1) * self.fps / self.model_fps - 1e-9))

    def frames(self, first: int, count: int) -> np.ndarray:
        """Output frames ``first .. first + count - 1`` ``(count, 52)`` float32 (lower face
        only; the rest is 0). Frames before ``first`` are forgotten."""
        if count <= 0:
            return np.zeros((0, NUM_BLENDSHAPES), np.float32)
        if first + count > self.ready_frames():
            raise RuntimeError("the learned mouth has not heard the audio of these frames yet")
        done = self.outputs_offset + len(self.outputs)
        position = np.minimum((first + np.arange(count)) * self.model_fps / self.fps, done - 1)
        low = np.floor(position).astype(np.int64)
        high = np.minimum(low + 1, done - 1)
        mix = (position - low)[:, None].astype(np.float32)
        rows = self.outputs[low - self.outputs_offset] * (1 - mix)
        rows += self.outputs[high - self.outputs_offset] * mix
        following = int(np.floor((first + count) * self.model_fps / self.fps))
        keep = max(0, following - self.outputs_offset)
        keep = min(keep, max(0, len(self.outputs) - 1))
        self.outputs, self.outputs_offset = self.outputs[keep:], self.outputs_offset + keep
        return (rows * self.mask).astype(np.float32)

    def _advance(self, stop: int, final: bool) -> None:
        first = self.features_out
        pushed = torch.zeros(1, 0, self.encoder.dim)
        if stop > first:
            rows = self.encoder.extract_range(self.audio, first, stop - first, self.audio_offset)
            pushed = torch.from_numpy(rows)[None]
            self.features_out = stop
            drop = max(0, first_sample_needed(self.encoder, stop) - self.audio_offset)
            self.audio, self.audio_offset = self.audio[drop:], self.audio_offset + drop
        output = self.stream.push(pushed, self.speaker) if pushed.shape[1] else None
        parts = [self.outputs]
        if output is not None:
            parts.append(output[0].numpy())
        if final:
            rest = self.stream.flush()
            if rest.shape[0]:
                parts.append(rest[0].numpy())
        self.outputs = np.concatenate(parts).astype(np.float32)
