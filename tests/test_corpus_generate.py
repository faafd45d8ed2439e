"""Corpus generation (SPEC section 4) in the AvatarOS layout: files, determinism, mirrors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile
from praatio import textgrid as praat

from llavataros.corpus.generate import generate_corpus, take_plan
from llavataros.corpus.labels import GestureLabels
from llavataros.corpus.styles import SpeakerStyle
from llavataros.corpus.writers import textgrid_text, write_textgrid
from llavataros.errors import InputError
from llavataros.motion import load_take
from llavataros.motion.mirror import is_mirrored, mirror_name
from llavataros.speech.textgrid import load_textgrid
from llavataros.speech.tts import Voice
from llavataros.speech.words import Transcript, Word, load_words_json

SUFFIXES = (".npy", ".wav", ".words.json", ".TextGrid", ".gestures.json", ".face.npy")


def test_textgrid_writer_round_trip(tmp_path):
    words = (Word("Hello", 0.5, 0.81), Word("my", 0.81, 1.0), Word('"big"', 1.2, 1.6))
    transcript = Transcript("Hello my big", words, "test")
    path = write_textgrid(tmp_path / "take.TextGrid", transcript, 2.0)
    assert load_textgrid(path).words == words
    grid = praat.openTextgrid(str(path), includeEmptyIntervals=True)
    entries = grid.getTier("words").entries
    assert [e.label for e in entries] == ["", "Hello", "my", "", '"big"', ""]
    assert entries[-1].end == 2.0
    assert "intervals: size = 6" in textgrid_text(transcript, 2.0)


def test_take_plan_names_and_lengths():
    speakers = [SpeakerStyle("Ada", Voice()), SpeakerStyle("Bruno", Voice(length_scale=1.2))]
    plan = take_plan(10.0, speakers, 0, (30.0, 60.0))
    assert len(plan) == 13  # 600 s in takes of 45 s on average
    names = [name for name, _, _ in plan]
    assert names[:3] == ["001_Ada_0_x_1_0", "002_Bruno_0_x_1_0", "003_Ada_1_x_1_0"]
    assert all(not is_mirrored(n) and is_mirrored(mirror_name(n)) for n in names)
    words = sum(w * s.voice.length_scale for _, s, w in plan)
    assert words == pytest.approx(600 * 2.9, rel=0.01)


def test_bad_settings_are_input_errors(tmp_path):
    with pytest.raises(InputError):
        generate_corpus(tmp_path, 0.0, 2, 0)
    with pytest.raises(InputError):
        generate_corpus(tmp_path, 1.0, 21, 0)
    with pytest.raises(InputError):
        generate_corpus(tmp_path, 1.0, 2, 0, workers=0)


def read_all(folder) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.mark.slow
def test_generated_corpus(tmp_path):
    settings = dict(minutes=0.2, speakers=2, mirror=True, progress=False, take_seconds=(5, 7))
    one = generate_corpus(tmp_path / "one", seed=4, workers=1, **settings)
    two = generate_corpus(tmp_path / "two", seed=4, workers=2, **settings)
    assert one == two
    assert read_all(tmp_path / "one") == read_all(tmp_path / "two")  # byte-identical
    other = generate_corpus(tmp_path / "other", seed=5, workers=1, **settings)
    assert other["takes"][0]["name"] == one["takes"][0]["name"]
    name = one["takes"][0]["name"]
    assert (tmp_path / "other" / f"{name}.npy").read_bytes() != (
        tmp_path / "one" / f"{name}.npy"
    ).read_bytes()

    folder = tmp_path / "one"
    names = [take["name"] for take in one["takes"]]
    assert len(names) == 4 and sum(is_mirrored(n) for n in names) == 2
    expected = {f"{n}{s}" for n in names for s in SUFFIXES} | {"corpus.json"}
    assert {p.name for p in folder.iterdir()} == expected  # nothing half-written left
    assert json.loads((folder / "corpus.json").read_text()) == one
    assert one["seconds"] == pytest.approx(sum(t["seconds"] for t in one["takes"]), abs=1e-3)
    assert one["version"] and one["seed"] == 4 and len(one["speakers"]) == 2
    assert one["take_seconds"] == [5.0, 7.0]  # what deterministic_bound.py re-plans with

    for take in one["takes"]:
        stem = folder / take["name"]
        array = np.load(f"{stem}.npy")
        info = soundfile.info(f"{stem}.wav")
        assert array.dtype == np.float32 and array.shape[1:] == (9, 7)
        assert (info.samplerate, info.subtype, info.channels) == (16000, "PCM_16", 1)
        assert len(array) == round(info.frames / info.samplerate * 60.0) == take["frames"]
        motion = load_take(f"{stem}.npy")
        assert motion.fps == 60.0
        words = load_words_json(f"{stem}.words.json").words
        aligned = load_textgrid(f"{stem}.TextGrid").words
        assert [w.word for w in words] == [w.word for w in aligned]
        assert np.allclose([w.start for w in words], [w.start for w in aligned], atol=1e-3)
        data = json.loads((folder / f"{take['name']}.gestures.json").read_text())
        labels = GestureLabels.from_dict(data)
        assert data["mirror"] == take["mirror"] and data["speaker"]["name"] == take["speaker"]
        assert len(labels.gestures) == len(data["triggers"])
        for label in labels.gestures:
            assert label.word_start <= label.peak <= label.word_end + 0.4
            if label.gesture in ("YOU", "NO", "EAT"):
                assert label.hand == "right"
    original, mirrored = (
        json.loads((folder / f"{n}.gestures.json").read_text()) for n in names[:2]
    )
    assert [g["peak"] for g in original["gestures"]] == [g["peak"] for g in mirrored["gestures"]]
    assert (folder / f"{names[0]}.wav").read_bytes() == (folder / f"{names[1]}.wav").read_bytes()
    check = one["detector_check"]
    triggers = sum(c["triggers"] for c in check.values())
    matched = sum(c["matched"] for c in check.values())
    detected = sum(c["detected"] for c in check.values())
    assert triggers >= 2 and matched >= 0.95 * triggers and matched >= 0.95 * detected
