"""Live frames wait for their words: a session with live words streams audio once the words
before it are settled, or once it is ``words_hold_s`` old, so semantic gestures see their
words; the wait never passes the hold."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from llavataros.pipeline.animate import Animator
from llavataros.serve.protocol import ProtocolError, Start, parse_text
from llavataros.serve.session import Session
from llavataros.speech.audio import SAMPLE_RATE, load_audio
from llavataros.speech.words import Word

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
CHUNK = SAMPLE_RATE // 10
WORDS = [Word(w, 0.3 + 0.5 * i, 0.7 + 0.5 * i) for i, w in enumerate("hello I think big".split())]


class ScriptedWords:
    """A transcriber that commits each word ``delay`` seconds after it ends and has settled
    the time up to the first word it has not committed (``settle=False``: never settles)."""

    def __init__(self, delay: float = 1.2, settle: bool = True):
        self.delay, self.settle = delay, settle
        self.samples, self.given, self.finished = 0, 0, False

    @property
    def now(self) -> float:
        return self.samples / SAMPLE_RATE

    def push(self, samples: np.ndarray) -> list[Word]:
        self.samples += len(samples)
        ready = [w for w in WORDS[self.given :] if w.end + self.delay <= self.now]
        self.given += len(ready)
        return ready

    def finish(self) -> list[Word]:
        self.finished = True
        rest, self.given = WORDS[self.given :], len(WORDS)
        return rest

    @property
    def settled_until(self) -> float:
        if self.finished:
            return float("inf")
        if not self.settle:
            return 0.0
        pending = WORDS[self.given].start if self.given < len(WORDS) else self.now
        return min(pending, self.now - 0.5)


@pytest.fixture(scope="module")
def animator() -> Animator:
    return Animator.load("llanimation")  # the live server's model


@pytest.fixture(scope="module")
def audio() -> np.ndarray:
    return load_audio(EXAMPLES / "hello.wav")[: 4 * SAMPLE_RATE]


def run(animator, audio, hold: float, live: ScriptedWords):
    """Stream ``audio`` in 100 ms chunks; per push, the speech time whose features went to
    the model, the words the stream knew and the audio held back (seconds)."""
    session = Session(animator, Start(words_hold_s=hold), live_words=live)
    log, frames = [], 0
    for first in range(0, len(audio), CHUNK):
        frames += len(session.push(audio[first : first + CHUNK]).body)
        stream = session.stream
        held = (session.received - session.samples_in) / SAMPLE_RATE
        log.append((stream.features_out / stream.model_fps, len(stream.words), held))
    frames += len(session.finish().body)
    return log, frames


def words_in_time(log) -> bool:
    """Every word was known before the frames at its start went to the model."""
    return all(known == len(WORDS) or fed <= WORDS[known].start + 1e-6 for fed, known, _ in log)


def test_with_a_hold_every_word_arrives_before_its_frames(animator, audio):
    log, frames = run(animator, audio, 3.0, ScriptedWords(delay=1.2))
    assert words_in_time(log)
    assert frames == round(len(audio) / SAMPLE_RATE * animator.default_fps)
    held = [h for _, _, h in log]
    assert max(held) <= 3.0 + 1e-9 and max(held) > 1.0  # it waited, and no longer than the hold


def test_without_a_hold_words_come_too_late(animator, audio):
    log, _ = run(animator, audio, 0.0, ScriptedWords(delay=1.2))
    assert not words_in_time(log)
    assert all(h == 0 for _, _, h in log)


def test_the_hold_caps_the_wait_when_words_never_settle(animator, audio):
    log, _ = run(animator, audio, 1.0, ScriptedWords(settle=False))
    held = np.array([h for _, _, h in log])
    assert np.allclose(held[10:], 1.0)  # exactly the hold once a second has arrived
    assert not words_in_time(log)  # words 1.2 s late miss a 1 s hold


def test_words_hold_is_checked():
    assert parse_text('{"type": "start"}').words_hold_s == 3.0
    assert parse_text('{"type": "start", "words_hold_s": 0}').words_hold_s == 0.0
    for bad in ("-1", "11", '"2"', "true"):
        with pytest.raises(ProtocolError, match="words_hold_s"):
            parse_text(f'{{"type": "start", "words_hold_s": {bad}}}')
