"""Synthetic corpus speech: Piper word times, determinism, rate, trigger spacing (SPEC 4)."""

from __future__ import annotations

import numpy as np
import pytest

from llavataros.corpus.script import Script, Trigger, assemble_script, generate_script
from llavataros.corpus.speech_takes import (
    MIN_TRIGGER_SPACING,
    assemble_take,
    generate_take,
    speak_script,
)
from llavataros.errors import InputError
from llavataros.speech.audio import SAMPLE_RATE
from llavataros.speech.tts import (
    SpokenSentence,
    Synthesizer,
    Voice,
    patch_voice_graph,
    word_phoneme_labels,
)
from llavataros.speech.words import split_words

SHORT = Script(
    sentences=("My neighbor painted the red lamp in the garden.", "Nothing happened."),
    words=tuple(split_words("My neighbor painted the red lamp in the garden. Nothing happened.")),
    triggers=(Trigger(0, "My", "SELF"), Trigger(9, "Nothing", "NO")),
)


@pytest.fixture(scope="module")
def synthesizer() -> Synthesizer:
    return Synthesizer()


@pytest.fixture(scope="module")
def take(synthesizer):
    return speak_script(synthesizer, SHORT, Voice())


def test_patched_graph_takes_noise_inputs_and_returns_durations(synthesizer):
    session = synthesizer.session  # built from patch_voice_graph(the bundled voice)
    inputs = {i.name: i.shape for i in session.get_inputs()}
    assert inputs["noise_0"][:2] == [1, 2] and inputs["noise_1"][:2] == [1, 192]
    assert len(session.get_outputs()) == 2


def test_patch_refuses_what_is_not_a_voice():
    with pytest.raises(InputError):
        patch_voice_graph(b"\x0a\x03abc", "bad.onnx")


def test_missing_voice_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="not found"):
        Synthesizer(tmp_path / "missing.onnx")


def test_one_timed_word_per_script_word_in_order(take):
    words = take.transcript.words
    assert [w.word for w in words] == list(SHORT.words)
    assert take.sample_rate == SAMPLE_RATE and take.audio.dtype == np.float32
    starts = np.array([w.start for w in words])
    ends = np.array([w.end for w in words])
    assert np.all(ends > starts)
    assert np.all(starts[1:] >= ends[:-1] - 1e-9)
    assert starts[0] >= Voice().edge_pause
    assert ends[-1] <= take.duration - Voice().edge_pause
    assert take.transcript.source == "piper"


def test_word_times_match_where_the_audio_is_loud(take):
    """Each sentence's sound starts near its first word and ends near its last (known answer)."""
    frame = 160  # 10 ms
    frames = take.audio[: len(take.audio) // frame * frame].reshape(-1, frame)
    energy = np.sqrt(np.mean(frames**2, axis=1))
    loud = np.flatnonzero(energy > 0.01 * energy.max()) / 100  # frame start times, s
    spans = SHORT.sentence_spans()
    for (first, stop), (begin, end) in zip(spans, take.sentence_times, strict=True):
        inside = loud[(loud >= begin) & (loud < end)]
        assert abs(inside[0] - take.transcript.words[first].start) < 0.08
        assert abs(inside[-1] + 0.01 - take.transcript.words[stop - 1].end) < 0.08
    pause = slice(int(take.sentence_times[0][1] * 100) + 1, int(take.sentence_times[1][0] * 100))
    silent = energy[pause]
    assert silent.max() == 0.0  # the pause between sentences


def test_triggers_get_the_times_of_their_words(take):
    assert [t.word_index for t in take.triggers] == [0, 9]
    for trigger in take.triggers:
        word = take.transcript.words[trigger.word_index]
        assert (trigger.start, trigger.end) == (word.start, word.end)
    assert take.dropped == ()


def test_same_script_and_voice_give_identical_audio(synthesizer, take):
    again = speak_script(synthesizer, SHORT, Voice())
    assert again.audio.tobytes() == take.audio.tobytes()
    assert again.transcript == take.transcript
    other = speak_script(synthesizer, SHORT, Voice(seed=1))
    assert other.audio.tobytes() != take.audio.tobytes()


def test_slower_speaking_rate_gives_longer_speech(synthesizer):
    script = assemble_script([_sentence("Anna painted the red lamp in the garden.")])
    durations = {}
    for scale in (0.8, 1.3):
        spoken = speak_script(synthesizer, script, Voice(length_scale=scale, edge_pause=0.0))
        durations[scale] = spoken.transcript.words[-1].end - spoken.transcript.words[0].start
    # Piper rounds every phoneme id up to whole frames, so time grows less than the scale
    assert 1.2 < durations[1.3] / durations[0.8] < 1.3 / 0.8


def test_pitch_shift_keeps_the_speaking_rate_and_raises_the_pitch(synthesizer):
    script = assemble_script([_sentence("Anna painted the red lamp in the garden.")])
    low = speak_script(synthesizer, script, Voice(edge_pause=0.0))
    high = speak_script(synthesizer, script, Voice(edge_pause=0.0, pitch_semitones=4.0))
    assert high.duration == pytest.approx(low.duration, rel=0.1)
    assert _median_pitch(high.audio) / _median_pitch(low.audio) == pytest.approx(
        2 ** (4 / 12), rel=0.08
    )


def test_voice_settings_are_checked():
    with pytest.raises(ValueError, match="length_scale"):
        Voice(length_scale=0.0)
    with pytest.raises(ValueError, match="pitch"):
        Voice(pitch_semitones=12.0)


def test_merged_espeak_words_are_split_by_alignment():
    # espeak says "did not" as one group "dɪdnˌɑːt"; alone: "dˈɪd" and "nˈɑːt"
    sentence = list("ʃiː dɪdnˌɑːt.")
    words = [list("ʃˈiː"), list("dˈɪd"), list("nˈɑːt")]
    labels = word_phoneme_labels(sentence, words)
    assert "".join(p for p, k in zip(sentence, labels, strict=True) if k == 1) == "dɪd"
    assert "".join(p for p, k in zip(sentence, labels, strict=True) if k == 2) == "nˌɑːt"
    assert labels[3] is None and labels[-1] is None  # space, full stop


def test_triggers_closer_than_one_second_are_dropped_but_still_spoken():
    script = Script(
        ("My lamp was tiny.",),
        ("My", "lamp", "was", "tiny"),
        (Trigger(0, "My", "SELF"), Trigger(3, "tiny", "SMALL")),
    )
    times = ((0.0, 0.2), (0.2, 0.5), (0.5, 0.7), (0.7, 1.1))
    spoken = [SpokenSentence(np.full(SAMPLE_RATE * 2, 0.1, np.float32), times)]
    take = assemble_take(script, spoken, Voice(edge_pause=0.5))
    assert [t.word for t in take.triggers] == ["My"]
    assert [t.word for t in take.dropped] == ["tiny"]
    assert take.dropped[0].start == pytest.approx(1.2)
    assert len(take.transcript.words) == 4


@pytest.mark.slow
def test_generated_takes_keep_triggers_a_second_apart(synthesizer):
    voice = Voice(length_scale=0.75, seed=3)  # a fast speaker is the hard case
    script, take = generate_take(np.random.default_rng(4), synthesizer, voice, 60)
    assert len(script.words) >= 60 and len(take.transcript.words) == len(script.words)
    assert take.dropped == () and len(take.triggers) == len(script.triggers) > 0
    assert np.all(np.diff([t.start for t in take.triggers]) >= MIN_TRIGGER_SPACING)
    again = speak_script(synthesizer, script, voice)  # the take can be made again from its script
    assert again.audio.tobytes() == take.audio.tobytes()


@pytest.mark.slow
def test_a_fresh_synthesizer_gives_the_same_bytes(take):
    fresh = Synthesizer(threads=2)
    assert speak_script(fresh, SHORT, Voice()).audio.tobytes() == take.audio.tobytes()


@pytest.mark.slow
def test_generated_script_words_all_get_times(synthesizer):
    script = generate_script(np.random.default_rng(9), 50, novel_contexts=True)
    take = speak_script(synthesizer, script, Voice(pitch_semitones=-2.0, seed=2))
    assert [w.word for w in take.transcript.words] == list(script.words)
    starts = np.array([w.start for w in take.transcript.words])
    assert np.all(np.diff(starts) > 0)


def _sentence(text: str):
    from llavataros.corpus.script import Sentence

    return Sentence(text, split_words(text))


def _median_pitch(audio: np.ndarray) -> float:
    """Median autocorrelation pitch (Hz) of the voiced 40 ms frames."""
    frame, pitches = 640, []
    for start in range(0, len(audio) - frame, frame // 2):
        chunk = audio[start : start + frame]
        if np.sqrt(np.mean(chunk**2)) < 0.05:
            continue
        correlation = np.correlate(chunk, chunk, "full")[frame - 1 :]
        low, high = SAMPLE_RATE // 400, SAMPLE_RATE // 60
        lag = low + int(np.argmax(correlation[low:high]))
        if correlation[lag] > 0.5 * correlation[0]:
            pitches.append(SAMPLE_RATE / lag)
    return float(np.median(pitches))
