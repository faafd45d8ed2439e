"""A stand-in for synthesised speech: word times from a simple duration model and a buzzy
syllable per word, without Piper (for tests and quick experiments on the motion generator).

The result is a real :class:`~llavataros.corpus.speech_takes.SpeechTake` whose trigger words
keep the ``MIN_TRIGGER_SPACING`` rule of the speech takes, so it exercises the same code paths
as a Piper take, in milliseconds.
"""

from __future__ import annotations

import numpy as np

from llavataros.corpus.script import Script
from llavataros.corpus.speech_takes import (
    MIN_TRIGGER_SPACING,
    SAMPLE_RATE,
    SpeechTake,
    TimedTrigger,
)
from llavataros.speech.words import Transcript, Word, split_words

EDGE_PAUSE = 0.5  # s of silence at both ends
SENTENCE_PAUSE = 0.35  # s between sentences


def quick_take(script: Script, rng: np.random.Generator) -> SpeechTake:
    """Speech-like audio ``(n,)`` at 16 kHz and word times for ``script``: each word lasts
    ``0.1 + 0.055 * letters`` s (+-20 %), words are 20-90 ms apart, and each is a 110-160 Hz
    buzz under a syllable envelope at a random level (+-6 dB: some syllables are stressed)."""
    words: list[Word] = []
    pieces: list[tuple[int, np.ndarray]] = []
    cursor = EDGE_PAUSE
    script_words = iter(script.words)
    for index, sentence in enumerate(script.sentences):
        if index:
            cursor += SENTENCE_PAUSE
        for written in split_words(sentence):
            duration = (0.1 + 0.055 * len(written)) * rng.uniform(0.8, 1.2)
            words.append(Word(next(script_words), cursor, cursor + duration))
            pieces.append((int(cursor * SAMPLE_RATE), _syllable(duration, rng)))
            cursor += duration + rng.uniform(0.02, 0.09)
    audio = np.zeros(int((cursor + EDGE_PAUSE) * SAMPLE_RATE), dtype=np.float32)
    for start, samples in pieces:
        audio[start : start + len(samples)] += samples
    audio *= np.float32(0.9 / max(float(np.abs(audio).max()), 1e-9))
    kept: list[TimedTrigger] = []
    dropped: list[TimedTrigger] = []
    for trigger in script.triggers:
        word = words[trigger.word_index]
        timed = TimedTrigger(
            trigger.word_index, trigger.word, trigger.gesture, word.start, word.end
        )
        too_close = kept and timed.start - kept[-1].start < MIN_TRIGGER_SPACING
        (dropped if too_close else kept).append(timed)
    transcript = Transcript(" ".join(script.sentences), tuple(words), source="quick")
    return SpeechTake(audio, SAMPLE_RATE, transcript, tuple(kept), (), tuple(dropped))


def _syllable(duration: float, rng: np.random.Generator) -> np.ndarray:
    """A voiced burst ``(n,)`` float32: harmonics of a random pitch under a sine envelope."""
    count = int(duration * SAMPLE_RATE)
    t = np.arange(count) / SAMPLE_RATE
    pitch = rng.uniform(110.0, 160.0)
    voice = sum(np.sin(2 * np.pi * pitch * h * t) / h for h in (1, 2, 3, 4))
    envelope = np.sin(np.pi * t / duration) ** 2
    level = 10.0 ** (rng.uniform(-6.0, 6.0) / 20.0)
    return (0.2 * level * envelope * voice).astype(np.float32)
