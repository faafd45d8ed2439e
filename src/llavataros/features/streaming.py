"""What a speech feature encoder offers so the stream can compute features as audio arrives."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class StreamingAudioEncoder(Protocol):
    """An audio encoder whose frame ``i`` reads only the audio around its own time, so a frame
    is final once ``context_samples()`` samples past its centre have arrived (the prosody
    features; a transformers speech encoder sees the whole clip and cannot stream)."""

    fps: float

    def context_samples(self) -> int:
        """Samples each side of a frame's centre that its features read."""
        ...

    def frame_centre(self, frame: int | np.ndarray) -> np.ndarray:
        """Sample index of the centre of ``frame``."""
        ...

    def extract_range(
        self, audio: np.ndarray, first_frame: int, num_frames: int, sample_offset: int = 0
    ) -> np.ndarray:
        """Features ``(num_frames, d)`` of frames ``first_frame ..`` from ``audio`` that starts
        at absolute sample ``sample_offset``."""
        ...
