"""Tiny random speech encoders (wav2vec 2.0, WavLM, HuBERT) saved in a test's folder, so the real
`transformers` loading code runs without downloading a model."""

from __future__ import annotations

from pathlib import Path

import torch


def tiny_speech_config(kind: str, layers: int = 2):
    """A `transformers` config of ``kind`` (wav2vec2, wavlm, hubert) with 16-d hidden states and
    a 320-sample stride (16 x 20), like the real models' 20 ms frames."""
    from transformers import HubertConfig, Wav2Vec2Config, WavLMConfig

    common = dict(
        hidden_size=16,
        num_hidden_layers=layers,
        num_attention_heads=2,
        intermediate_size=32,
        conv_dim=(8, 8),
        conv_stride=(16, 20),
        conv_kernel=(32, 40),
        num_conv_pos_embeddings=8,
        num_conv_pos_embedding_groups=2,
    )
    if kind == "wavlm":
        return WavLMConfig(**common, num_buckets=16, max_bucket_distance=50)
    if kind == "hubert":
        return HubertConfig(**common)
    if kind == "wav2vec2":
        return Wav2Vec2Config(**common)
    raise ValueError(f"unknown speech model kind {kind!r}")


def save_tiny_speech_model(kind: str, folder: Path, layers: int = 2, seed: int = 0) -> Path:
    """Build a random ``kind`` model (seeded) and save it as a model folder; returns it."""
    from transformers import AutoModel

    torch.manual_seed(seed)
    AutoModel.from_config(tiny_speech_config(kind, layers)).save_pretrained(folder)
    return Path(folder)
