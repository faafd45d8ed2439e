"""The learned mouth (the face model where no words are known): the same frames in any chunks,
never ahead of the audio it has heard, lower face only, inside the rule face and the pipeline."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from llavataros.errors import InputError
from llavataros.face.arkit import LOWER_FACE, index
from llavataros.face.rules import RuleFace
from llavataros.models.checkpoint import save_checkpoint
from llavataros.models.face.config import FaceModelConfig
from llavataros.models.face.model import FaceSpeechModel
from llavataros.pipeline.face import (
    SOURCE_MODEL,
    SOURCE_VISEMES_MODEL,
    is_english,
    speech_face,
)
from llavataros.pipeline.learned_mouth import (
    ENGLISH_SPEAKER,
    REAL_SPEAKER,
    SHIPPED_FACE_MODEL,
    LearnedMouth,
    load_face_model,
)
from llavataros.speech.transcribe import NOT_ENGLISH
from llavataros.speech.words import Transcript, Word

RATE = 16000
JAW = index("jawOpen")


def tiny_face_model() -> FaceSpeechModel:
    """A random face model that reads the prosody features at 30 fps (its head biased so the
    mouth channels move away from 0)."""
    torch.manual_seed(0)
    config = FaceModelConfig(width=16, heads=2, kv_heads=1, state_dim=4, lookahead=3, dropout=0)
    model = FaceSpeechModel(config)
    with torch.no_grad():
        model.head.bias.fill_(0.0)
        model.head.weight.mul_(10.0)
    return model.eval()


@pytest.fixture(scope="module")
def model():
    return tiny_face_model()


def speech(seconds: float = 3.0) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 3 * t)  # syllable-rate loudness
    noise = 0.02 * np.random.default_rng(0).standard_normal(len(t))
    return (envelope * 0.4 * np.sin(2 * np.pi * 180 * t) + noise).astype(np.float32)


def run(
    model, audio: np.ndarray, fps: float, chunk: int | None, speaker: int = ENGLISH_SPEAKER
) -> np.ndarray:
    """All frames, pulled as soon as they are ready (chunk None: the whole audio at once)."""
    total = round(len(audio) / RATE * fps)
    mouth = LearnedMouth(model, fps, speaker)
    pieces, out = [], 0
    for start in range(0, len(audio), chunk or len(audio)):
        mouth.add_audio(audio[start : start + (chunk or len(audio))])
        ready = min(mouth.ready_frames(), total)
        pieces.append(mouth.frames(out, ready - out))
        out = ready
    mouth.finish()
    pieces.append(mouth.frames(out, total - out))
    return np.concatenate(pieces)


@pytest.mark.parametrize("fps", [24.0, 30.0, 60.0])
@pytest.mark.parametrize("chunk", [160, 1031, 4800])
def test_chunks_give_the_offline_frames(model, fps, chunk):
    audio = speech()
    offline = run(model, audio, fps, None)
    assert offline.shape == (round(3.0 * fps), 52)
    np.testing.assert_allclose(run(model, audio, fps, chunk), offline, atol=1e-5)


def test_lower_face_only_and_moving(model):
    frames = run(model, speech(), 30.0, None)
    others = [k for k in range(52) if k not in LOWER_FACE]
    assert np.all(frames[:, others] == 0.0)
    assert frames[:, JAW].std() > 0.01  # the random model's jaw follows the audio somehow
    assert frames.min() >= 0.0 and frames.max() <= 1.0


def test_never_ahead_of_the_audio(model):
    """A frame is ready only once its features' audio and the model's lookahead have arrived:
    frames handed out before a change in later audio do not change with it."""
    audio = speech()
    changed = audio.copy()
    changed[RATE * 2 :] *= -3.0  # differs from 2 s on
    mouth, other = LearnedMouth(model, 60.0), LearnedMouth(model, 60.0)
    mouth.add_audio(audio[: RATE * 2])
    ready = mouth.ready_frames()
    assert 0 < ready <= (2.0 - 0.05 - 4 / 30) * 60 + 1  # context, lookahead 3 + 1 frames
    first = mouth.frames(0, ready)
    other.add_audio(changed)
    other.finish()
    np.testing.assert_allclose(other.frames(0, ready), first, atol=1e-5)
    with pytest.raises(RuntimeError, match="not heard"):
        mouth.frames(ready, 1)


@pytest.mark.parametrize("fps", [24.0, 60.0])
def test_latency_is_an_upper_bound(model, fps):
    """Fed 1 ms at a time, each frame comes out within ``latency_seconds`` of its time."""
    audio, step = speech(2.0), 16
    mouth, out, lead = LearnedMouth(model, fps), 0, []
    for start in range(0, len(audio), step):
        mouth.add_audio(audio[start : start + step])
        ready = min(mouth.ready_frames(), round(2.0 * fps))
        lead += [(start + step) / RATE - k / fps for k in range(out, ready)]
        mouth.frames(out, ready - out)
        out = ready
    assert len(lead) > fps
    assert max(lead) <= mouth.latency_seconds + step / RATE + 1e-9
    assert max(lead) > mouth.latency_seconds - 1.5 / 30  # the bound is reached or nearly


def test_rule_face_takes_the_model_where_no_words_are_known(model):
    audio = speech()
    face, source = speech_face(audio, [], 180, 60.0, face_model=model)
    assert source == SOURCE_MODEL
    np.testing.assert_allclose(
        face[:, list(LOWER_FACE)], run(model, audio, 60.0, None)[:, list(LOWER_FACE)], atol=1e-6
    )
    worded, source = speech_face(audio, [Word("maybe", 1.0, 1.6)], 180, 60.0, face_model=model)
    assert source == SOURCE_VISEMES_MODEL
    rules, _ = speech_face(audio, [Word("maybe", 1.0, 1.6)], 180, 60.0)
    inside = slice(round(1.1 * 60), round(1.5 * 60))  # visemes, the same as without a model
    np.testing.assert_allclose(worded[inside], rules[inside], atol=1e-6)
    outside = round(2.5 * 60)
    np.testing.assert_allclose(worded[outside], face[outside], atol=1e-6)
    # blinks and brows come from the rules either way
    blink = index("eyeBlinkLeft")
    np.testing.assert_array_equal(face[:, blink], speech_face(audio, [], 180, 60.0)[0][:, blink])


def test_the_mouth_speaks_english_unless_told_otherwise(model):
    """English speech (the default) gets the model's English speaker, other languages its
    speaker of captured faces."""
    audio = speech()
    english, _ = speech_face(audio, [], 90, 30.0, face_model=model)
    other, _ = speech_face(audio, [], 90, 30.0, face_model=model, english=False)
    lower = list(LOWER_FACE)
    expected = run(model, audio, 30.0, None, ENGLISH_SPEAKER)
    np.testing.assert_allclose(english[:, lower], expected[:, lower], atol=1e-6)
    expected = run(model, audio, 30.0, None, REAL_SPEAKER)
    np.testing.assert_allclose(other[:, lower], expected[:, lower], atol=1e-6)
    assert np.abs(english - other).max() > 0.01


def test_english_unless_the_front_end_says_otherwise():
    assert is_english(Transcript("hello", (Word("hello", 0.1, 0.4),), "whisper"))
    doubted = (f"{NOT_ENGLISH} (90% of 12 s of speech; mean word probability 0.2)",)
    assert not is_english(Transcript("", (), "whisper", doubted))
    assert is_english(Transcript("", (), "whisper", ("the transcript does not fit",)))


def test_rule_face_readiness_waits_for_the_mouth(model):
    face = RuleFace(60.0, mouth=LearnedMouth(model, 60.0))
    face.add_audio(speech()[:RATE])
    assert face.ready_frames() == face.mouth.ready_frames() < 60 - 0.1 * 60


def test_loading(model, tmp_path):
    save_checkpoint(tmp_path / "face", model, model.config, {})
    loaded = load_face_model(tmp_path / "face")
    assert isinstance(loaded, FaceSpeechModel) and not loaded.training
    with pytest.raises(InputError, match="not found|no model"):
        load_face_model(tmp_path / "absent")


def test_the_shipped_face_model_loads():
    model = load_face_model()
    assert model.config.fps == 30.0 and (SHIPPED_FACE_MODEL / "model.json").is_file()


def test_the_shipped_mouth_follows_a_real_jaw_better_than_loudness(facegood_dir):
    """Held-out FACEGOOD clip (never trained on), audio only, through animate's face path."""
    from llavataros.eval.face_metrics import face_metrics
    from llavataros.face.facegood import HELD_OUT_CLIP, load_facegood_clip
    from llavataros.speech.audio import load_audio

    clip = load_facegood_clip(facegood_dir, HELD_OUT_CLIP)
    audio, frames = load_audio(clip.audio_path), len(clip.weights)
    model = load_face_model()
    learned, source = speech_face(audio, [], frames, 30.0, face_model=model, english=False)
    loudness, _ = speech_face(audio, [], frames, 30.0)
    ours = face_metrics(learned, clip.weights, 30.0, clip.valid)
    rules = face_metrics(loudness, clip.weights, 30.0, clip.valid)
    assert source == SOURCE_MODEL
    assert ours["jaw_correlation"] > 0.80 > 0.76 > rules["jaw_correlation"]  # 0.808 vs 0.751
    assert abs(ours["jaw_lag_frames"]) <= 1
    assert ours["mae_lower_face"] < 0.8 * rules["mae_lower_face"]  # 0.0064 vs 0.0085
