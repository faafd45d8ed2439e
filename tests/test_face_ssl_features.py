"""The face model on wav2vec 2.0 features (as JambaTalk uses), with a tiny random model built
and saved inside the test (nothing is downloaded)."""

from __future__ import annotations

import numpy as np
import torch

from llavataros.features.audio_encoders import TransformersAudioEncoder
from llavataros.models.face.config import FaceModelConfig
from llavataros.models.face.network import FaceModel
from llavataros.models.face.stream import FaceStream, generate_face
from tiny_speech_models import save_tiny_speech_model


def test_face_model_reads_wav2vec2_features(tmp_path):
    save_tiny_speech_model("wav2vec2", tmp_path / "w2v", layers=1)
    encoder = TransformersAudioEncoder(tmp_path / "w2v", fps=30.0)
    audio = np.random.default_rng(0).standard_normal(16000).astype(np.float32) * 0.1
    features = encoder.extract(audio, 30)  # 1 s at 30 fps
    assert features.shape == (30, encoder.dim)

    model = FaceModel(FaceModelConfig(audio_dim=encoder.dim, width=16, heads=2, kv_heads=1))
    model.set_feature_statistics(torch.tensor(features.mean(0)), torch.tensor(features.std(0)))
    inputs = torch.tensor(features)[None]
    speaker = torch.zeros(1, dtype=torch.long)
    offline = generate_face(model, inputs, speaker)
    assert offline.shape == (1, 30, 52) and 0 <= offline.min() and offline.max() <= 1
    stream = FaceStream(model)
    streamed = torch.cat(
        [stream.push(inputs[:, k : k + 4], speaker) for k in range(0, 30, 4)] + [stream.flush()], 1
    )
    torch.testing.assert_close(streamed, offline, rtol=1e-5, atol=1e-6)
