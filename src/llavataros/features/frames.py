"""Model inputs for one recording: frame-aligned text and audio features (LLAniMAtion method).

:class:`FeatureExtractor` composes a :class:`~llavataros.features.text_encoders.TextEncoder`, an
:class:`~llavataros.features.audio_encoders.AudioEncoder` and an optional
:class:`~llavataros.features.cache.FeatureCache`. It caches two kinds of entries:

- ``words``: one vector per transcript word ``(n_words, d_text)``, keyed by the words and the
  text encoder's settings. Word times and fps do not enter this key: the vectors depend on the
  words only, and spreading them over frames is cheap, so re-timing a transcript or changing
  the fps re-uses them (a frame-level entry for a 4096-d Llama would also be ~100 MB a take).
- ``audio``: ``(t, d_audio)``, keyed by the audio content digest, the audio encoder's settings
  (fps included) and the frame count.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from llavataros.errors import InputError
from llavataros.features.audio_encoders import AudioEncoder
from llavataros.features.cache import (
    FeatureCache,
    file_digest,
    samples_digest,
    transcript_digest,
)
from llavataros.features.text_encoders import TextEncoder, words_to_frames
from llavataros.motion.timing import frame_count
from llavataros.speech.words import Transcript


@dataclass(frozen=True)
class FrameFeatures:
    """Per-frame model inputs at ``fps``: ``text (t, d_text)`` float32, ``text_mask (t,)`` bool
    (True where a word is spoken), ``audio (t, d_audio)`` float32."""

    text: np.ndarray
    text_mask: np.ndarray
    audio: np.ndarray
    fps: float

    @property
    def num_frames(self) -> int:
        return len(self.audio)

    def __post_init__(self):
        if not (len(self.text) == len(self.text_mask) == len(self.audio)):
            raise ValueError(
                f"frame counts differ: text {len(self.text)}, mask {len(self.text_mask)}, "
                f"audio {len(self.audio)}"
            )


class FeatureExtractor:
    """Text encoder + audio encoder (+ cache) -> :class:`FrameFeatures`."""

    def __init__(
        self,
        text_encoder: TextEncoder,
        audio_encoder: AudioEncoder,
        cache: FeatureCache | None = None,
    ):
        self.text_encoder = text_encoder
        self.audio_encoder = audio_encoder
        self.cache = cache

    @property
    def text_dim(self) -> int:
        return self.text_encoder.dim

    @property
    def audio_dim(self) -> int:
        return self.audio_encoder.dim

    def settings(self) -> dict:
        """Both encoders' settings (store with a checkpoint to rebuild the same inputs)."""
        return {"text": self.text_encoder.settings(), "audio": self.audio_encoder.settings()}

    def extract(
        self,
        audio: str | Path | np.ndarray,
        transcript: Transcript,
        fps: float,
        num_frames: int | None = None,
    ) -> FrameFeatures:
        """Features of ``audio`` (a file, or mono samples at the audio encoder's sample rate)
        with ``transcript``'s timed words, ``num_frames`` frames (default
        ``round(duration * fps)``) at ``fps``, row ``i`` at time ``i / fps`` s."""
        if not isinstance(transcript, Transcript):
            raise TypeError(f"transcript must be a Transcript, got {type(transcript).__name__}")
        audio_rows = self.audio_features(audio, fps, num_frames)
        text, mask = words_to_frames(
            transcript, self.word_vectors(transcript), len(audio_rows), fps
        )
        return FrameFeatures(text=text, text_mask=mask, audio=audio_rows, fps=float(fps))

    def audio_features(
        self, audio: str | Path | np.ndarray, fps: float, num_frames: int | None = None
    ) -> np.ndarray:
        """``(num_frames, d_audio)`` float32 audio rows at ``fps`` (cached)."""
        if not (np.isfinite(fps) and fps > 0):
            raise InputError(None, f"frame rate must be a positive number, got {fps}")
        encoder = self.audio_encoder
        if encoder.fps != fps:
            encoder = encoder.with_fps(fps)
        samples, audio_digest = self._samples(audio, encoder.sample_rate)
        if num_frames is None:
            num_frames = frame_count(len(samples) / encoder.sample_rate, fps)
        num_frames = int(num_frames)
        parts = {"audio": audio_digest, "encoder": encoder.settings(), "num_frames": num_frames}
        found = self._cached(
            "audio", parts, lambda: {"audio": encoder.extract(samples, num_frames)}
        )
        return found["audio"].astype(np.float32, copy=False)

    def word_vectors(self, transcript: Transcript) -> np.ndarray:
        """``(n_words, d_text)`` float32 for the transcript's words (cached)."""
        words = [word.word for word in transcript.words]
        if not words:
            return np.zeros((0, self.text_encoder.dim), dtype=np.float32)
        parts = {
            "words": transcript_digest(transcript, with_times=False),
            "encoder": self.text_encoder.settings(),
        }
        found = self._cached("words", parts, lambda: {"vectors": self._encode(words)})
        return found["vectors"].astype(np.float32, copy=False)

    def _encode(self, words: list[str]) -> np.ndarray:
        vectors = np.asarray(self.text_encoder.encode_words(words), dtype=np.float32)
        if vectors.shape != (len(words), self.text_encoder.dim):
            raise ValueError(f"text encoder gave {vectors.shape} for {len(words)} words")
        return vectors

    def _cached(self, kind: str, parts: dict, compute) -> dict[str, np.ndarray]:
        if self.cache is None:
            return compute()
        return self.cache.get_or_compute(kind, parts, compute)

    def _samples(self, audio, sample_rate: int) -> tuple[np.ndarray, str]:
        """Mono samples at ``sample_rate`` and the digest that identifies them."""
        if isinstance(audio, (str, Path)):
            from llavataros.speech.audio import load_audio

            digest = f"file:{file_digest(audio)}:{sample_rate}"
            return load_audio(audio, sample_rate=sample_rate), digest
        samples = np.asarray(audio, dtype=np.float32)
        return samples, f"samples:{samples_digest(samples, sample_rate)}"
