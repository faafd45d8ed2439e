"""Live words: Whisper on a sliding window of a stream, committing words once two passes agree.

A live speaker gives no transcript, and the stream without words drives only beats. This module
transcribes as the audio arrives: every ``step_s`` of new audio, Whisper (the project's
:class:`~llavataros.speech.transcribe.Transcriber`, tiny.en from a pip package, nothing
downloaded) hears the uncommitted audio (at most ``window_s``); the words after those already
committed form a hypothesis, and the longest common prefix of two consecutive hypotheses is
committed (LocalAgreement-2, as in Macháček et al., "Turning Whisper into Real-Time
Transcription System", 2023). The audio before the last committed word is then dropped, so a
pass never reads more than ``window_s`` seconds. Word times are seconds from the stream's
start. Passes run in one worker thread shared by all streams (at most one pending pass per
stream), so the frames of a stream never wait for Whisper.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
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
PASSES = ThreadPoolExecutor(1, thread_name_prefix="llavataros-words")  # passes of all streams


@dataclass(frozen=True)
class Heard:
    """The input of one pass: the window (16 kHz), its start and end in stream time, the
    committed text before it (Whisper's prompt) and the last committed words."""

    audio: np.ndarray
    offset: float
    now: float
    prompt: str | None
    committed: list[Word]


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
    ``background``: passes run in one shared worker thread, so a push never waits for Whisper
    (words then come out of the push after the pass that committed them); ``False`` runs them
    inside :meth:`push` (reproducible: the tests).
    """

    def __init__(
        self,
        model: Transcriber | None = None,
        window_s: float = 15.0,
        step_s: float = 1.0,
        trim_s: float = 8.0,
        context_s: float = 3.0,
        margin_s: float = 0.2,
        background: bool = True,
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
        self._new: list[Word] = []  # committed, not yet returned
        self._lock = threading.Lock()  # guards the fields above against the pass thread
        self._busy = False  # a pass is running
        self._pending: Future | None = None  # the last background pass
        self.background = background
        self.settled = 0.0  # stream time before which the words are final (``settled_until``)

    @property
    def now(self) -> float:
        """Stream time (s) of the audio received so far."""
        return self.samples_in / SAMPLE_RATE

    @property
    def settled_until(self) -> float:
        """Stream time before which no more words will be committed: the start of the first
        word the last pass heard but has not committed, or (when it heard none) the end of the
        audio it read less ``margin_s``; everything after :meth:`finish`."""
        with self._lock:
            return self.settled

    def push(self, samples: np.ndarray) -> list[Word]:
        """Add audio; return the words committed since the last call (often none)."""
        samples = np.asarray(samples, dtype=np.float32).reshape(-1)
        with self._lock:
            self.audio = np.concatenate([self.audio, samples])
            self.samples_in += len(samples)
            self.unheard += len(samples)
            due = self.unheard >= self.step_s * SAMPLE_RATE and not self._busy
            if due:
                self.unheard, self._busy = 0, True
                heard = self._snapshot()
        if due:
            if self.background:
                self._pending = PASSES.submit(self._pass, heard)
            else:
                self._pass(heard)
        return self._take_new()

    def finish(self) -> list[Word]:
        """End of speech: wait for a running pass, then commit every word a last pass hears."""
        pending = self._pending
        if pending is not None:
            pending.result()
        with self._lock:
            heard = self._snapshot() if self.samples_in else None
        if heard is not None:
            words = self._hear(heard, final=True)
            with self._lock:
                self._commit(words, heard.now)
                self.previous = []
                self.audio = np.zeros(0, np.float32)
        with self._lock:
            self.settled = float("inf")
        return self._take_new()

    def _take_new(self) -> list[Word]:
        with self._lock:
            new, self._new = self._new, []
        return new

    # -- passes ---------------------------------------------------------------------------
    def _snapshot(self) -> Heard:
        """What the next pass reads (taken under the lock)."""
        window = self.audio[-int(self.window_s * SAMPLE_RATE) :].copy()
        offset = self.now - len(window) / SAMPLE_RATE
        prompt = " ".join([w.word for w in self.committed if w.end <= offset + 0.05][-40:])
        return Heard(window, offset, self.now, prompt or None, self.committed[-5:])

    def _pass(self, heard: Heard) -> None:
        """One pass: hear the window, commit what the last two hypotheses agree on."""
        try:
            hypothesis = self._hear(heard, final=False)
            with self._lock:
                hypothesis = drop_repeated_head(self.committed, hypothesis)
                agreed = common_prefix(self.previous, hypothesis)
                self.previous = hypothesis[len(agreed) :]
                self._commit(agreed, heard.now)
                pending = self.previous[0].start if self.previous else heard.now - self.margin_s
                self.settled = max(self.settled, pending)
        finally:
            with self._lock:
                self._busy = False

    def _hear(self, heard: Heard, final: bool) -> list[Word]:
        """Words heard in the window after the committed ones, in stream time."""
        segments = heard_segments(self.model, heard.audio, heard.prompt)
        kept, _ = screen_segments(segments, self.model.config)
        offset = heard.offset
        pieces = [(raw, s + offset, e + offset) for seg in kept for raw, s, e, _ in seg.pieces]
        words = list(words_from_pieces(pieces).words)
        last_end = heard.committed[-1].end if heard.committed else -1.0
        words = [w for w in words if w.start >= last_end - 0.1]  # committed words heard again
        words = drop_repeated_head(heard.committed, words)
        if not final:
            limit = heard.now - self.margin_s
            words = words[: next((i for i, w in enumerate(words) if w.end > limit), len(words))]
        return words

    def _commit(self, words: list[Word], heard_until: float) -> None:
        last_end = self.committed[-1].end if self.committed else 0.0
        words = [replace(w, start=max(w.start, last_end), end=max(w.end, last_end)) for w in words]
        self.committed.extend(words)
        self._new.extend(words)
        self._trim(heard_until)

    def _trim(self, heard_until: float) -> None:
        """Past ``trim_s`` of audio, cut at the end of the last committed word that ends
        ``context_s`` before the heard audio's end (with none, keep the last ``trim_s`` heard);
        never keep more than ``window_s``."""
        if heard_until - self.audio_start <= self.trim_s:
            return
        cut = heard_until - self.trim_s
        if self.committed and self.committed[-1].end > self.audio_start:
            ends = [w.end for w in self.committed if w.end <= heard_until - self.context_s]
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
        temperature=0.0,  # no fallback re-decoding: a pass's cost stays bounded
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
