"""Audio onsets for the beat-alignment metric (SPEC section 5, BA: "audio onsets by
onset-strength peak picking").

Onset strength is the half-wave rectified spectral flux of a log-compressed magnitude
spectrogram (Bello et al. 2005; Boeck et al. 2012); onsets are its peaks, picked with a local
maximum test, a moving-average threshold and a minimum spacing (the scheme of
``librosa.onset.onset_detect``, re-implemented here in NumPy).

Timing convention: frame ``n`` analyses the ``window`` samples that *end* at sample
``n * hop``, so ``strength[n]`` measures energy that arrived during the hop ending at
``n * hop / sample_rate`` seconds. A click at time ``c`` peaks at ``c`` to ``c + hop``.
"""

from __future__ import annotations

import numpy as np

from llavataros.errors import InputError

HOP_SECONDS = 0.01  # default hop: 10 ms
WINDOW_SECONDS = 0.032  # default analysis window: 32 ms (512 samples at 16 kHz)
COMPRESSION = 100.0  # log(1 + COMPRESSION * |X|) magnitude compression


def default_hop(sample_rate: int) -> int:
    """Hop in samples for a 10 ms frame step at ``sample_rate`` Hz."""
    return max(1, int(round(HOP_SECONDS * sample_rate)))


def onset_strength(
    audio: np.ndarray,
    sample_rate: int,
    hop: int | None = None,
    window_seconds: float = WINDOW_SECONDS,
) -> np.ndarray:
    """Spectral-flux onset strength ``(n_frames,)``, ``n_frames = len(audio) // hop + 1``.

    ``audio`` is mono ``(n,)`` in [-1, 1] at ``sample_rate`` Hz; ``hop`` is in samples (default
    10 ms). Value ``n`` is the mean over frequency bins of the positive increase of
    ``log(1 + 100 |X|)`` from frame ``n - 1`` to frame ``n`` (Hann window of ``window_seconds``).
    """
    audio = np.asarray(audio, dtype=np.float64)
    if audio.ndim != 1:
        raise InputError(None, f"onset strength needs mono audio (n,), got {audio.shape}")
    if sample_rate <= 0:
        raise InputError(None, f"sample rate must be positive, got {sample_rate}")
    hop = default_hop(sample_rate) if hop is None else int(hop)
    if hop < 1:
        raise InputError(None, f"hop must be at least one sample, got {hop}")
    window = max(2, int(round(window_seconds * sample_rate)))
    num_frames = len(audio) // hop + 1
    # Frame n covers padded[n * hop : n * hop + window], i.e. audio[n * hop - window : n * hop].
    padded = np.concatenate([np.zeros(window), audio, np.zeros(window)])
    starts = np.arange(num_frames) * hop
    frames = padded[starts[:, None] + np.arange(window)]  # (n_frames, window)
    spectrum = np.abs(np.fft.rfft(frames * np.hanning(window), axis=-1))  # (n_frames, bins)
    compressed = np.log1p(COMPRESSION * spectrum)
    flux = np.maximum(np.diff(compressed, axis=0, prepend=compressed[:1]), 0.0)
    return flux.mean(axis=-1)


def detect_onsets(
    strength: np.ndarray,
    frame_rate: float,
    peak_window: float = 0.03,
    average_window: float = 0.1,
    delta: float = 0.07,
    min_spacing: float = 0.1,
) -> np.ndarray:
    """Onset times in seconds ``(n_onsets,)`` from an onset-strength curve at ``frame_rate``.

    The curve is scaled to [0, 1]; frame ``n`` is an onset when it is the maximum within
    ``+-peak_window`` seconds, exceeds the mean within ``+-average_window`` seconds by ``delta``,
    and lies at least ``min_spacing`` seconds after the previous onset. A flat (silent) curve
    has no onsets.
    """
    strength = np.asarray(strength, dtype=np.float64)
    if strength.ndim != 1:
        raise InputError(None, f"onset strength must be 1-D, got {strength.shape}")
    if len(strength) == 0:
        return np.zeros(0)
    span = strength.max() - strength.min()
    if span <= 1e-12:
        return np.zeros(0)
    scaled = (strength - strength.min()) / span
    peak_radius = max(1, int(round(peak_window * frame_rate)))
    average_radius = max(1, int(round(average_window * frame_rate)))
    spacing = int(round(min_spacing * frame_rate))
    local_max = np.nanmax(_neighbourhoods(scaled, peak_radius), axis=-1)
    local_mean = np.nanmean(_neighbourhoods(scaled, average_radius), axis=-1)
    candidates = np.flatnonzero((scaled >= local_max) & (scaled >= local_mean + delta))
    kept: list[int] = []
    for frame in candidates:
        if not kept or frame - kept[-1] >= spacing:
            kept.append(int(frame))
    return np.asarray(kept, dtype=np.float64) / frame_rate


def audio_onsets(audio: np.ndarray, sample_rate: int, hop: int | None = None) -> np.ndarray:
    """Onset times in seconds of mono ``audio (n,)`` (onset strength + peak picking)."""
    hop = default_hop(sample_rate) if hop is None else int(hop)
    return detect_onsets(onset_strength(audio, sample_rate, hop), sample_rate / hop)


def _neighbourhoods(values: np.ndarray, radius: int) -> np.ndarray:
    """``(n, 2 * radius + 1)`` view of ``values[k - radius : k + radius + 1]`` (NaN past ends)."""
    padded = np.pad(values, radius, mode="constant", constant_values=np.nan)
    return np.lib.stride_tricks.sliding_window_view(padded, 2 * radius + 1)
