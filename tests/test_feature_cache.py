"""Feature cache keys (content, transcript, settings) and the FeatureExtractor that uses them."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile

from llavataros.errors import InputError
from llavataros.features.audio_encoders import ProsodyFeatures
from llavataros.features.cache import (
    FeatureCache,
    cache_key,
    file_digest,
    transcript_digest,
)
from llavataros.features.frames import FeatureExtractor, FrameFeatures
from llavataros.features.speaker import (
    AVATAROS_STYLES,
    SpeakerVocabulary,
    style_from_take_name,
)
from llavataros.features.text_encoders import TextEncoder
from llavataros.speech.words import Transcript, Word

RATE = 16000


class CountingTextEncoder(TextEncoder):
    """Word ``i`` of a call gets the vector ``[len(word), i, 1]``; counts calls."""

    def __init__(self, name="counting"):
        self.calls = 0
        self.name = name

    @property
    def dim(self) -> int:
        return 3

    def settings(self) -> dict:
        return {"encoder": self.name}

    def encode_words(self, words):
        self.calls += 1
        return np.array([[len(w), i, 1] for i, w in enumerate(words)], dtype=np.float32)


class CountingProsody(ProsodyFeatures):
    calls = 0

    def extract(self, audio, num_frames):
        CountingProsody.calls += 1
        return super().extract(audio, num_frames)


def _transcript(shift=0.0, last="there"):
    words = (Word("hello", 0.1 + shift, 0.4 + shift), Word(last, 0.5 + shift, 0.9 + shift))
    return Transcript(" ".join(w.word for w in words), words, "json")


@pytest.fixture()
def wav(tmp_path):
    time = np.arange(RATE) / RATE
    path = tmp_path / "speech.wav"
    soundfile.write(path, (0.3 * np.sin(2 * np.pi * 180 * time)).astype(np.float32), RATE)
    return path


@pytest.fixture()
def setup(tmp_path):
    CountingProsody.calls = 0
    text = CountingTextEncoder()
    cache = FeatureCache(tmp_path / "cache")
    return FeatureExtractor(text, CountingProsody(30.0), cache), text


def test_second_call_reads_the_cache(setup, wav):
    extractor, text = setup
    first = extractor.extract(wav, _transcript(), fps=30.0)
    assert isinstance(first, FrameFeatures) and first.num_frames == 30 and first.fps == 30.0
    assert first.text.shape == (30, 3) and first.audio.shape == (30, 44)
    assert first.text.dtype == np.float32 and first.text_mask.dtype == bool
    assert (text.calls, CountingProsody.calls) == (1, 1)
    second = extractor.extract(wav, _transcript(), fps=30.0)
    assert (text.calls, CountingProsody.calls) == (1, 1)
    assert extractor.cache.hits == 2
    np.testing.assert_array_equal(second.audio, first.audio)
    np.testing.assert_array_equal(second.text, first.text)
    np.testing.assert_array_equal(second.text_mask, first.text_mask)


def test_text_frames_follow_word_times(setup, wav):
    extractor, _ = setup
    features = extractor.extract(wav, _transcript(), fps=30.0)
    # "hello" (5 letters) covers frames 3..11 (0.1 s to 0.4 s), "there" frames 15..26.
    np.testing.assert_array_equal(
        np.flatnonzero(features.text_mask), list(range(3, 12)) + list(range(15, 27))
    )
    assert np.all(features.text[3:12, 1] == 0) and np.all(features.text[15:27, 1] == 1)


def test_same_content_under_another_name_is_a_hit(setup, wav, tmp_path):
    extractor, text = setup
    extractor.extract(wav, _transcript(), fps=30.0)
    copy = tmp_path / "renamed.wav"
    copy.write_bytes(wav.read_bytes())
    extractor.extract(copy, _transcript(), fps=30.0)
    assert (text.calls, CountingProsody.calls) == (1, 1)


def test_changed_audio_bytes_recompute_the_audio(setup, wav):
    extractor, text = setup
    before = extractor.extract(wav, _transcript(), fps=30.0)
    digest = file_digest(wav)
    samples, _ = soundfile.read(wav, dtype="float32")
    samples[:4000] *= 0.1  # a quieter start
    soundfile.write(wav, samples, RATE)
    assert file_digest(wav) != digest
    after = extractor.extract(wav, _transcript(), fps=30.0)
    assert CountingProsody.calls == 2 and text.calls == 1
    assert after.audio[2, 40] < before.audio[2, 40]  # log energy of frame 2 dropped


def test_changed_fps_recomputes_audio_but_not_word_vectors(setup, wav):
    extractor, text = setup
    extractor.extract(wav, _transcript(), fps=30.0)
    at_60 = extractor.extract(wav, _transcript(), fps=60.0)
    assert at_60.num_frames == 60 and at_60.audio.shape == (60, 44)
    assert CountingProsody.calls == 2 and text.calls == 1
    assert extractor.audio_encoder.fps == 30.0  # the configured encoder is left as it was


def test_changed_words_re_encode_and_changed_times_only_move_frames(setup, wav):
    extractor, text = setup
    base = extractor.extract(wav, _transcript(), fps=30.0)
    other = extractor.extract(wav, _transcript(last="everyone"), fps=30.0)
    assert text.calls == 2 and CountingProsody.calls == 1
    assert other.text[20, 0] == 8 and base.text[20, 0] == 5
    shifted = extractor.extract(wav, _transcript(shift=0.1), fps=30.0)
    assert text.calls == 2
    assert not np.array_equal(shifted.text_mask, base.text_mask)
    assert transcript_digest(_transcript()) != transcript_digest(_transcript(shift=0.1))
    assert transcript_digest(_transcript(), with_times=False) == transcript_digest(
        _transcript(shift=0.1), with_times=False
    )


def test_changed_encoder_settings_change_the_key(tmp_path, wav):
    cache = FeatureCache(tmp_path / "cache")
    first, second = CountingTextEncoder("a"), CountingTextEncoder("b")
    FeatureExtractor(first, ProsodyFeatures(30.0), cache).extract(wav, _transcript(), 30.0)
    FeatureExtractor(second, ProsodyFeatures(30.0, n_mels=20), cache).extract(
        wav, _transcript(), 30.0
    )
    assert second.calls == 1 and cache.misses == 4 and cache.hits == 0
    assert cache_key({"a": 1, "b": [1, 2]}) == cache_key({"b": [1, 2], "a": 1})
    assert cache_key({"fps": 30.0}) != cache_key({"fps": 60.0})


def test_array_input_and_explicit_frame_count(setup):
    extractor, _ = setup
    samples = np.random.default_rng(0).standard_normal(RATE).astype(np.float32) * 0.1
    features = extractor.extract(samples, _transcript(), fps=30.0, num_frames=33)
    assert features.num_frames == 33 and features.text.shape == (33, 3)
    extractor.extract(samples, _transcript(), fps=30.0, num_frames=33)
    assert CountingProsody.calls == 1


def test_corrupt_entry_is_recomputed(setup, wav):
    extractor, _ = setup
    extractor.extract(wav, _transcript(), fps=30.0)
    for entry in extractor.cache.root.rglob("*.npz"):
        entry.write_bytes(b"garbage")
    extractor.extract(wav, _transcript(), fps=30.0)
    assert CountingProsody.calls == 2
    assert not list(extractor.cache.root.rglob("*.tmp"))


def test_missing_audio_is_an_input_error(setup, tmp_path):
    extractor, _ = setup
    with pytest.raises(InputError, match="not found"):
        extractor.extract(tmp_path / "absent.wav", _transcript(), fps=30.0)


# -- speaker / style ids -----------------------------------------------------------------------


def test_style_from_take_name():
    assert style_from_take_name("001_Neutral_0_mirror_x_1_0") == "Neutral"
    assert style_from_take_name("042_Disagreement_3_x_1_0") == "Disagreement"
    with pytest.raises(InputError, match="style"):
        style_from_take_name("speech")


def test_speaker_vocabulary_round_trip_and_errors():
    vocabulary = SpeakerVocabulary()
    assert len(vocabulary) == 19 and vocabulary.names == AVATAROS_STYLES
    assert vocabulary.id("Neutral") == 0 and vocabulary.name(18) == "Speech"
    assert vocabulary.resolve("Happy") == vocabulary.resolve(2) == vocabulary.resolve("2") == 2
    assert SpeakerVocabulary.from_dict(vocabulary.to_dict()) == vocabulary
    with pytest.raises(InputError, match="known speakers: Neutral, Sad"):
        vocabulary.id("Grumpy")
    with pytest.raises(InputError, match="unknown speaker id 19"):
        vocabulary.name(19)
    grown = vocabulary.extended(["Zed", "Happy", "Alpha"])
    assert grown.names[:19] == AVATAROS_STYLES and grown.names[19:] == ("Alpha", "Zed")
