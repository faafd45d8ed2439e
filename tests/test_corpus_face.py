"""The known face of synthetic takes (issue 12): visemes from Piper's phoneme times, blinks,
brow raises on pitch accents."""

import numpy as np
import pytest

from llavataros.corpus.face_truth import (
    ANTICIPATION,
    anticipate_closures,
    load_phonemes,
    pitch_accents,
    synthetic_face,
)
from llavataros.eval.face_metrics import bilabial_closure, blink_rate
from llavataros.face.arkit import index
from llavataros.face.lips import CLOSURE_THRESHOLD, lip_aperture
from llavataros.face.take import load_face
from llavataros.face.visemes import bilabial_intervals

FPS = 60.0


def test_pitch_accents_are_first_and_last_stress_of_each_sentence():
    stresses = [0.6, 1.0, 1.5, 3.1, 3.3]
    assert pitch_accents(stresses, [(0.5, 2.0), (3.0, 3.5)]) == [0.6, 1.5, 3.1]


def test_closures_are_anticipated():
    phonemes = [("a", 0.2, 0.3), ("m", 0.3, 0.4), ("a", 0.4, 0.5)]
    moved = anticipate_closures(phonemes)
    assert moved[1] == ("m", pytest.approx(0.3 - ANTICIPATION), 0.4)
    assert moved[0] == phonemes[0] and moved[2] == phonemes[2]


def test_synthetic_face_closes_lips_on_bilabials_and_opens_on_vowels():
    phonemes = [("h", 0.5, 0.55), ("ɑ", 0.55, 0.75), ("m", 0.75, 0.82), ("ɑ", 0.82, 1.0)]
    face = synthetic_face(phonemes, [0.55], [(0.5, 1.0)], 90, FPS, seed=3)
    aperture = lip_aperture(face)
    assert face.shape == (90, 52) and face.dtype == np.float32
    assert aperture[round(0.78 * FPS)] <= CLOSURE_THRESHOLD
    assert aperture[round(0.65 * FPS)] > 0.4 and aperture[round(0.9 * FPS)] > 0.4
    assert face[round(0.65 * FPS), index("browInnerUp")] > 0.2  # brow raise on the accent
    again = synthetic_face(phonemes, [0.55], [(0.5, 1.0)], 90, FPS, seed=3)
    assert np.array_equal(face, again)


@pytest.mark.slow
def test_generated_takes_have_a_face(tmp_path):
    from llavataros.corpus.generate import generate_corpus

    summary = generate_corpus(
        tmp_path, 1.0, 2, 0, workers=1, progress=False, take_seconds=(20.0, 30.0)
    )
    bilabials = closed = 0
    blink_minutes = blinks = 0.0
    for take in summary["takes"]:
        stem = tmp_path / take["name"]
        face = load_face(f"{stem}.face.npy")
        assert face.shape == (take["frames"], 52)
        assert 0.0 <= face.min() and face.max() <= 1.0
        intervals = bilabial_intervals(load_phonemes(f"{stem}.TextGrid"))
        bilabials += len(intervals)
        closed += bilabial_closure(face, intervals, FPS) * len(intervals)
        minutes = len(face) / FPS / 60.0
        blinks += blink_rate(face, FPS) * minutes
        blink_minutes += minutes
    assert bilabials >= 20
    assert closed / bilabials >= 0.9
    assert 8.0 <= blinks / blink_minutes <= 35.0  # people blink 10-30 times a minute
