"""FACEGOOD importer (hand-made rows and the real clips) and the loudness baseline on them."""

from __future__ import annotations

import numpy as np
import pytest

from llavataros.errors import InputError
from llavataros.eval.face_metrics import pearson
from llavataros.face.arkit import GROUPS, index
from llavataros.face.baselines import loudness_jaw
from llavataros.face.facegood import (
    HELD_OUT_CLIP,
    TABLE_FILE,
    TableRow,
    facegood_to_arkit,
    load_facegood_clip,
    load_facegood_names,
    parse_expression,
    read_arkit_table,
)
from llavataros.speech.audio import load_audio


def test_parse_expression():
    assert parse_expression("mouth_stretch_c") == ("mouth_stretch_c",)
    assert parse_expression("max(a, b,c)") == ("a", "b", "c")
    assert parse_expression("  ") == ()


def test_hand_made_row_maps_by_the_table():
    names = ["mouth_stretch_c", "fu_ul", "fu_ur", "eye_blink2_l", "Cheek_UP"]
    table = (
        TableRow("jawOpen", ("mouth_stretch_c",), True),
        TableRow("mouthFunnel", ("fu_ul", "fu_ur"), True),
        TableRow("eyeBlinkLeft", ("eye_blink2_l",), False),
        TableRow("cheekSquintLeft", ("cheek_up",), True),  # case-insensitive match
        TableRow("tongueOut", (), False),
    )
    values = np.array([[0.7, 0.1, 0.4, 0.9, 0.25]])
    weights, valid = facegood_to_arkit(values, names, table)
    assert weights.shape == (1, 52) and weights.dtype == np.float32
    assert weights[0, index("jawOpen")] == pytest.approx(0.7)
    assert weights[0, index("mouthFunnel")] == pytest.approx(0.4)  # max of the two
    assert weights[0, index("eyeBlinkLeft")] == 0.0  # invalid rows carry nothing
    assert weights[0, index("cheekSquintLeft")] == pytest.approx(0.25)
    assert set(np.flatnonzero(valid)) == {
        index(n) for n in ("jawOpen", "mouthFunnel", "cheekSquintLeft")
    }
    with pytest.raises(InputError, match="mouthClose.*chew"):
        facegood_to_arkit(values, names, (TableRow("mouthClose", ("chew",), True),))


def test_real_table_and_row(facegood_dir):
    table = read_arkit_table(facegood_dir / TABLE_FILE)
    assert len(table) == 52
    valid_rows = {row.arkit for row in table if row.valid}
    assert len(valid_rows) == 27 and "jawOpen" in valid_rows and "eyeBlinkLeft" not in valid_rows
    names = load_facegood_names(facegood_dir)
    row = np.zeros((1, 116))
    row[0, names.index("mouth_stretch_c")] = 0.6
    for name, value in zip(
        ("mouth_funnel_dl", "mouth_funnel_dr", "mouth_funnel_ul", "mouth_funnel_ur"),
        (0.1, 0.5, 0.2, 0.3),
        strict=True,
    ):
        row[0, names.index(name)] = value
    row[0, names.index("eye_blink2_l")] = 0.9
    row[0, names.index("mouth_chew_c")] = 0.2
    weights, valid = facegood_to_arkit(row, names, table)
    assert weights[0, index("jawOpen")] == pytest.approx(0.6)
    assert weights[0, index("mouthFunnel")] == pytest.approx(0.5)
    assert weights[0, index("mouthClose")] == pytest.approx(0.2)
    assert weights[0, index("eyeBlinkLeft")] == 0.0
    assert np.count_nonzero(weights) == 3
    assert set(np.flatnonzero(valid)) == set(GROUPS["jaw"]) | (
        set(GROUPS["mouth"]) - {index("tongueOut")}
    )


def test_real_clip_and_loudness_baseline(facegood_dir):
    clip = load_facegood_clip(facegood_dir, HELD_OUT_CLIP)
    audio = load_audio(clip.audio_path)
    assert clip.weights.shape == (3384, 52) and clip.weights.dtype == np.float32
    assert abs(len(clip.weights) - len(audio) / 16000 * 30) < 1.5
    jaw = clip.weights[:, index("jawOpen")]
    assert 0.05 < jaw.mean() < 0.2 and jaw.max() > 0.5  # the jaw moves: the busiest channel
    assert not clip.weights[:, list(GROUPS["eyes"])].any()
    baseline = loudness_jaw(audio, 16000, len(clip.weights), 30.0)
    assert pearson(baseline[:, index("jawOpen")], jaw) > 0.5  # issue: 0.59-0.77 on these clips
