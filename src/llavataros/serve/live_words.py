"""Live words: Whisper on a sliding window of a stream, committing words once two passes agree.

A live speaker gives no transcript, and the stream without words drives only beats. This module
transcribes as the audio arrives: every ``step_s`` of new audio, Whisper (the project's
:class:`~llavataros.speech.transcribe.Transcriber`, tiny.en from a pip package, nothing
downloaded) hears the uncommitted audio (at most ``window_s``); the words after those already
committed form a hypothesis, and the longest common prefix of two consecutive hypotheses is
committed (LocalAgreement-2, as in Macháček et al., "Turning Whisper into Real-Time
Transcription System", 2023). The audio before the last committed word is then dropped, so a
pass never reads more than ``window_s`` seconds. Word times are seconds from the stream's
start.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from functools import lru_cache

import numpy as np

from llavataros.speech.align import normalize_word
from llavataros.speech.audio import SAMPLE_RATE
from llavataros.speech.transcribe import (
    HeardSegment,
    Transcriber,
    TranscriberConfig,
    screen_segments,
    words_from_pieces,
)
from llavataros.speech.words import Word

LIVE_CONFIG = TranscriberConfig(batch_size=0, cpu_threads=1)  # short windows, sequential


@lru_cache(maxsize=1)
def shared_transcriber() -> Transcriber:
    """One Whisper model for every live stream of the process (weights are shared)."""
    return Transcriber(LIVE_CONFIG)


class LiveWords:
    """``push(16 kHz float32 samples) -> newly committed words``; ``finish() -> the rest``.

    ``model``: a :class:`Transcriber` (default: one shared tiny.en). ``step_s``: new audio
    between passes. ``window_s``: the most audio one pass reads; once the uncommitted audio and
    its context pass ``trim_s``, the audio before committed words older than ``context_s`` is
    dropped (their text goes on as Whisper's prompt). ``margin_s``: a hypothesis word must end
    this far before the end of the heard audio (a word cut by the edge is not yet a word).
    """

    def __init__(
        self,
        model: Transcriber | None = None,
        window_s: float = 15.0,
        step_s: float = 1.0,
        trim_s: float = 8.0,
        context_s: float = 3.0,
        margin_s: float = 0.2,
    ):
        if not 0 < step_s < trim_s <= window_s:
            raise ValueError("need 0 < step_s < trim_s <= window_s")
        self.model = model or shared_transcriber()
        self.window_s, self.step_s, self.trim_s = window_s, step_s, trim_s
        self.context_s, self.margin_s = context_s, margin_s
        self.audio = np.zeros(0, np.float32)  # the audio the next pass reads
        self.audio_start = 0.0  # stream time of self.audio[0]
        self.samples_in = 0
        self.unheard = 0  # samples since the last pass
        self.committed: list[Word] = []
        self.previous: list[Word] = []  # the last pass's uncommitted hypothesis
        self._lock = threading.Lock()  # one pass at a time per stream

    @property
    def now(self) -> float:
        """Stream time (s) of the audio received so far."""
        return self.samples_in / SAMPLE_RATE

    def push(self, samples: np.ndarray) -> list[Word]:
        """Add audio; return the words committed by this push (often none)."""
        samples = np.asarray(samples, dtype=np.float32).reshape(-1)
        with self._lock:
            self.audio = np.concatenate([self.audio, samples])
            self.samples_in += len(samples)
            self.unheard += len(samples)
            if self.unheard < self.step_s * SAMPLE_RATE:
                return []
            self.unheard = 0
            hypothesis = self._hypothesis(final=False)
            agreed = common_prefix(self.previous, hypothesis)
            self.previous = hypothesis[len(agreed) :]
            return self._commit(agreed)

    def finish(self) -> list[Word]:
        """End of speech: commit every word the last pass hears."""
        with self._lock:
            if self.samples_in == 0:
                return []
            words = self._commit(self._hypothesis(final=True))
            self.previous = []
            self.audio = np.zeros(0, np.float32)
            return words

    # -- passes ---------------------------------------------------------------------------
    def _hypothesis(self, final: bool) -> list[Word]:
        """Words heard after the committed ones, in stream time."""
        window = self.audio[-int(self.window_s * SAMPLE_RATE) :]
        offset = self.now - len(window) / SAMPLE_RATE
        before = [w.word for w in self.committed if w.end <= offset + 0.05][-40:]
        segments = heard_segments(self.model, window, " ".join(before) or None)
        kept, _ = screen_segments(segments, self.model.config)
        pieces = [(raw, s + offset, e + offset) for seg in kept for raw, s, e, _ in seg.pieces]
        words = list(words_from_pieces(pieces).words)
        last_end = self.committed[-1].end if self.committed else -1.0
        words = [w for w in words if w.start >= last_end - 0.1]  # committed words heard again
        words = drop_repeated_head(self.committed, words)
        if not final:
            limit = self.now - self.margin_s
            words = words[: next((i for i, w in enumerate(words) if w.end > limit), len(words))]
        return words

    def _commit(self, words: list[Word]) -> list[Word]:
        last_end = self.committed[-1].end if self.committed else 0.0
        words = [replace(w, start=max(w.start, last_end), end=max(w.end, last_end)) for w in words]
        self.committed.extend(words)
        self._trim()
        return words

    def _trim(self) -> None:
        """Keep at most ``window_s``; past ``trim_s``, cut at the end of the last committed word
        that ends ``context_s`` before now (or, with none, keep the last ``trim_s``)."""
        if self.now - self.audio_start <= self.trim_s:
            return
        cut = self.now - self.trim_s
        if self.committed and self.committed[-1].end > self.audio_start:
            ends = [w.end for w in self.committed if w.end <= self.now - self.context_s]
            cut = max(ends) if ends else self.audio_start
        cut = max(cut, self.now - self.window_s)
        drop = int(round((cut - self.audio_start) * SAMPLE_RATE))
        if drop > 0:
            self.audio = self.audio[drop:]
            self.audio_start += drop / SAMPLE_RATE


def heard_segments(model: Transcriber, audio: np.ndarray, prompt: str | None) -> list:
    """Whisper's segments of a short window (times from its start), with the committed text
    as the prompt so a window that starts mid-sentence reads on."""
    config = model.config
    segments, _ = model.model.transcribe(
        audio,
        language=config.language,
        beam_size=config.beam_size,
        vad_filter=config.vad_filter,
        word_timestamps=True,
        initial_prompt=prompt,
        condition_on_previous_text=False,
        no_speech_threshold=config.no_speech_threshold,
        log_prob_threshold=config.log_prob_threshold,
        compression_ratio_threshold=config.compression_ratio_threshold,
    )
    return [
        HeardSegment(
            float(s.start),
            float(s.end),
            s.text.strip(),
            tuple((w.word, float(w.start), float(w.end), float(w.probability)) for w in s.words),
            float(s.no_speech_prob),
            float(s.avg_logprob),
            float(s.compression_ratio),
        )
        for s in segments
        if s.words
    ]


def same_word(a: Word, b: Word) -> bool:
    return normalize_word(a.word) == normalize_word(b.word)


def common_prefix(previous: list[Word], current: list[Word]) -> list[Word]:
    """The words at the head of ``current`` that ``previous`` also starts with (by text)."""
    count = 0
    while count < min(len(previous), len(current)) and same_word(previous[count], current[count]):
        count += 1
    return current[:count]


def drop_repeated_head(committed: list[Word], words: list[Word], longest: int = 5) -> list[Word]:
    """``words`` without a head that repeats the tail of ``committed`` (a word heard again
    because the window kept a little of its audio)."""
    for size in range(min(longest, len(committed), len(words)), 0, -1):
        tail, head = committed[-size:], words[:size]
        if all(same_word(a, b) for a, b in zip(tail, head, strict=True)):
            return words[size:]
    return words
