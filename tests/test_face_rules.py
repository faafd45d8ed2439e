"""The rule-based face of animate and the stream: visemes where words are known, the loudness
jaw elsewhere, blinks and brow raises; the same frames in any chunks."""

import numpy as np
import pytest

from llavataros.face.arkit import index
from llavataros.face.lips import CLOSURE_THRESHOLD, lip_aperture
from llavataros.face.rules import MAX_OPEN, RuleFace, rule_face
from llavataros.pipeline.face import SOURCE_LOUDNESS, SOURCE_VISEMES, speech_face, word_phonemes
from llavataros.speech.words import Word

FPS, RATE = 60.0, 16000
JAW = index("jawOpen")


def tone(seconds: float, loud: tuple[float, float]) -> np.ndarray:
    """A 200 Hz tone of amplitude 0.5 inside ``loud`` (s), silence elsewhere."""
    t = np.arange(int(seconds * RATE)) / RATE
    return (0.5 * np.sin(2 * np.pi * 200 * t) * ((t >= loud[0]) & (t < loud[1]))).astype(np.float32)


def test_loudness_jaw_opens_with_sound_only():
    audio = tone(3.0, (1.0, 2.0))
    face, source = speech_face(audio, [], 180, FPS)
    assert source == SOURCE_LOUDNESS
    assert face[90, JAW] == pytest.approx(MAX_OPEN)  # loud: fully open
    assert face[30, JAW] == 0.0 and face[150, JAW] == 0.0  # silence: closed


def test_word_phonemes_share_the_word_vowels_twice_as_long():
    phonemes = word_phonemes(Word("maybe", 1.0, 1.6))
    assert [p for p, _, _ in phonemes] == ["M", "EY", "B", "IY"]
    assert [round(b - a, 6) for _, a, b in phonemes] == [0.1, 0.2, 0.1, 0.2]


def test_visemes_close_the_lips_on_bilabials_where_words_are_known():
    audio = tone(3.0, (0.9, 2.1))
    face, source = speech_face(audio, [Word("maybe", 1.0, 1.6)], 180, FPS)
    aperture = lip_aperture(face)
    assert source == SOURCE_VISEMES
    assert aperture[round(1.05 * FPS)] <= CLOSURE_THRESHOLD  # M
    assert aperture[round(1.35 * FPS)] <= CLOSURE_THRESHOLD  # B
    assert aperture[round(1.2 * FPS)] > aperture[round(1.05 * FPS)] + 0.1  # EY opens
    # loud but no word: the loudness jaw (cross-faded within 0.1 s of the word)
    assert face[round(1.9 * FPS), JAW] == pytest.approx(MAX_OPEN)


def test_blinks_and_brows():
    face, _ = speech_face(np.zeros(60 * RATE, np.float32), [Word("hello", 5.0, 5.4)], 3600, FPS)
    blink = face[:, index("eyeBlinkLeft")]
    onsets = np.flatnonzero((blink[1:] > 0.5) & (blink[:-1] <= 0.5))
    assert 8 <= len(onsets) <= 30  # per minute
    assert face[round(5.1 * FPS), index("browInnerUp")] >= 0.25  # the first word is an accent


@pytest.mark.parametrize("chunk", [160, 1031, 16000])
def test_chunks_give_the_same_frames(chunk):
    audio = tone(4.0, (0.5, 3.5)) + 0.01 * np.random.default_rng(0).standard_normal(4 * RATE)
    phonemes = word_phonemes(Word("remember", 1.0, 1.5)) + word_phonemes(Word("me", 2.0, 2.3))
    spans, accents = [(1.0, 1.5), (2.0, 2.3)], [1.0]
    offline = rule_face(audio, 240, FPS, phonemes, spans, accents)
    face = RuleFace(FPS)
    face.add_speech(phonemes, spans, accents)
    pieces = []
    for start in range(0, len(audio), chunk):
        face.add_audio(audio[start : start + chunk])
        pieces.append(face.frames(min(face.ready_frames(), 240)))
    face.finish()
    pieces.append(face.frames(240))
    assert np.array_equal(np.concatenate(pieces), offline)
    assert len(face.audio) < 2 * chunk + RATE // 10  # old audio is forgotten


def test_rests_fill_pauses():
    from llavataros.face.visemes import with_rests

    phonemes = [("a", 0.2, 0.3), ("b", 0.32, 0.4), ("c", 0.6, 0.7)]
    assert with_rests(phonemes) == [
        ("sil", 0.0, 0.2),
        ("a", 0.2, 0.3),
        ("b", 0.32, 0.4),  # 20 ms: no rest
        ("sil", 0.4, 0.6),
        ("c", 0.6, 0.7),
        ("sil", 0.7, 10.7),
    ]
    assert with_rests([]) == []
