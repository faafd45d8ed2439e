"""Build the feature extractor a model was trained with (defaults: bundled MiniLM + prosody)."""

from __future__ import annotations

from pathlib import Path

from llavataros.features.audio_encoders import (
    AudioEncoder,
    ProsodyFeatures,
    TransformersAudioEncoder,
)
from llavataros.features.cache import FeatureCache
from llavataros.features.frames import FeatureExtractor
from llavataros.features.text_encoders import TransformersTextEncoder


def build_extractor(
    fps: float,
    text_model: str | Path | None = None,
    audio_model: str | Path | None = None,
    cache_dir: str | Path | None = None,
) -> FeatureExtractor:
    """Text encoder (``text_model`` folder or the bundled all-MiniLM-L6-v2), audio encoder
    (``audio_model`` folder of a WavLM/wav2vec 2.0/HuBERT model, or the prosody features) and an
    optional on-disk cache."""
    text_encoder = TransformersTextEncoder(text_model)
    audio_encoder: AudioEncoder = (
        TransformersAudioEncoder(audio_model, fps=fps) if audio_model else ProsodyFeatures(fps)
    )
    cache = FeatureCache(cache_dir) if cache_dir else None
    return FeatureExtractor(text_encoder, audio_encoder, cache)
