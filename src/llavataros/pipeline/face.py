"""The face of ``animate`` and the stream: timed words -> phonemes -> the rule-based face
(:mod:`llavataros.face.rules`), with the shipped face model's mouth
(:mod:`llavataros.pipeline.learned_mouth`) where no words are known.

Phonemes of a word come from the CMU pronouncing dictionary bundled with pocketsphinx (the
aligner's own), else from spelling rules (:func:`llavataros.speech.align.letter_to_sound`);
they share the word's interval in proportion to 2 for a vowel and 1 for a consonant (the
aligner times words, not phonemes). Brow raises (accents) fall on the first word after a
pause of at least ``PHRASE_PAUSE`` s and on long words (``LONG_WORD`` letters or more), at
least ``ACCENT_GAP`` s apart. Pauses of ``REST_GAP`` s or more before a word get the rest
shape (the mouth relaxes). All of it depends only on words up to the one in question, so the
stream can compute it word by word.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from llavataros.face.rules import RuleFace
from llavataros.face.visemes import Phonemes
from llavataros.speech.words import Transcript, Word

PHRASE_PAUSE, LONG_WORD, ACCENT_GAP = 0.3, 7, 1.5
REST_GAP = 0.06  # s: a pause between words this long gets the rest shape
SOURCE_VISEMES, SOURCE_LOUDNESS = "visemes+loudness", "loudness"
SOURCE_VISEMES_MODEL, SOURCE_MODEL = "visemes+model", "model"


@functools.cache
def _dictionary() -> dict[str, str]:
    """Word -> ARPAbet string (first pronunciation; alternatives are ``word(2)``)."""
    import pocketsphinx

    path = Path(pocketsphinx.get_model_path()) / "en-us" / "cmudict-en-us.dict"
    lines = path.read_text(encoding="utf-8").splitlines()
    return dict(line.split(" ", 1) for line in lines if " " in line)


def pronounce(word: str) -> list[str]:
    """ARPAbet phonemes of ``word`` ([] when nothing in it can be said)."""
    from llavataros.speech.align import letter_to_sound

    key = re.sub(r"[^a-z']", "", word.lower()).strip("'")
    if not key:
        return []
    return (_dictionary().get(key) or letter_to_sound(key)).split()


def word_phonemes(word: Word) -> Phonemes:
    """The phonemes of ``word`` spread over its interval (vowels twice as long)."""
    phones = pronounce(word.word)
    if not phones or word.end <= word.start:
        return []
    weights = np.array([2.0 if p[0] in "AEIOU" else 1.0 for p in phones])  # ARPAbet vowels
    fractions = np.concatenate([[0.0], np.cumsum(weights)]) / weights.sum()
    edges = word.start + (word.end - word.start) * fractions  # seconds
    return [(p, float(a), float(b)) for p, a, b in zip(phones, edges[:-1], edges[1:], strict=True)]


def is_english(transcript: Transcript) -> bool:
    """False when the speech front-end found the speech not to be English."""
    from llavataros.speech.transcribe import NOT_ENGLISH

    return not any(warning.startswith(NOT_ENGLISH) for warning in transcript.warnings)


def learned_mouth(face_model, fps: float, english: bool = True):
    """A fresh :class:`~llavataros.pipeline.learned_mouth.LearnedMouth` (None without a model):
    the model's English speaker, or its speaker of captured (Mandarin) faces for speech that
    is not English."""
    if face_model is None:
        return None
    from llavataros.pipeline.learned_mouth import ENGLISH_SPEAKER, REAL_SPEAKER, LearnedMouth

    return LearnedMouth(face_model, fps, ENGLISH_SPEAKER if english else REAL_SPEAKER)


class FaceWords:
    """Turns words, in order, into phonemes, word spans and accents for a :class:`RuleFace`."""

    def __init__(self) -> None:
        self.previous: Word | None = None
        self.last_accent = -np.inf

    def add(self, face: RuleFace, words: Iterable[Word]) -> None:
        for word in words:
            phonemes = word_phonemes(word)
            if not phonemes:
                continue
            pause = word.start - self.previous.end if self.previous else np.inf
            letters = sum(c.isalpha() for c in word.word)
            accents = []
            if (pause >= PHRASE_PAUSE or letters >= LONG_WORD) and (
                word.start - self.last_accent >= ACCENT_GAP
            ):
                accents = [word.start]
                self.last_accent = word.start
            if pause >= REST_GAP:  # the mouth rests in the pause before the word
                phonemes = [("sil", self.previous.end if self.previous else 0.0, word.start)]
                phonemes += word_phonemes(word)
            face.add_speech(phonemes, [(word.start, word.end)], accents)
            self.previous = word


def face_source(face: RuleFace) -> str:
    """What drove the mouth: visemes where words are known, and elsewhere the face model
    (``visemes+model``, ``model``) or, without one, loudness (``visemes+loudness``,
    ``loudness``)."""
    if face.mouth is not None:
        return SOURCE_VISEMES_MODEL if face.has_speech else SOURCE_MODEL
    return SOURCE_VISEMES if face.has_speech else SOURCE_LOUDNESS


def speech_face(
    audio: np.ndarray,
    words: Iterable[Word],
    num_frames: int,
    fps: float,
    seed: int = 0,
    face_model=None,
    english: bool = True,
) -> tuple[np.ndarray, str]:
    """``(num_frames, 52)`` float32 face of a recording (16 kHz) and its source name;
    ``face_model`` (a :class:`~llavataros.models.face.network.FaceModel`) gives the mouth
    where no words are known (None: the loudness jaw), in its English style unless the speech
    is known not to be English."""
    face = RuleFace(fps, seed, mouth=learned_mouth(face_model, fps, english))
    face.add_audio(audio)
    FaceWords().add(face, words)
    face.finish()
    return face.frames(num_frames), face_source(face)
