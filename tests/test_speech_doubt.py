"""The speech front-end doubts what it should (issue 14, item 2): silence gives no words, speech
that is not English gives a warning and no words, a transcript that does not fit the audio gives
a warning, and words.json says where its words came from."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from llavataros.speech.align import Aligner, AlignmentFit
from llavataros.speech.audio import load_audio
from llavataros.speech.frontend import (
    DOES_NOT_FIT,
    FrontendConfig,
    group_segments,
    read_transcript_argument,
    words_for_audio,
)
from llavataros.speech.frontend import fit_warning as make_fit_warning
from llavataros.speech.textgrid import load_textgrid
from llavataros.speech.transcribe import (
    NOT_ENGLISH,
    HeardSegment,
    Transcriber,
    TranscriberConfig,
    block_bounds,
    screen_segments,
)
from llavataros.speech.words import Transcript, Word, load_words_json, save_words_json

FACEGOOD = Path(__file__).resolve().parents[2] / "shared" / "data" / "facegood"
UNRELATED = (
    "The committee approved the new budget for the city library after a long debate about "
    "parking fees and the price of coffee in the downtown area during winter. "
) * 6


def _segment(start, end, probability, logprob=-0.2, no_speech=0.05, ratio=1.5, text=" hi there"):
    words = text.split()
    step = (end - start) / len(words)
    pieces = tuple(
        (" " + w, start + i * step, start + (i + 1) * step, probability)
        for i, w in enumerate(words)
    )
    return HeardSegment(start, end, text.strip(), pieces, no_speech, logprob, ratio)


CONFIG = TranscriberConfig()


def test_english_segments_are_kept():
    segments = [_segment(0, 5, 0.95), _segment(6, 9, 0.69, logprob=-0.54, no_speech=0.88)]
    kept, warnings = screen_segments(segments, CONFIG)
    assert kept == segments and warnings == []


def test_not_speech_and_repetition_are_dropped():
    english = _segment(0, 5, 0.9)
    invented = _segment(28.1, 29.5, 0.35, logprob=-0.71, no_speech=0.95, text=" you")
    looping = _segment(10, 20, 0.9, ratio=3.1, text=" the the the")
    kept, warnings = screen_segments([english, invented, looping], CONFIG)
    assert kept == [english]
    assert len(warnings) == 1 and "repetitive" in warnings[0]


def test_speech_that_is_not_english_gives_no_words():
    foreign = [_segment(10 * i, 10 * i + 9, 0.35, logprob=-0.8) for i in range(4)]
    kept, warnings = screen_segments([*foreign, _segment(50, 52, 0.9)], CONFIG)
    assert kept == []
    assert len(warnings) == 1 and warnings[0].startswith(NOT_ENGLISH)
    assert "95% of 38 s of speech" in warnings[0]


def test_a_little_foreign_speech_is_dropped_with_a_warning():
    english = [_segment(10 * i, 10 * i + 9, 0.9) for i in range(3)]
    foreign = _segment(40, 45, 0.3, logprob=-0.9)
    kept, warnings = screen_segments([*english, foreign], CONFIG)
    assert kept == english
    assert warnings == ["dropped the words of 1 segment(s) (5 s) that do not look like English"]


def test_fit_warning_thresholds():
    config = FrontendConfig()
    assert make_fit_warning(AlignmentFit(198, 1.0, 0.0014), config) is None
    assert make_fit_warning(AlignmentFit(0, 0.0, np.nan), config) is None
    unrelated = make_fit_warning(AlignmentFit(168, 1.0, 0.0046), config)
    assert unrelated.startswith(DOES_NOT_FIT) and "0.0046" in unrelated
    assert make_fit_warning(AlignmentFit(198, 0.19, 0.002), config).startswith(DOES_NOT_FIT)
    assert make_fit_warning(AlignmentFit(5, 0.0, np.nan), config).startswith(DOES_NOT_FIT)


def test_groups_span_at_most_the_limit():
    segments = [_segment(s, e, 0.9) for s, e in [(0, 10), (11, 25), (26, 40), (41, 90), (95, 99)]]
    groups = group_segments(segments, 30.0)
    assert [[(s.start, s.end) for s in g] for g in groups] == [
        [(0, 10), (11, 25)],
        [(26, 40)],
        [(41, 90)],
        [(95, 99)],
    ]


def test_blocks_are_cut_in_the_quiet():
    rng = np.random.default_rng(0)
    audio = (0.3 * rng.standard_normal(16000 * 100)).astype(np.float32)
    audio[16000 * 52 : 16000 * 53] = 0.0  # the only pause, 52-53 s
    bounds = block_bounds(audio, 60.0)
    assert len(bounds) == 2 and bounds[0][0] == 0.0 and bounds[1][1] == 100.0
    assert 52.0 <= bounds[0][1] <= 53.0 and bounds[1][0] == bounds[0][1]
    assert block_bounds(audio[: 16000 * 30], 60.0) == [(0.0, 30.0)]


def test_words_json_keeps_source_and_warnings(tmp_path):
    transcript = Transcript("hi", (Word("hi", 0.1, 0.3),), "whisper", ("a warning",))
    path = save_words_json(transcript, tmp_path / "a.words.json")
    assert json.loads(path.read_text())["warnings"] == ["a warning"]
    assert load_words_json(path) == transcript
    quiet = save_words_json(Transcript("hi", (), "transcript"), tmp_path / "b.words.json")
    assert "warnings" not in json.loads(quiet.read_text())


def test_source_labels_of_files(tmp_path, sample_textgrid):
    assert read_transcript_argument(sample_textgrid).source == "textgrid"
    path = tmp_path / "w.json"
    path.write_text(json.dumps([{"word": "hi", "start": 0.1, "end": 0.2}]))
    assert read_transcript_argument(path).source == "json"


@pytest.fixture(scope="module")
def transcriber():
    return Transcriber(TranscriberConfig(cpu_threads=1))


@pytest.fixture(scope="module")
def aligner():
    return Aligner()


@pytest.mark.slow
def test_silence_and_noise_give_no_words(transcriber, aligner):
    silence = np.zeros(30 * 16000, np.float32)
    result = words_for_audio(silence, None, transcriber, aligner)
    assert result.words == () and result.source == "whisper"  # Whisper alone invents "you"
    hiss = (0.01 * np.random.default_rng(0).standard_normal(30 * 16000)).astype(np.float32)
    assert words_for_audio(hiss, None, transcriber, aligner).words == ()


@pytest.mark.slow
def test_mandarin_gives_a_warning_and_no_words(transcriber, aligner):
    clip = FACEGOOD / "1114_2_01.wav"
    if not clip.exists():
        pytest.skip(f"FaceGood Mandarin clips not found at {FACEGOOD} (team machines have them)")
    audio = load_audio(clip)[: 16000 * 40]  # 40 s: Whisper hears 109 invented words in it
    result = words_for_audio(audio, None, transcriber, aligner)
    assert result.words == ()  # before: 116 invented English words
    assert len(result.warnings) == 1 and result.warnings[0].startswith(NOT_ENGLISH)


@pytest.mark.slow
@pytest.mark.sample
def test_given_transcript_fits_or_is_flagged(sample_wav, sample_textgrid, aligner):
    audio = load_audio(sample_wav)[: 16000 * 50]  # 50 s, 84 words
    said = [w.word for w in load_textgrid(sample_textgrid).words if w.end <= 50.0]
    right = words_for_audio(audio, " ".join(said), aligner=aligner)
    assert right.source == "transcript" and right.warnings == ()
    unrelated = " ".join(UNRELATED.split()[: len(said)])
    wrong = words_for_audio(audio, unrelated, aligner=aligner)
    assert wrong.source == "transcript" and len(wrong.words) == len(said)
    assert len(wrong.warnings) == 1 and wrong.warnings[0].startswith(DOES_NOT_FIT)


@pytest.mark.slow
@pytest.mark.sample
def test_whisper_words_say_whisper(sample_wav, transcriber, aligner):
    audio = load_audio(sample_wav)[: 16000 * 23]  # the first two sentences
    result = words_for_audio(audio, None, transcriber, aligner)
    assert result.source == "whisper" and result.warnings == ()
    assert [w.word for w in result.words[:4]] == ["I", "think", "the", "worst"]
    assert Transcript.from_dict(result.to_dict()).source == "whisper"
