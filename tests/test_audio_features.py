"""Prosody features (pitch, voicing, energy, onsets, log-mel) and transformers audio encoders."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from llavataros.errors import InputError
from llavataros.features.audio_encoders import (
    ProsodyFeatures,
    TransformersAudioEncoder,
    interpolate_rows,
    mel_filterbank,
)
from tiny_speech_models import save_tiny_speech_model

RATE = 16000
FPS = 30.0
MELS = 40
ENERGY, PITCH, VOICING, ONSET = MELS, MELS + 1, MELS + 2, MELS + 3


def _tone(frequency, seconds, amplitude=0.3, harmonics=1):
    time = np.arange(int(seconds * RATE)) / RATE
    wave = sum(np.sin(2 * np.pi * frequency * k * time) / k for k in range(1, harmonics + 1))
    return (amplitude * wave).astype(np.float32)


def _frames(seconds, fps=FPS):
    return int(round(seconds * fps))


@pytest.mark.parametrize("harmonics", [1, 6])
def test_pitch_of_a_200_hz_tone_within_3_percent(harmonics):
    extractor = ProsodyFeatures(FPS)
    audio = _tone(200.0, 1.0, harmonics=harmonics)
    pitch = extractor.pitch_hz(audio, _frames(1.0))[2:-2]  # edges are half silence
    assert np.all(np.abs(pitch / 200.0 - 1.0) < 0.03)
    features = extractor.extract(audio, _frames(1.0))
    assert np.all(features[2:-2, VOICING] > 0.8)
    expected = np.log(200.0 / 60.0) / np.log(400.0 / 60.0)  # log-F0 between f0_min and f0_max
    np.testing.assert_allclose(features[2:-2, PITCH], expected, atol=0.01)


def test_silence_is_unvoiced_and_low_energy():
    extractor = ProsodyFeatures(FPS)
    audio = np.concatenate([np.zeros(RATE, np.float32), _tone(150.0, 1.0)])
    features = extractor.extract(audio, _frames(2.0))
    silent, voiced = features[:28], features[33:-2]
    assert np.all(silent[:, PITCH] == 0.0) and np.all(silent[:, VOICING] == 0.0)
    assert np.all(voiced[:, PITCH] > 0.0)
    assert silent[:, ENERGY].max() < voiced[:, ENERGY].min() - 5.0


def test_white_noise_is_mostly_unvoiced():
    noise = np.random.default_rng(0).standard_normal(RATE).astype(np.float32) * 0.1
    features = ProsodyFeatures(FPS).extract(noise, _frames(1.0))
    assert np.mean(features[:, PITCH] > 0) < 0.2


def test_energy_of_a_louder_segment_is_higher():
    audio = np.concatenate([_tone(220.0, 1.0, amplitude=0.05), _tone(220.0, 1.0, amplitude=0.5)])
    energy = ProsodyFeatures(FPS).extract(audio, _frames(2.0))[:, ENERGY]
    quiet, loud = energy[3:27], energy[33:57]
    np.testing.assert_allclose(loud.mean() - quiet.mean(), np.log(10.0), atol=0.05)


def test_onset_strength_peaks_at_clicks():
    fps = 60.0
    audio = np.random.default_rng(1).standard_normal(3 * RATE).astype(np.float32) * 1e-3
    clicks = [0.5, 1.25, 2.3]
    for second in clicks:
        start = int(second * RATE)
        audio[start : start + 40] += np.hanning(40).astype(np.float32) * 0.8
    onset = ProsodyFeatures(fps).extract(audio, _frames(3.0, fps))[:, ONSET]
    peaks = np.sort(np.argsort(onset)[-3:])
    np.testing.assert_allclose(peaks, np.array(clicks) * fps, atol=2)


def test_log_mel_peaks_in_the_band_of_a_tone():
    extractor = ProsodyFeatures(FPS)
    log_mel = extractor.extract(_tone(1000.0, 0.5), _frames(0.5))[5:-5, :MELS]
    filters = mel_filterbank(RATE, 512, MELS)
    expected_band = np.argmax(filters[int(round(1000.0 / (RATE / 512)))])
    assert np.all(np.argmax(log_mel, axis=1) == expected_band)


@pytest.mark.parametrize("fps", [25.0, 30.0, 60.0])
def test_frame_count_dtype_and_settings(fps):
    extractor = ProsodyFeatures(fps)
    audio = _tone(180.0, 1.37)
    frames = _frames(1.37, fps)
    features = extractor.extract(audio, frames)
    assert features.shape == (frames, extractor.dim) == (frames, 44)
    assert features.dtype == np.float32 and np.all(np.isfinite(features))
    assert len(extractor.columns) == extractor.dim
    assert extractor.settings()["fps"] == fps
    other = extractor.with_fps(fps * 2)
    assert other.fps == fps * 2 and extractor.fps == fps
    assert other.settings() != extractor.settings()


def test_bad_audio_is_an_input_error():
    extractor = ProsodyFeatures(FPS)
    with pytest.raises(InputError, match="mono"):
        extractor.extract(np.zeros((100, 2), np.float32), 3)
    with pytest.raises(InputError, match="NaN"):
        extractor.extract(np.full(1000, np.nan, np.float32), 3)
    with pytest.raises(InputError, match="empty"):
        extractor.extract(np.zeros(0, np.float32), 3)


def test_interpolate_rows_is_linear_and_holds_the_ends():
    values = np.array([[0.0, 10.0], [1.0, 20.0], [3.0, 40.0]])
    result = interpolate_rows(np.array([0.0, 1.0, 2.0]), values, np.array([-1.0, 0.5, 1.5, 5.0]))
    np.testing.assert_allclose(result, [[0, 10], [0.5, 15], [2, 30], [3, 40]])


# -- transformers audio encoders ---------------------------------------------------------------


@pytest.fixture(scope="module", params=["wav2vec2", "wavlm"])
def tiny_audio_model(request, tmp_path_factory):
    return save_tiny_speech_model(request.param, tmp_path_factory.mktemp(request.param))


def test_transformers_encoder_interpolates_model_frames(tiny_audio_model):
    from transformers import AutoModel

    audio = (
        _tone(140.0, 1.0, harmonics=4)
        + np.random.default_rng(0).standard_normal(RATE).astype(np.float32) * 0.01
    )
    encoder = TransformersAudioEncoder(tiny_audio_model, fps=FPS)
    assert encoder.dim == 16 and encoder.sample_rate == RATE
    features = encoder.extract(audio, _frames(1.0))
    assert features.shape == (30, 16) and features.dtype == np.float32

    model = AutoModel.from_pretrained(tiny_audio_model, local_files_only=True).eval()
    normalised = (audio - audio.mean()) / np.sqrt(audio.var() + 1e-7)
    with torch.inference_mode():
        hidden = model(torch.tensor(normalised)[None]).last_hidden_state[0].numpy()
    centres = (np.arange(len(hidden)) * 320 + 656 / 2) / RATE  # stride 16*20, field 656
    expected = np.stack(
        [np.interp(np.arange(30) / FPS, centres, hidden[:, k]) for k in range(16)], axis=1
    )
    np.testing.assert_allclose(features, expected, atol=1e-4)

    lower_layer = TransformersAudioEncoder(tiny_audio_model, fps=FPS, layer=1)
    assert not np.allclose(lower_layer.extract(audio, 30), features, atol=1e-3)
    assert lower_layer.settings() != encoder.settings()


def _reference_features(model_folder, audio, start, times):
    """Interpolated last hidden states of the model run on ``audio[start:]`` alone."""
    from transformers import AutoModel

    model = AutoModel.from_pretrained(model_folder, local_files_only=True).eval()
    piece = audio[start:]
    normalised = (piece - piece.mean()) / np.sqrt(piece.var() + 1e-7)
    with torch.inference_mode():
        hidden = model(torch.tensor(normalised)[None]).last_hidden_state[0].numpy()
    centres = (start + np.arange(len(hidden)) * 320 + 656 / 2) / RATE
    return np.stack([np.interp(times, centres, hidden[:, k]) for k in range(16)], axis=1)


def test_transformers_encoder_chunks_long_audio(tiny_audio_model):
    audio = _tone(140.0, 2.5, harmonics=4)
    encoder = TransformersAudioEncoder(
        tiny_audio_model, fps=FPS, chunk_seconds=1.0, margin_seconds=0.2
    )
    features = encoder.extract(audio, _frames(2.5))
    assert features.shape == (75, 16) and np.all(np.isfinite(features))
    # Pieces start every 0.6 s; the second, [0.6, 1.6) s, owns the frames in [0.8, 1.4) s.
    times = np.arange(75) / FPS
    inside = (times >= 0.85) & (times <= 1.35)
    second = _reference_features(tiny_audio_model, audio[: int(1.6 * RATE)], 9600, times)
    np.testing.assert_allclose(features[inside], second[inside], atol=1e-4)
    spread = TransformersAudioEncoder(tiny_audio_model).extract(audio, 10)  # fps from duration
    assert spread.shape == (10, 16)


def test_missing_audio_model_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="not found"):
        TransformersAudioEncoder(tmp_path / "nothing")
