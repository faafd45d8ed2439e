"""Face metrics on crafted signals, visemes and the two baselines."""

from __future__ import annotations

import numpy as np
import pytest

from llavataros.eval.face_metrics import (
    bilabial_closure,
    blink_count,
    blink_rate,
    brow_motion,
    channel_mae,
    face_metrics,
    lip_sync_lag,
    pearson,
)
from llavataros.face.arkit import GROUPS, index
from llavataros.face.baselines import loudness_jaw, rms_db, viseme_face
from llavataros.face.visemes import bilabial_intervals, is_bilabial, viseme, viseme_ids

FPS = 30.0


def smooth_noise(frames: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.convolve(rng.random(frames + 8), np.ones(9) / 9, mode="valid")[:frames]


def test_correlation_and_lag_of_shifted_copies():
    jaw = smooth_noise(600)
    assert pearson(jaw, jaw) == pytest.approx(1.0)
    assert pearson(jaw, 1 - jaw) == pytest.approx(-1.0)
    for shift in (-4, -1, 0, 2, 5):
        late = np.roll(jaw, shift)  # late[t] = jaw[t - shift]
        assert lip_sync_lag(late, jaw) == shift


def test_channel_mae_and_validity():
    truth = np.zeros((10, 52))
    prediction = np.zeros((10, 52))
    prediction[:, 17] = 0.2
    prediction[:5, 0] = 1.0
    valid = np.ones(52, dtype=bool)
    valid[0] = False
    mae = channel_mae(prediction, truth, valid)
    assert mae[17] == pytest.approx(0.2) and np.isnan(mae[0]) and mae[1] == 0
    metrics = face_metrics(prediction, truth, FPS, valid)
    assert metrics["mae/jawOpen"] == pytest.approx(0.2)
    assert metrics["mae_jaw"] == pytest.approx(0.05)  # jawOpen is 1 of 4 jaw channels
    assert "mae/eyeBlinkLeft" not in metrics


def test_blinks_and_brows():
    face = np.zeros((60 * 30, 52))  # one minute
    for start in range(15, len(face) - 10, 90):  # a blink every 3 s: 20 per minute
        face[start : start + 4, list((index("eyeBlinkLeft"), index("eyeBlinkRight")))] = [
            [0.6, 0.6],
            [1.0, 1.0],
            [0.9, 0.8],
            [0.4, 0.4],  # stays above the low threshold: still the same blink
        ]
    assert blink_count(face) == 20
    assert blink_rate(face, FPS) == pytest.approx(20.0)
    brows = np.zeros((31, 52))
    brows[:, list(GROUPS["brows"])] = np.arange(31)[:, None] / 30  # 1 unit per second
    assert brow_motion(brows, FPS) == pytest.approx(1.0)


def test_visemes_of_arpabet_and_ipa():
    assert [viseme(p) for p in ("M", "B", "P", "F", "AA1", "UW0", "L", "sil", "T")] == list(
        "AAAGDFHXB"
    )
    assert [viseme(p) for p in ("m", "ˈb", "v", "ɑː", "uː", "l", "ð", " ")] == list("AAGDFHBX")
    assert is_bilabial("m") and is_bilabial("B") and is_bilabial("P") and is_bilabial("ˈp")
    assert not is_bilabial("f") and not is_bilabial("AA")
    ids = viseme_ids([("m", 0.0, 0.1), ("a", 0.1, 0.3)], 12, FPS)
    assert ids.tolist() == [2, 2, 2, 5, 5, 5, 5, 5, 5, 1, 1, 1]


def test_viseme_baseline_closes_lips_on_bilabials_and_opens_on_vowels():
    phonemes = [("m", 0.0, 0.08), ("ɑ", 0.08, 0.30), ("p", 0.30, 0.36), ("ɑ", 0.36, 0.6)]
    face = viseme_face(phonemes, 24, FPS)
    assert face.shape == (24, 52) and face.min() >= 0 and face.max() <= 1
    jaw = face[:, index("jawOpen")]
    assert jaw[6] > 0.25 and jaw[15] > 0.25  # inside the two vowels (pulled by neighbours)
    assert jaw[10] == 0.0  # the p at 0.30-0.36 s: frame 10 (0.333 s) is held closed
    assert bilabial_closure(face, bilabial_intervals(phonemes), FPS) == 1.0
    shut = np.zeros((24, 52))
    shut[:, index("jawOpen")] = 0.5
    assert bilabial_closure(shut, bilabial_intervals(phonemes), FPS) == 0.0
    shut[:, index("mouthClose")] = 0.5  # lips closed over an open jaw
    assert bilabial_closure(shut, bilabial_intervals(phonemes), FPS) == 1.0


def test_loudness_baseline_follows_the_envelope():
    rate = 16000
    t = np.arange(2 * rate) / rate
    audio = 0.5 * np.sin(2 * np.pi * 200 * t) * (t > 1.0)  # silence, then a loud tone
    level = rms_db(audio, rate, 60, FPS)
    assert level[10] == pytest.approx(-120.0) and level[50] == pytest.approx(
        20 * np.log10(0.5 / np.sqrt(2)), abs=0.1
    )
    face = loudness_jaw(audio, rate, 60, FPS, max_open=0.4)
    assert face[10, index("jawOpen")] == 0.0 and face[50, index("jawOpen")] == pytest.approx(0.4)
    assert np.count_nonzero(face[:, [k for k in range(52) if k != index("jawOpen")]]) == 0


def test_synthetic_upper_face_blinks_at_the_requested_rate_and_raises_brows_on_accents():
    from llavataros.face.upper import combine, upper_face

    minutes = 5
    face = upper_face(minutes * 60 * 30, FPS, accent_times=[1.0, 4.0], seed=3, blinks_per_minute=17)
    assert 17 * 0.7 < blink_rate(face, FPS) < 17 * 1.3
    brow = face[:, index("browInnerUp")]
    assert brow[33] > 0.2 and brow[123] > 0.2 and brow[75] == 0.0  # peaks 1.1 s, 4.1 s; not 2.5
    assert brow_motion(face, FPS) > 0
    assert np.count_nonzero(face[:, list(GROUPS["jaw"] + GROUPS["mouth"])]) == 0
    mouth = np.zeros_like(face)
    mouth[:, index("jawOpen")] = 0.3
    both = combine(face, mouth)
    assert both[0, index("jawOpen")] == pytest.approx(0.3) and both.max() == face.max()
