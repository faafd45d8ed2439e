"""Frame-aligned audio features at the motion frame rate (SPEC section 3, "audio features").

Two extractors share one small interface (:class:`AudioEncoder`): ``extract(audio, num_frames)``
turns mono samples at ``sample_rate`` Hz into ``(num_frames, dim)`` float32 rows, row ``i``
describing the audio around time ``i / fps`` seconds (the time of motion frame ``i``).

- :class:`ProsodyFeatures` (default) computes, per frame, ``n_mels`` log-mel bands, log energy,
  normalised log-F0 (YIN pitch, 0 where unvoiced), voicing probability and onset strength
  (spectral flux), all in vectorised NumPy.
- :class:`TransformersAudioEncoder` takes a hidden layer of a WavLM / wav2vec 2.0 / HuBERT
  checkpoint and interpolates it linearly from the model's 50 Hz to the frame times (the
  paper, LLAniMAtion arXiv 2405.08042, used learned PASE+ speech features in this place).
"""

from __future__ import annotations

import abc
import copy
import math
import os
from pathlib import Path

import numpy as np
from scipy.fft import irfft, next_fast_len, rfft

from llavataros.errors import InputError
from llavataros.features.cache import model_fingerprint
from llavataros.speech.audio import SAMPLE_RATE


class AudioEncoder(abc.ABC):
    """Audio samples ``(n,)`` at ``sample_rate`` Hz -> ``(num_frames, dim)`` float32 at ``fps``."""

    fps: float | None
    sample_rate: int

    @property
    @abc.abstractmethod
    def dim(self) -> int:
        """Width ``d`` of a frame row."""

    @abc.abstractmethod
    def settings(self) -> dict:
        """JSON-able description of everything the output depends on (for cache keys)."""

    @abc.abstractmethod
    def extract(self, audio: np.ndarray, num_frames: int) -> np.ndarray:
        """``(num_frames, dim)`` float32; row ``i`` is centred on time ``i / fps``."""

    def with_fps(self, fps: float) -> AudioEncoder:
        """The same extractor producing frames at ``fps`` (shares any loaded model)."""
        twin = copy.copy(self)
        twin.fps = float(fps)
        return twin


def check_samples(audio: np.ndarray, num_frames: int) -> np.ndarray:
    """Validate mono finite samples and a positive frame count; return float32 ``(n,)``."""
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim != 1:
        raise InputError(None, f"expected mono audio samples (n,), got shape {audio.shape}")
    if len(audio) == 0:
        raise InputError(None, "audio is empty")
    if not np.all(np.isfinite(audio)):
        raise InputError(None, "audio contains NaN or infinite samples")
    if num_frames < 1:
        raise InputError(None, f"need at least one frame, got {num_frames}")
    return audio


def frames_around(audio: np.ndarray, centres: np.ndarray, length: int) -> np.ndarray:
    """``(t, length)`` windows of ``audio`` starting ``length // 2`` before each centre sample,
    zero beyond the signal."""
    half = length // 2
    pad_left = half
    pad_right = max(0, int(centres.max()) + length - half - len(audio)) + 1
    padded = np.pad(audio, (pad_left, pad_right))
    windows = np.lib.stride_tricks.sliding_window_view(padded, length)
    return windows[centres]  # centre c starts at c - half in audio = c in padded


def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int, low: float = 20.0) -> np.ndarray:
    """Triangular filters on the HTK mel scale, ``(n_fft // 2 + 1, n_mels)``, peak 1."""

    def to_mel(hz):
        return 2595.0 * np.log10(1.0 + np.asarray(hz) / 700.0)

    def to_hz(mel):
        return 700.0 * (10.0 ** (np.asarray(mel) / 2595.0) - 1.0)

    edges = to_hz(np.linspace(to_mel(low), to_mel(sample_rate / 2), n_mels + 2))
    bins = np.linspace(0.0, sample_rate / 2, n_fft // 2 + 1)[:, None]  # (f, 1)
    lower, centre, upper = edges[:-2], edges[1:-1], edges[2:]  # (m,)
    rising = (bins - lower) / np.maximum(centre - lower, 1e-9)
    falling = (upper - bins) / np.maximum(upper - centre, 1e-9)
    return np.maximum(0.0, np.minimum(rising, falling))


def yin(
    frames: np.ndarray, sample_rate: int, f0_min: float, f0_max: float, threshold: float
) -> tuple[np.ndarray, np.ndarray]:
    """YIN pitch (de Cheveigné & Kawahara 2002) of ``frames (t, L)`` with
    ``L >= 2 * sample_rate / f0_min``: F0 in Hz ``(t,)`` (0 where no dip falls below
    ``threshold``) and the clarity ``1 - d'(tau)`` at the chosen lag ``(t,)`` in [0, 1]."""
    lag_max = int(math.ceil(sample_rate / f0_min))
    lag_min = max(2, int(math.floor(sample_rate / f0_max)))
    width = frames.shape[1] - lag_max  # integration window
    size = next_fast_len(frames.shape[1] + width)
    # r(tau) = sum_{j < width} x_j x_{j + tau} for all lags at once, by FFT.
    spectrum = rfft(frames, size, axis=1)
    head = rfft(frames[:, :width], size, axis=1)
    correlation = irfft(np.conj(head) * spectrum, size, axis=1)[:, : lag_max + 1]  # (t, lags)
    power = np.concatenate([np.zeros((len(frames), 1)), np.cumsum(frames**2, axis=1)], axis=1)
    energy = power[:, width : width + lag_max + 1] - power[:, : lag_max + 1]  # e(tau)
    difference = np.maximum(energy[:, :1] + energy - 2.0 * correlation, 0.0)  # d(tau)
    lags = np.arange(lag_max + 1)
    running = np.cumsum(difference[:, 1:], axis=1)
    normalised = np.ones_like(difference)  # d'(0) = 1
    normalised[:, 1:] = difference[:, 1:] * lags[1:] / np.maximum(running, 1e-12)

    inner = normalised[:, lag_min:lag_max]  # candidate lags lag_min .. lag_max - 1
    left = normalised[:, lag_min - 1 : lag_max - 1]
    right = normalised[:, lag_min + 1 : lag_max + 1]
    dips = (inner < threshold) & (inner < left) & (inner <= right)
    found = dips.any(axis=1)
    chosen = np.where(found, dips.argmax(axis=1), inner.argmin(axis=1)) + lag_min  # (t,)
    rows = np.arange(len(frames))
    a, b, c = (normalised[rows, chosen + k] for k in (-1, 0, 1))
    curvature = a - 2.0 * b + c
    shift = np.where(curvature > 1e-12, 0.5 * (a - c) / np.maximum(curvature, 1e-12), 0.0)
    period = chosen + np.clip(shift, -1.0, 1.0)
    f0 = np.where(found, sample_rate / period, 0.0)
    clarity = np.clip(1.0 - b, 0.0, 1.0)
    return f0, clarity


class ProsodyFeatures(AudioEncoder):
    """Log-mel, log energy, pitch, voicing and onset strength at ``fps`` (SPEC section 3).

    Columns (``dim = n_mels + 4``): ``n_mels`` log mel-band powers (natural log, floor 1e-8);
    log RMS energy of the ``1 / fps`` s around the frame time (floor 1e-5); pitch as
    ``log(F0 / f0_min) / log(f0_max / f0_min)`` in (0, 1], 0 where unvoiced; voicing
    probability (YIN clarity, 0 in silence); onset strength (mean positive log-mel rise since
    the previous frame). Spectra use a Hann window of ``max(25 ms, 1.5 / fps)``.
    """

    def __init__(
        self,
        fps: float,
        sample_rate: int = SAMPLE_RATE,
        n_mels: int = 40,
        f0_min: float = 60.0,
        f0_max: float = 400.0,
        voicing_threshold: float = 0.2,
        silence_db: float = -50.0,
    ):
        if not (fps > 0 and sample_rate > 0 and n_mels > 0 and 0 < f0_min < f0_max):
            raise InputError(
                None, "prosody features need fps, sample_rate, n_mels > 0 and 0 < f0_min < f0_max"
            )
        if f0_max >= sample_rate / 4:
            raise InputError(None, f"f0_max {f0_max} Hz is too high for {sample_rate} Hz audio")
        self.fps, self.sample_rate, self.n_mels = float(fps), int(sample_rate), int(n_mels)
        self.f0_min, self.f0_max = float(f0_min), float(f0_max)
        self.voicing_threshold, self.silence_db = float(voicing_threshold), float(silence_db)
        self._filters: dict[int, np.ndarray] = {}

    columns_after_mels = ("log_energy", "pitch", "voicing", "onset")

    @property
    def dim(self) -> int:
        return self.n_mels + len(self.columns_after_mels)

    @property
    def columns(self) -> list[str]:
        """Name of each output column."""
        return [f"mel_{k}" for k in range(self.n_mels)] + list(self.columns_after_mels)

    def settings(self) -> dict:
        return {
            "encoder": "prosody",
            "version": 1,
            "fps": self.fps,
            "sample_rate": self.sample_rate,
            "n_mels": self.n_mels,
            "f0_min": self.f0_min,
            "f0_max": self.f0_max,
            "voicing_threshold": self.voicing_threshold,
            "silence_db": self.silence_db,
            "dim": self.dim,
        }

    block_frames = 900  # frames per block: bounds the windowed arrays (~50 MB at 30 fps)

    def extract(self, audio: np.ndarray, num_frames: int) -> np.ndarray:
        """``(num_frames, n_mels + 4)`` float32 for mono ``audio`` at ``sample_rate`` Hz,
        computed in blocks so peak memory stays flat for long recordings."""
        audio = check_samples(audio, num_frames)
        blocks = [
            self.extract_range(audio, first, min(self.block_frames, num_frames - first))
            for first in range(0, num_frames, self.block_frames)
        ]
        return np.concatenate(blocks)

    def context_samples(self) -> int:
        """Samples each side of a frame time that its features read (the longest window)."""
        lag_max = int(math.ceil(self.sample_rate / self.f0_min))
        return max(self._mel_length(), 2 * lag_max, max(1, int(round(self.sample_rate / self.fps))))

    def frame_centre(self, frame: int | np.ndarray) -> np.ndarray:
        """Sample index of frame ``frame``'s time ``frame / fps``."""
        return np.round(np.asarray(frame) * self.sample_rate / self.fps).astype(np.int64)

    def extract_range(
        self, audio: np.ndarray, first_frame: int, num_frames: int, sample_offset: int = 0
    ) -> np.ndarray:
        """Rows ``first_frame .. first_frame + num_frames - 1`` for ``audio`` that starts at
        absolute sample ``sample_offset``. Each row reads only the audio around its own frame
        time (and the previous frame's for onset strength), so a stream that calls this on
        the audio received so far gets exactly the rows of :meth:`extract` on the whole file,
        provided ``audio`` covers :meth:`context_samples` around those frame times."""
        audio = np.asarray(audio, dtype=np.float32)
        rate = self.sample_rate
        start = max(0, first_frame - 1)  # the previous frame, for the onset difference
        centres = self.frame_centre(np.arange(start, first_frame + num_frames)) - sample_offset
        if len(audio) == 0 or centres.min() < 0:
            raise ValueError("audio does not cover the requested frames")

        hop = max(1, int(round(rate / self.fps)))
        energy_frames = frames_around(audio, centres, hop)
        rms = np.sqrt(np.mean(energy_frames**2, axis=1))
        log_energy = np.log(np.maximum(rms, 1e-5))

        log_mel = self._log_mel(audio, centres)  # (t, n_mels)
        rise = np.maximum(np.diff(log_mel, axis=0), 0.0).mean(axis=1)
        onset = np.concatenate([[0.0], rise]) if start == first_frame else rise

        lag_max = int(math.ceil(rate / self.f0_min))
        f0, clarity = yin(
            frames_around(audio, centres, 2 * lag_max),
            rate,
            self.f0_min,
            self.f0_max,
            self.voicing_threshold,
        )
        keep = slice(first_frame - start, None)
        rms, log_energy, log_mel = rms[keep], log_energy[keep], log_mel[keep]
        f0, clarity = f0[keep], clarity[keep]
        loud = 20.0 * np.log10(np.maximum(rms, 1e-12)) > self.silence_db
        voiced = loud & (f0 > 0)
        pitch = np.where(
            voiced,
            np.log(np.maximum(f0, self.f0_min) / self.f0_min) / math.log(self.f0_max / self.f0_min),
            0.0,
        )
        voicing = np.where(loud, clarity, 0.0)
        features = np.column_stack([log_mel, log_energy, pitch, voicing, onset])
        return features.astype(np.float32)

    def pitch_hz(self, audio: np.ndarray, num_frames: int) -> np.ndarray:
        """F0 in Hz per frame ``(t,)``, 0 where unvoiced (decoded from the pitch column)."""
        pitch = self.extract(audio, num_frames)[:, self.n_mels + 1].astype(np.float64)
        return np.where(pitch > 0, self.f0_min * (self.f0_max / self.f0_min) ** pitch, 0.0)

    def _mel_length(self) -> int:
        rate = self.sample_rate
        return max(int(round(0.025 * rate)), int(round(1.5 * rate / self.fps)))

    def _log_mel(self, audio: np.ndarray, centres: np.ndarray) -> np.ndarray:
        length = self._mel_length()
        n_fft = 1 << (length - 1).bit_length()
        if n_fft not in self._filters:
            self._filters[n_fft] = mel_filterbank(self.sample_rate, n_fft, self.n_mels)
        window = np.hanning(length).astype(np.float32)
        spectrum = rfft(frames_around(audio, centres, length) * window, n_fft, axis=1)
        power = spectrum.real**2 + spectrum.imag**2  # (t, n_fft // 2 + 1)
        filters = self._filters[n_fft].astype(np.float32)
        return np.log(np.maximum(power @ filters, 1e-8))


def interpolate_rows(source_times: np.ndarray, values: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Linear interpolation of rows ``values (k, d)`` at ``source_times (k,)`` (increasing) to
    ``times (t,)``; times outside hold the end rows. Returns ``(t, d)``."""
    if len(source_times) == 1:
        return np.repeat(values, len(times), axis=0)
    upper = np.clip(np.searchsorted(source_times, times), 1, len(source_times) - 1)
    lower = upper - 1
    span = source_times[upper] - source_times[lower]
    weight = np.clip((times - source_times[lower]) / np.maximum(span, 1e-12), 0.0, 1.0)
    return values[lower] + weight[:, None] * (values[upper] - values[lower])


class TransformersAudioEncoder(AudioEncoder):
    """A hidden layer of a self-supervised speech model (WavLM, wav2vec 2.0, HuBERT) from a
    local folder, resampled to the frame times. Long audio runs in ``chunk_seconds`` pieces that
    overlap by ``2 * margin_seconds``; each frame comes from the piece where it is not near an
    edge. ``fps=None`` spreads ``num_frames`` evenly over the audio."""

    def __init__(
        self,
        model_path: str | Path,
        layer: int = -1,
        device: str = "cpu",
        fps: float | None = None,
        chunk_seconds: float = 30.0,
        margin_seconds: float = 2.0,
    ):
        self.model_path = Path(model_path)
        if not self.model_path.is_dir():
            raise InputError(self.model_path, "audio model folder not found")
        if chunk_seconds <= 4 * margin_seconds:
            raise InputError(None, "chunk_seconds must exceed four times margin_seconds")
        self.layer, self.device = int(layer), device
        self.fps = None if fps is None else float(fps)
        self.chunk_seconds, self.margin_seconds = float(chunk_seconds), float(margin_seconds)
        self._model, self.sample_rate, self.normalize = _load_audio_model(self.model_path, device)
        config = self._model.config
        strides = list(getattr(config, "conv_stride", [320]))
        kernels = list(getattr(config, "conv_kernel", [400]))
        self._stride = int(np.prod(strides))
        field = 1
        for kernel, stride in zip(reversed(kernels), reversed(strides), strict=True):
            field = (field - 1) * stride + kernel
        self._field = field  # receptive field of one output frame, in samples

    @property
    def dim(self) -> int:
        return int(self._model.config.hidden_size)

    def settings(self) -> dict:
        return {
            "encoder": "transformers-audio",
            "model_path": str(self.model_path.resolve()),
            "weights": model_fingerprint(self.model_path),
            "layer": self.layer,
            "fps": self.fps,
            "sample_rate": self.sample_rate,
            "normalize": self.normalize,
            "chunk_seconds": self.chunk_seconds,
            "margin_seconds": self.margin_seconds,
            "dim": self.dim,
        }

    def extract(self, audio: np.ndarray, num_frames: int) -> np.ndarray:
        """``(num_frames, hidden_size)`` float32, linearly interpolated from the model frames."""
        audio = check_samples(audio, num_frames)
        rate = self.sample_rate
        chunk, margin = int(self.chunk_seconds * rate), int(self.margin_seconds * rate)
        step = chunk - 2 * margin
        starts = [0] if len(audio) <= chunk else list(range(0, len(audio) - 2 * margin, step))
        times, rows = [], []
        for index, start in enumerate(starts):
            hidden = self._hidden(audio[start : start + chunk])  # (k, d)
            centre = (start + np.arange(len(hidden)) * self._stride + self._field / 2) / rate
            low = -np.inf if index == 0 else (start + margin) / rate
            high = np.inf if index == len(starts) - 1 else (start + margin + step) / rate
            keep = (centre >= low) & (centre < high)
            times.append(centre[keep])
            rows.append(hidden[keep])
        source_times, values = np.concatenate(times), np.concatenate(rows)
        fps = self.fps if self.fps else num_frames / (len(audio) / rate)
        frame_times = np.arange(num_frames) / fps
        return interpolate_rows(source_times, values, frame_times).astype(np.float32)

    def _hidden(self, samples: np.ndarray) -> np.ndarray:
        """Hidden states ``(k, d)`` of one piece of audio."""
        import torch

        if len(samples) < self._field:
            samples = np.pad(samples, (0, self._field - len(samples)))
        if self.normalize:
            samples = (samples - samples.mean()) / np.sqrt(samples.var() + 1e-7)
        values = torch.tensor(samples, dtype=torch.float32, device=self.device)[None]
        with torch.inference_mode():
            output = self._model(values, output_hidden_states=self.layer != -1)
        hidden = output.last_hidden_state if self.layer == -1 else output.hidden_states[self.layer]
        return hidden[0].float().cpu().numpy().astype(np.float64)


def _load_audio_model(model_path: Path, device: str):
    """Model, expected sample rate and whether inputs are normalised, from local files only."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import transformers

    transformers.utils.logging.disable_progress_bar()
    try:
        model = transformers.AutoModel.from_pretrained(model_path, local_files_only=True)
    except (OSError, ValueError, KeyError) as error:
        raise InputError(model_path, f"not a loadable transformers model ({error})") from None
    rate, normalize = SAMPLE_RATE, True
    if (model_path / "preprocessor_config.json").exists():
        extractor = transformers.AutoFeatureExtractor.from_pretrained(
            model_path, local_files_only=True
        )
        rate = int(getattr(extractor, "sampling_rate", rate))
        normalize = bool(getattr(extractor, "do_normalize", normalize))
    return model.to(device).eval(), rate, normalize
