"""Live animation: push audio (and words) chunk by chunk, get AvatarOS frames back.

Every stage is chunk-invariant, so a stream fed in any chunks returns the frames of
:meth:`Animator.animate` on the whole recording (to float rounding):

- prosody features of a frame read only the audio around its own time
  (:meth:`ProsodyFeatures.extract_range`), so a frame is computed once that audio has arrived;
- the model (any family) streams with explicit state
  (:class:`~llavataros.models.base.ModelStream`), delaying output by its lookahead;
- post-processing is the offline path run incrementally
  (:class:`~llavataros.pipeline.postprocess.MotionAssembler`): a frame is released once the
  frames it depends on are final (half a smoothing window of context).

Word vectors come from the transcript given at the start (e.g. the text a TTS voice is
speaking) plus any words pushed later. With a bidirectional encoder (the default MiniLM), words
that arrive later change the vectors of earlier words, so frames already released used the
words known at that time; a causal language model (Llama, the paper's choice) has no such
difference. Memory stays bounded however long the stream runs.

The face (:mod:`llavataros.pipeline.face`, the rule-based face while no face model ships) is
computed causally beside the body: :meth:`AnimationStream.push_frames` and
:meth:`~AnimationStream.finish_frames` return :class:`StreamFrames`, body and face frames for
the same times; a face frame reads the audio around its time and the words known when it is
released, so with the same words the stream's face equals the offline face.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from llavataros.errors import InputError
from llavataros.face.rules import RuleFace
from llavataros.features.streaming import (
    StreamingAudioEncoder,
    final_frames,
    first_sample_needed,
)
from llavataros.features.text_encoders import expand_words, frame_word_index
from llavataros.models.base import ModelStream
from llavataros.motion.skeleton import NUM_JOINTS
from llavataros.motion.timing import frame_count
from llavataros.pipeline.animate import Animator, silence_frames, with_silence
from llavataros.pipeline.face import FaceWords, learned_mouth
from llavataros.pipeline.postprocess import MotionAssembler
from llavataros.pipeline.preflight import output_fps
from llavataros.speech.audio import SAMPLE_RATE
from llavataros.speech.words import Transcript, Word

WORD_CONTEXT = 32  # earlier words kept as left context when new words are encoded


@dataclass(frozen=True)
class StreamFrames:
    """Frames released together: body ``(n, 9, 7)`` and face ``(n, 52)`` (None without a
    face) float32, at the stream's fps."""

    body: np.ndarray
    face: np.ndarray | None


class AnimationStream:
    """Feed 16 kHz mono audio with :meth:`push`; call :meth:`finish` at the end. Both return
    AvatarOS frames ``(n, 9, 7)`` float32 at ``fps`` (default: the corpus rate);
    :meth:`push_frames` and :meth:`finish_frames` return the face frames too (``face=False``:
    no face)."""

    def __init__(
        self,
        animator: Animator,
        transcript: Transcript | None = None,
        speaker: str | int | None = None,
        fps: float | None = None,
        smooth: bool = True,
        face: bool = True,
    ):
        encoder = animator.extractor.audio_encoder
        if not isinstance(encoder, StreamingAudioEncoder):
            raise InputError(
                None,
                "streaming needs audio features computed by frame range (the prosody "
                "features); this model was trained with a transformers speech encoder",
            )
        self.animator = animator
        self.model_fps = animator.model.config.fps
        self.fps = output_fps(fps, animator.default_fps)  # 0 is refused, not the default
        if encoder.fps != self.model_fps:
            encoder = encoder.with_fps(self.model_fps)
        self.encoder = encoder
        self.statistics = animator.metadata.audio_statistics
        self.speaker = torch.tensor([animator.speaker_id(speaker)])
        self.model_stream = ModelStream(animator.model)
        self.assembler = MotionAssembler(
            animator.skeleton,
            animator.metadata.root_statistics,
            self.model_fps,
            self.fps,
            smooth,
            animator.smoothing_seconds,
            animator.speed_limit,
        )
        self.words: list[Word] = list(transcript.words) if transcript else []
        self._vectors: np.ndarray | None = None  # (words so far, d) once computed
        self.audio = np.zeros(0, dtype=np.float32)  # received audio not yet forgotten
        self.audio_offset = 0  # absolute index of self.audio[0]
        self.samples_in = 0
        self.features_out = 0  # model frames whose features went to the model
        self.finished = False
        mouth = learned_mouth(animator.face_model, self.fps) if face else None
        self.face = RuleFace(self.fps, mouth=mouth) if face else None
        self._waiting = np.zeros((0, NUM_JOINTS, 7), np.float32)  # body frames awaiting faces
        self.face_words = FaceWords()
        if self.face is not None:
            self.face_words.add(self.face, self.words)

    # -- public ---------------------------------------------------------------------------
    def push(self, audio: np.ndarray, words: Sequence[Word] = ()) -> np.ndarray:
        """Add audio samples (and words whose times are now known); return new frames."""
        return self.push_frames(audio, words).body

    def finish(self) -> np.ndarray:
        """End of speech: return the remaining frames (the total is ``round(duration*fps)``)."""
        return self.finish_frames().body

    def push_frames(self, audio: np.ndarray, words: Sequence[Word] = ()) -> StreamFrames:
        """As :meth:`push`, returning body and face frames."""
        if self.finished:
            raise RuntimeError("the stream has finished")
        audio = np.asarray(audio, dtype=np.float32).reshape(-1)
        if not np.all(np.isfinite(audio)):
            raise InputError(None, "audio chunk contains NaN or infinite samples")
        if words:
            self.words.extend(words)
        if self.face is not None:
            self.face.add_audio(audio)
            self.face_words.add(self.face, words)
        self.audio = np.concatenate([self.audio, audio])
        self.samples_in += len(audio)
        ready = final_frames(self.encoder, self.samples_in)
        return self._with_face(self._advance(max(ready, self.features_out)))

    def finish_frames(self) -> StreamFrames:
        """As :meth:`finish`, returning body and face frames."""
        if self.samples_in == 0:
            raise InputError(None, "the stream received no audio")
        seconds = self.samples_in / SAMPLE_RATE
        silence = silence_frames(self.animator.model)  # as offline: speech, then silence
        self.audio = with_silence(self.audio, silence, self.model_fps)
        released = self._advance(frame_count(seconds, self.model_fps) + silence)
        self.assembler.add(self.model_stream.flush()[0])
        self.finished = True
        if self.face is not None:
            self.face.finish()
        body = np.concatenate([released, self.assembler.finish(frame_count(seconds, self.fps))])
        return self._with_face(body)

    @property
    def latency_seconds(self) -> float:
        """Speech time by which released frames lag the audio received, at most (excluding
        compute and the first frames, which wait for a whole smoothing window): the model's
        lookahead, the audio context of its last feature frame, the smoothing window and the
        wait for the next model frame when output frames fall between two; or the face's wait
        (:attr:`RuleFace.latency_seconds`) when that is longer."""
        lookahead = self.model_stream.latency_frames / self.model_fps
        context = self.encoder.context_samples() / SAMPLE_RATE
        smoothing = self.assembler.latency_frames / self.fps
        body = lookahead + context + smoothing + self.assembler.interpolation_seconds
        return body if self.face is None else max(body, self.face.latency_seconds)

    # -- stages ---------------------------------------------------------------------------
    def _with_face(self, body: np.ndarray) -> StreamFrames:
        """Body frames with their face frames: a body frame waits for its face when the face
        needs more audio than the body (a gesture model with a short lookahead)."""
        if self.face is None:
            return StreamFrames(body, None)
        waiting = np.concatenate([self._waiting, body]) if len(self._waiting) else body
        count = len(waiting)
        if not self.finished:
            count = min(count, self.face.ready_frames() - self.face.frames_out)
        self._waiting = waiting[count:]
        face = self.face.frames(self.face.frames_out + count)
        return StreamFrames(waiting[:count], face)

    def _advance(self, feature_frames: int) -> np.ndarray:
        """Send features up to ``feature_frames`` to the model; return output frames now final."""
        new_rows = self._features(self.features_out, feature_frames)
        if new_rows is None:
            return self.assembler.push(torch.zeros(0, self.animator.model.output_dim))
        return self.assembler.push(self.model_stream.push(*new_rows, self.speaker)[0])

    def _features(self, first: int, stop: int):
        count = stop - first
        if count <= 0:
            return None
        audio = self.encoder.extract_range(self.audio, first, count, self.audio_offset)
        audio = self.statistics.normalize(audio)
        index = frame_word_index(
            Transcript(text="", words=tuple(self.words)), count, self.model_fps, first_frame=first
        )
        text, mask = expand_words(self._word_vectors(), index)
        self.features_out = stop
        # forget audio no later frame can read (keep the previous frame's context too)
        drop = max(0, first_sample_needed(self.encoder, stop) - self.audio_offset)
        self.audio, self.audio_offset = self.audio[drop:], self.audio_offset + drop
        return (
            torch.from_numpy(text)[None],
            torch.from_numpy(mask)[None],
            torch.from_numpy(audio)[None],
        )

    def _word_vectors(self) -> np.ndarray:
        """Vectors of all words so far. When words arrive, only the words whose frames have not
        gone to the model yet are encoded again (with up to ``WORD_CONTEXT`` earlier words as
        context), so the cost per push stays bounded however long the stream runs."""
        if self._vectors is not None and len(self._vectors) == len(self.words):
            return self._vectors
        old = self._vectors if self._vectors is not None else np.zeros((0, 0), np.float32)
        released = self.features_out / self.model_fps
        first_open = next(
            (i for i, word in enumerate(self.words) if word.end > released), len(self.words)
        )
        first_open = min(first_open, len(old))
        start = max(0, first_open - WORD_CONTEXT) if len(old) else 0
        words = tuple(self.words[start:])
        vectors = self.animator.extractor.word_vectors(Transcript(text="", words=words))
        if len(vectors) == 0:
            vectors = np.zeros((0, self.animator.extractor.text_dim), np.float32)
        kept = old[:first_open] if len(old) else vectors[:0]
        self._vectors = np.concatenate([kept, vectors[first_open - start :]])
        return self._vectors
