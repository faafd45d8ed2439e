"""What a speech feature encoder offers so the stream can compute features as audio arrives."""

from __future__ import annotations

import math
from typing import Protocol, runtime_checkable

import numpy as np

from llavataros.speech.audio import SAMPLE_RATE


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


def final_frames(encoder: StreamingAudioEncoder, samples_in: int) -> int:
    """How many frames have final features once ``samples_in`` samples have arrived."""
    return math.floor((samples_in - encoder.context_samples()) * encoder.fps / SAMPLE_RATE) + 1


def first_sample_needed(encoder: StreamingAudioEncoder, next_frame: int) -> int:
    """The first sample any frame from ``next_frame`` on reads (with the onset difference's
    previous frame): audio before it can be forgotten."""
    return int(encoder.frame_centre(next_frame - 1)) - encoder.context_samples()
