"""Audio loading: formats, rates, channels, and one-line errors for bad files (SPEC section 2)."""

from __future__ import annotations

import subprocess

import imageio_ffmpeg
import numpy as np
import pytest
import soundfile

from llavataros.errors import InputError
from llavataros.speech.audio import audio_duration, load_audio, load_clip


def _sine(seconds: float, rate: int, frequency: float = 440.0, amplitude: float = 0.5):
    t = np.arange(int(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * frequency * t)).astype(np.float32)


def _peak_frequency(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples))
    return float(np.argmax(spectrum) * rate / len(samples))


def test_mono_16k_wav_loads_unchanged(tmp_path):
    path = tmp_path / "tone.wav"
    tone = _sine(0.5, 16000)
    soundfile.write(path, tone, 16000, subtype="FLOAT")
    audio = load_audio(path)
    assert audio.dtype == np.float32 and audio.shape == (8000,)
    np.testing.assert_allclose(audio, tone, atol=1e-6)
    assert audio_duration(path) == pytest.approx(0.5)


def test_stereo_44k_becomes_16k_mono_with_right_length(tmp_path):
    path = tmp_path / "stereo.wav"
    left = _sine(1.5, 44100, 300.0, 0.8)
    stereo = np.stack([left, np.zeros_like(left)], axis=1)  # (n, 2): the right channel is silent
    soundfile.write(path, stereo, 44100, subtype="PCM_16")
    clip = load_clip(path)
    assert clip.sample_rate == 16000 and clip.samples.ndim == 1
    assert len(clip.samples) == 24000
    assert clip.duration == pytest.approx(1.5)
    assert _peak_frequency(clip.samples, 16000) == pytest.approx(300.0, abs=1.0)
    middle = clip.samples[4000:-4000]
    assert np.max(np.abs(middle)) == pytest.approx(0.4, abs=0.01)  # (0.8 + 0) / 2


@pytest.mark.parametrize(("suffix", "codec"), [(".mp3", "libmp3lame"), (".m4a", "aac")])
def test_compressed_audio_decodes_through_ffmpeg(tmp_path, suffix, codec):
    path = tmp_path / f"tone{suffix}"
    command = [
        imageio_ffmpeg.get_ffmpeg_exe(),
        "-v", "error", "-f", "lavfi", "-i", "sine=frequency=440:duration=1:sample_rate=44100",
        "-ac", "2", "-c:a", codec, "-y", str(path),
    ]  # fmt: skip
    subprocess.run(command, check=True, capture_output=True)
    audio = load_audio(path)
    assert abs(len(audio) - 16000) <= 800  # encoder padding/priming stays under 50 ms
    assert _peak_frequency(audio, 16000) == pytest.approx(440.0, abs=2.0)
    assert 0.05 < np.max(np.abs(audio)) <= 1.0


def test_missing_file_is_named(tmp_path):
    path = tmp_path / "nowhere.wav"
    with pytest.raises(InputError, match="nowhere.wav: audio file not found"):
        load_audio(path)
    with pytest.raises(InputError, match="not found"):
        audio_duration(path)


def test_corrupt_bytes_named_wav(tmp_path):
    path = tmp_path / "broken.wav"
    path.write_bytes(b"RIFF\x00\x01garbage that is not audio" * 10)
    with pytest.raises(InputError, match=r"broken\.wav: unreadable or corrupt audio"):
        load_audio(path)


@pytest.mark.parametrize("seconds", [0.0, 0.05])
def test_empty_or_too_short_wav(tmp_path, seconds):
    path = tmp_path / "empty.wav"
    soundfile.write(path, np.zeros(int(seconds * 16000), np.float32), 16000)
    with pytest.raises(InputError, match=r"empty\.wav: audio is empty"):
        load_audio(path)


def test_nan_samples_in_float_wav(tmp_path):
    path = tmp_path / "nan.wav"
    samples = _sine(0.5, 16000)
    samples[100] = np.nan
    soundfile.write(path, samples, 16000, subtype="FLOAT")
    with pytest.raises(InputError, match=r"nan\.wav: audio contains NaN"):
        load_audio(path)


def test_float_wav_above_full_scale_is_scaled_into_range(tmp_path):
    path = tmp_path / "loud.wav"
    soundfile.write(path, _sine(0.5, 16000, amplitude=3.0), 16000, subtype="FLOAT")
    audio = load_audio(path)
    assert np.max(np.abs(audio)) == pytest.approx(1.0, abs=1e-3)


def test_directory_is_not_audio(tmp_path):
    with pytest.raises(InputError, match="not a file"):
        load_audio(tmp_path)
