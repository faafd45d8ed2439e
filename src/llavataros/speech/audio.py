"""Audio loading: any file ``soundfile`` or ``ffmpeg`` reads, as 16 kHz mono float32.

First stage of the pipeline (SPEC section 2: "Any input that ffmpeg or soundfile reads is
accepted (any rate, mono or stereo)"). WAV/FLAC/OGG go through ``soundfile``; everything else
(mp3, m4a, video containers, ...) is decoded by the ffmpeg binary shipped with ``imageio-ffmpeg``
through a pipe. Bad input raises :class:`~llavataros.errors.InputError` naming the file.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import soundfile

from llavataros.errors import InputError

SAMPLE_RATE = 16000  # Hz, the rate Whisper and pocketsphinx expect
MIN_DURATION = 0.1  # seconds; anything shorter counts as empty
PROBE_SECONDS = 1.0  # decoded by probe_audio when the header alone cannot be read


@dataclass(frozen=True)
class AudioClip:
    """Mono samples ``(n,)`` float32 in [-1, 1] at ``sample_rate`` Hz, and their source file."""

    samples: np.ndarray
    sample_rate: int
    path: str | None = None

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return len(self.samples) / self.sample_rate


def existing_file(path: str | Path) -> Path:
    """``path`` as a Path, or a one-line :class:`InputError` if it is missing or not a file."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "audio file not found")
    if not path.is_file():
        raise InputError(path, "not a file")
    return path


def load_audio(path: str | Path, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Read ``path`` as mono float32 samples ``(n,)`` in [-1, 1] at ``sample_rate`` Hz."""
    return load_clip(path, sample_rate).samples


def load_clip(path: str | Path, sample_rate: int = SAMPLE_RATE) -> AudioClip:
    """Read ``path`` as an :class:`AudioClip` (mono, ``sample_rate`` Hz, float32)."""
    path = existing_file(path)
    try:
        samples, rate = _read_soundfile(path)
    except (soundfile.LibsndfileError, RuntimeError, TypeError, ValueError):
        samples, rate = _read_ffmpeg(path, sample_rate), sample_rate
    samples = to_mono(samples)
    if not np.isfinite(samples.sum(dtype=np.float64)):  # NaN or inf anywhere; no (n,) mask
        raise InputError(path, "audio contains NaN or infinite samples")
    samples = resample(samples, rate, sample_rate)
    if len(samples) < MIN_DURATION * sample_rate:
        raise InputError(
            path, f"audio is empty ({len(samples) / sample_rate:.3f} s; need >= {MIN_DURATION} s)"
        )
    peak = max(float(samples.max()), -float(samples.min()))
    if peak > 1.0:  # float files may exceed full scale; keep the waveform shape
        samples = samples.astype(np.float64) / peak
    return AudioClip(samples.astype(np.float32, copy=False), sample_rate, str(path))


def audio_duration(path: str | Path) -> float:
    """Duration of the audio in ``path`` in seconds (header only where ``soundfile`` reads it)."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "audio file not found")
    try:
        info = soundfile.info(str(path))
        if info.frames > 0 and info.samplerate > 0:
            return info.frames / info.samplerate
    except (soundfile.LibsndfileError, RuntimeError, TypeError, ValueError):
        pass
    return load_clip(path).duration


def probe_audio(path: str | Path) -> None:
    """Cheap proof that ``path`` is audio that decodes: its header (soundfile formats) or its
    first second through ffmpeg (others). Full decoding checks the rest later."""
    path = existing_file(path)
    try:
        info = soundfile.info(str(path))
    except (soundfile.LibsndfileError, RuntimeError, TypeError, ValueError):
        info = None
    if info is not None and info.samplerate > 0:
        if info.frames < MIN_DURATION * info.samplerate:
            raise InputError(path, f"audio is empty ({info.frames / info.samplerate:.3f} s)")
        return
    samples = _read_ffmpeg(path, SAMPLE_RATE, seconds=PROBE_SECONDS)
    if len(samples) < min(MIN_DURATION, PROBE_SECONDS) * SAMPLE_RATE or not np.all(
        np.isfinite(samples)
    ):
        raise InputError(path, "audio is empty or does not decode")


def to_mono(samples: np.ndarray) -> np.ndarray:
    """``(n,)`` or ``(n, channels)`` -> ``(n,)`` by averaging the channels (in float64);
    mono float32 stays float32 (no copy), anything else becomes float64."""
    samples = np.asarray(samples)
    if samples.ndim == 2:
        return samples.mean(axis=1, dtype=np.float64)
    if samples.dtype != np.float32:
        samples = samples.astype(np.float64, copy=False)
    return samples.reshape(-1)


def resample(samples: np.ndarray, rate: int, target_rate: int) -> np.ndarray:
    """Polyphase resampling ``(n,)`` from ``rate`` to ``target_rate`` Hz."""
    if rate == target_rate or len(samples) == 0:
        return samples
    from scipy.signal import resample_poly  # imported here: scipy.signal takes ~1 s to import

    ratio = Fraction(int(target_rate), int(rate)).limit_denominator(1000)
    return resample_poly(samples.astype(np.float64), ratio.numerator, ratio.denominator)


def _read_soundfile(path: Path) -> tuple[np.ndarray, int]:
    """float32 samples: half the memory of float64 for long recordings (30 min mono: 115 MB)."""
    samples, rate = soundfile.read(str(path), dtype="float32", always_2d=False)
    return samples, int(rate)


def _read_ffmpeg(path: Path, sample_rate: int, seconds: float | None = None) -> np.ndarray:
    """Decode with the ffmpeg binary to mono float32 at ``sample_rate`` through a pipe (the
    first ``seconds`` only, if given)."""
    import imageio_ffmpeg

    command = [
        imageio_ffmpeg.get_ffmpeg_exe(),
        "-nostdin",
        "-v",
        "error",
        "-i",
        str(path),
        "-vn",
        "-ac",
        "1",
        "-ar",
        str(sample_rate),
        *(["-t", f"{seconds:g}"] if seconds else []),
        "-f",
        "f32le",
        "-",
    ]
    try:
        result = subprocess.run(command, capture_output=True, check=False, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise InputError(path, f"could not run ffmpeg to decode audio ({error})") from None
    if result.returncode != 0:
        lines = result.stderr.decode(errors="replace").strip().splitlines()
        reason = lines[-1] if lines else f"ffmpeg exit code {result.returncode}"
        raise InputError(path, f"unreadable or corrupt audio ({reason})")
    data = result.stdout[: len(result.stdout) // 4 * 4]
    return np.frombuffer(data, dtype="<f4").astype(np.float32)
