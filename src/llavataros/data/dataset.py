"""Training data: prepared takes (features + motion at one fps) and fixed-length windows.

LLAniMAtion (arXiv 2405.08042) trains on windows of frame-aligned text and audio
features with the matching motion. :func:`prepare_corpus` turns indexed takes into
:class:`PreparedTake` (features from the cache, motion resampled to the training fps by slerp
with continuous quaternion signs); :class:`WindowDataset` serves windows of them as tensors.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset

from llavataros.data.index import TakeRecord, read_transcript
from llavataros.errors import InputError
from llavataros.features.cache import FeatureCache
from llavataros.features.frames import FeatureExtractor, FrameFeatures
from llavataros.features.speaker import SpeakerVocabulary
from llavataros.features.statistics import FeatureStatistics
from llavataros.features.text_encoders import expand_words, frame_word_index
from llavataros.motion.resample import resample
from llavataros.motion.take import load_take
from llavataros.speech.words import Transcript

DURATION_TOLERANCE = 0.02  # relative audio/motion length mismatch allowed (as motion.take)


@dataclass(frozen=True)
class PreparedTake:
    """One take at the training fps; every per-frame array has the motion's ``t`` frames.

    Text is kept compact, as the word vectors ``(n_words, d_text)`` float32 and the word shown
    at each frame ``word_index (t,)`` int32 (-1: none), since frame-level Llama vectors
    (4096-d) of a whole corpus would not fit in memory; :attr:`features` expands them.
    """

    name: str
    style: str
    speaker: int
    motion: np.ndarray  # (t, 9, 7) float32, continuous quaternion signs
    audio: np.ndarray  # (t, d_audio) float32
    word_vectors: np.ndarray  # (n_words, d_text) float32
    word_index: np.ndarray  # (t,) int32
    fps: float

    @property
    def num_frames(self) -> int:
        return len(self.motion)

    @property
    def features(self) -> FrameFeatures:
        """The dense :class:`FrameFeatures` of the whole take."""
        text, mask = expand_words(self.word_vectors, self.word_index)
        return FrameFeatures(text=text, text_mask=mask, audio=self.audio, fps=self.fps)


def corpus_vocabulary(
    records: Iterable[TakeRecord], base: SpeakerVocabulary | None = None
) -> SpeakerVocabulary:
    """``base`` (default: the 19 AvatarOS styles) extended by any other style in ``records``."""
    return (base or SpeakerVocabulary()).extended(record.style for record in records)


def prepare_take(
    record: TakeRecord, extractor: FeatureExtractor, fps: float, vocabulary: SpeakerVocabulary
) -> PreparedTake:
    """Load, resample and featurise one take (features computed for the motion's frames)."""
    motion = load_take(record.motion_path)
    if abs(motion.fps - fps) > 1e-9:
        motion = resample(motion, fps)
    array = motion.to_array(np.float32)  # (t, 9, 7), continuous quaternion signs
    _check_lengths(record, len(array) / fps)
    transcript = read_transcript(record) or Transcript(text="", source="none")
    return PreparedTake(
        name=record.name,
        style=record.style,
        speaker=vocabulary.id(record.style),
        motion=array,
        audio=extractor.audio_features(record.audio_path, fps, num_frames=len(array)),
        word_vectors=extractor.word_vectors(transcript),
        word_index=frame_word_index(transcript, len(array), fps),
        fps=float(fps),
    )


def prepare_corpus(
    records: Sequence[TakeRecord],
    extractor: FeatureExtractor,
    fps: float,
    cache: FeatureCache | None = None,
    vocabulary: SpeakerVocabulary | None = None,
) -> list[PreparedTake]:
    """:class:`PreparedTake` for every record at ``fps``. ``cache`` (if given) replaces the
    extractor's cache; ``vocabulary`` defaults to :func:`corpus_vocabulary` of ``records``."""
    if not (np.isfinite(fps) and fps > 0):
        raise InputError(None, f"training frame rate must be a positive number, got {fps}")
    if cache is not None:
        extractor = FeatureExtractor(extractor.text_encoder, extractor.audio_encoder, cache)
    vocabulary = vocabulary or corpus_vocabulary(records)
    return [prepare_take(record, extractor, fps, vocabulary) for record in records]


def _check_lengths(record: TakeRecord, motion_seconds: float) -> None:
    import soundfile

    info = soundfile.info(str(record.audio_path))
    audio_seconds = info.frames / info.samplerate
    if abs(audio_seconds - motion_seconds) > max(0.1, DURATION_TOLERANCE * audio_seconds):
        raise InputError(
            record.motion_path,
            f"motion lasts {motion_seconds:.2f} s but its audio "
            f"{record.audio_path.name} lasts {audio_seconds:.2f} s",
        )


def audio_statistics(prepared: Sequence[PreparedTake], floor: float = 1e-3) -> FeatureStatistics:
    """Mean and standard deviation (at least ``floor``) of the audio features over all frames."""
    if not prepared:
        raise InputError(None, "no prepared takes to compute statistics from")
    count, total, squares = 0, 0.0, 0.0
    for take in prepared:
        rows = take.audio.astype(np.float64)
        count += len(rows)
        total = total + rows.sum(axis=0)
        squares = squares + (rows**2).sum(axis=0)
    mean = total / count
    std = np.sqrt(np.maximum(squares / count - mean**2, 0.0))
    return FeatureStatistics(mean.astype(np.float32), np.maximum(std, floor).astype(np.float32))


class WindowDataset(Dataset):
    """Windows of ``window`` frames every ``stride`` frames (default: no overlap) of each take,
    plus one window ending at the last frame when the stride does not land there. Takes shorter
    than ``window`` are skipped. Items are dicts:

    ``text (t, d_text)`` float32, ``text_mask (t,)`` bool, ``audio (t, d_audio)`` float32
    (normalised when ``audio_statistics`` is given), ``speaker ()`` long, ``motion (t, 9, 7)``
    float32, ``take`` str, ``start`` int (first frame).
    """

    def __init__(
        self,
        prepared: Sequence[PreparedTake],
        window: int,
        stride: int | None = None,
        audio_statistics: FeatureStatistics | None = None,
    ):
        stride = stride or window
        if window < 1 or stride < 1:
            raise InputError(None, f"window and stride must be positive, got {window}, {stride}")
        self.prepared, self.window, self.stride = list(prepared), int(window), int(stride)
        self.audio_statistics = audio_statistics
        self.items: list[tuple[int, int]] = []  # (take index, start frame)
        for index, take in enumerate(self.prepared):
            last = take.num_frames - self.window
            if last < 0:
                continue
            starts = list(range(0, last + 1, self.stride))
            if starts[-1] != last:
                starts.append(last)
            self.items.extend((index, start) for start in starts)
        if self.prepared and not self.items:
            longest = max(take.num_frames for take in self.prepared)
            raise InputError(
                None,
                f"no take is as long as the window ({window} frames; the longest has {longest})",
            )

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, item: int | tuple[int, int]) -> dict:
        """Window ``item``; ``(item, shift)`` moves its start by ``shift`` frames (clipped to the
        take), which is how a sampler varies the windows from epoch to epoch."""
        item, shift = item if isinstance(item, tuple) else (item, 0)
        index, start = self.items[item]
        take = self.prepared[index]
        start = min(max(start + int(shift), 0), take.num_frames - self.window)
        span = slice(start, start + self.window)
        text, mask = expand_words(take.word_vectors, take.word_index[span])
        audio = take.audio[span]
        if self.audio_statistics is not None:
            audio = self.audio_statistics.normalize(audio)
        return {
            "text": torch.from_numpy(text),
            "text_mask": torch.from_numpy(mask),
            "audio": torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32)),
            "speaker": torch.tensor(take.speaker, dtype=torch.long),
            "motion": torch.from_numpy(np.ascontiguousarray(take.motion[span])),
            "take": take.name,
            "start": start,
        }
