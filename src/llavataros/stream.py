"""Live animation: push audio (and words) chunk by chunk, get AvatarOS frames back.

Every stage is chunk-invariant, so a stream fed in any chunks returns the frames of
:meth:`Animator.animate` on the whole recording (to float rounding):

- prosody features of a frame read only the audio around its own time
  (:meth:`ProsodyFeatures.extract_range`), so a frame is computed once that audio has arrived;
- the Transformer-XL is causal with a fixed window and carries its memory
  (:class:`~llavataros.model.stream.ModelStream`), delaying output by the model's lookahead;
- resampling to the output fps and Savitzky-Golay smoothing are recomputed on a short trailing
  buffer and a frame is released once the frames it depends on are final (4 output frames of
  smoothing context).

Word vectors come from the transcript given at the start (e.g. the text a TTS voice is
speaking) plus any words pushed later. With a bidirectional encoder (the default MiniLM), words
that arrive later change the vectors of earlier words, so frames already released used the
words known at that time; a causal language model (Llama, the paper's choice) has no such
difference. Memory stays bounded however long the stream runs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from llavataros.data.dataset import FeatureStatistics
from llavataros.errors import InputError
from llavataros.features.audio import ProsodyFeatures
from llavataros.features.text import expand_words, frame_word_index
from llavataros.model.geometry import RootStatistics, matrix_to_quaternion, sixd_to_matrix
from llavataros.model.stream import ModelStream
from llavataros.motion import rotations
from llavataros.motion.smoothing import smooth as savgol_smooth
from llavataros.motion.take import Motion
from llavataros.pipeline import Animator
from llavataros.speech.audio import SAMPLE_RATE
from llavataros.speech.words import Transcript, Word

SMOOTH_WINDOW, SMOOTH_ORDER = 9, 2
SMOOTH_HALF = SMOOTH_WINDOW // 2
WORD_CONTEXT = 32  # earlier words kept as left context when new words are encoded


class AnimationStream:
    """Feed 16 kHz mono audio with :meth:`push`; call :meth:`finish` at the end. Both return
    AvatarOS frames ``(n, 9, 7)`` float32 at ``fps`` (default: the corpus rate)."""

    def __init__(
        self,
        animator: Animator,
        transcript: Transcript | None = None,
        speaker: str | int | None = None,
        fps: float | None = None,
        smooth: bool = True,
    ):
        encoder = animator.extractor.audio_encoder
        if not isinstance(encoder, ProsodyFeatures):
            raise InputError(
                None,
                "streaming needs the prosody audio features; this model was "
                "trained with a transformers speech encoder",
            )
        self.animator, self.smooth = animator, smooth
        self.model_fps = animator.model.config.fps
        self.fps = float(fps or animator.default_fps)
        if encoder.fps != self.model_fps:
            encoder = encoder.with_fps(self.model_fps)
        self.encoder = encoder
        self.statistics = FeatureStatistics.from_dict(animator.metadata["audio_statistics"])
        self.root_statistics = RootStatistics.from_dict(animator.metadata["root_statistics"])
        self.speaker = torch.tensor([animator.speaker_id(speaker)])
        self.model_stream = ModelStream(animator.model)
        self.words: list[Word] = list(transcript.words) if transcript else []
        self._vectors: np.ndarray | None = None  # (words so far, d) once computed
        self.audio = np.zeros(0, dtype=np.float32)  # received audio not yet forgotten
        self.audio_offset = 0  # absolute index of self.audio[0]
        self.samples_in = 0
        self.features_out = 0  # model frames whose features went to the model
        self.model_root = np.zeros((0, 3))  # model-rate frames kept for resampling
        self.model_quats = np.zeros((0, animator.skeleton.num_joints, 4))
        self.model_first = 0  # absolute index of model_root[0]
        self.model_total = 0  # model frames produced so far
        self.frames_out = 0  # output frames released
        self.finished = False

    # -- public ---------------------------------------------------------------------------
    def push(self, audio: np.ndarray, words: Sequence[Word] = ()) -> np.ndarray:
        """Add audio samples (and words whose times are now known); return new frames."""
        if self.finished:
            raise RuntimeError("the stream has finished")
        audio = np.asarray(audio, dtype=np.float32).reshape(-1)
        if not np.all(np.isfinite(audio)):
            raise InputError(None, "audio chunk contains NaN or infinite samples")
        if words:
            self.words.extend(words)
        self.audio = np.concatenate([self.audio, audio])
        self.samples_in += len(audio)
        context = self.encoder.context_samples()
        ready = math.floor((self.samples_in - context) * self.model_fps / SAMPLE_RATE) + 1
        return self._advance(max(ready, self.features_out), final=False)

    def finish(self) -> np.ndarray:
        """End of speech: return the remaining frames (the total is ``round(duration*fps)``)."""
        if self.samples_in == 0:
            raise InputError(None, "the stream received no audio")
        total = max(1, int(round(self.samples_in / SAMPLE_RATE * self.model_fps)))
        frames = self._advance(total, final=True)
        self.finished = True
        return frames

    @property
    def latency_seconds(self) -> float:
        """Speech time by which released frames lag the audio received (excluding compute)."""
        smoothing = SMOOTH_HALF / self.fps if self.smooth else 0.0
        context = self.encoder.context_samples() / SAMPLE_RATE
        return self.animator.model.config.lookahead / self.model_fps + context + smoothing

    # -- stages ---------------------------------------------------------------------------
    def _advance(self, feature_frames: int, final: bool) -> np.ndarray:
        new_rows = self._features(self.features_out, feature_frames)
        if new_rows is not None:
            output = self.model_stream.push(*new_rows, self.speaker)
            self._keep_model_frames(output[0])
        if final:
            self._keep_model_frames(self.model_stream.flush()[0])
        return self._release(final)

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
        keep_from = int(self.encoder.frame_centre(stop - 1)) - self.encoder.context_samples()
        drop = max(0, keep_from - self.audio_offset)
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

    def _keep_model_frames(self, output: torch.Tensor) -> None:
        """Append model output rows ``(n, 3 + 6 j)`` as root + sign-continuous quaternions."""
        if output.shape[0] == 0:
            return
        output = output.detach().to(torch.float64)
        root = self.root_statistics.denormalise(output[:, :3]).numpy()
        sixd = output[:, 3:].unflatten(-1, (-1, 6))
        quats = rotations.normalize(matrix_to_quaternion(sixd_to_matrix(sixd)).numpy())
        if len(self.model_quats):
            quats = np.concatenate([self.model_quats[-1:], quats])
            quats = rotations.make_continuous(quats)[1:]
        else:
            quats = rotations.make_continuous(quats)
        self.model_root = np.concatenate([self.model_root, root])
        self.model_quats = np.concatenate([self.model_quats, quats])
        self.model_total += len(root)

    def _release(self, final: bool) -> np.ndarray:
        ratio = self.model_fps / self.fps  # model frames per output frame
        if final:
            total = max(1, int(round(self.samples_in / SAMPLE_RATE * self.fps)))
            ready = total
        else:
            # output frame k interpolates model frames floor(k r) and floor(k r) + 1
            ready = max(0, math.ceil((self.model_total - 1) / ratio))
            while ready > 0 and math.floor((ready - 1) * ratio) + 1 > self.model_total - 1:
                ready -= 1
        if ready <= self.frames_out:
            return np.zeros((0, self.model_quats.shape[1], 7), np.float32)
        release = ready if (final or not self.smooth) else ready - SMOOTH_HALF
        if release <= self.frames_out:
            return np.zeros((0, self.model_quats.shape[1], 7), np.float32)
        start = max(0, self.frames_out - (2 * SMOOTH_HALF if self.smooth else 0))
        if self.smooth and not final and start > 0 and ready - start < SMOOTH_WINDOW:
            return np.zeros((0, self.model_quats.shape[1], 7), np.float32)
        if self.smooth and not final and start == 0 and ready < SMOOTH_WINDOW:
            return np.zeros((0, self.model_quats.shape[1], 7), np.float32)
        motion = self._interpolate(start, ready, final)
        if self.smooth:
            motion = savgol_smooth(motion, SMOOTH_WINDOW, SMOOTH_ORDER)
        frames = motion.to_array(np.float32)[self.frames_out - start : release - start]
        self.frames_out = release
        self._forget_model_frames(ratio)
        return frames

    def _interpolate(self, start: int, stop: int, final: bool) -> Motion:
        """Output frames ``start .. stop - 1`` by slerp between model frames (as ``resample``)."""
        source = np.arange(start, stop) * (self.model_fps / self.fps)
        if final:
            source = np.clip(source, 0.0, self.model_total - 1)
        before = np.floor(source).astype(int)
        after = np.minimum(before + 1, self.model_total - 1)
        fraction = source - before
        b, a = before - self.model_first, after - self.model_first
        root = self.model_root[b] + fraction[:, None] * (self.model_root[a] - self.model_root[b])
        quats = rotations.slerp(self.model_quats[b], self.model_quats[a], fraction[:, None])
        return Motion.from_root_and_rotations(root, quats, self.fps, self.animator.skeleton)

    def _forget_model_frames(self, ratio: float) -> None:
        needed = max(0, self.frames_out - 2 * SMOOTH_HALF - 1)
        first_needed = math.floor(needed * ratio)
        drop = max(0, first_needed - self.model_first)
        if drop:
            self.model_root, self.model_quats = self.model_root[drop:], self.model_quats[drop:]
            self.model_first += drop
