"""The face model: selective scans, causality with lookahead, stream == offline, losses."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from llavataros.errors import InputError
from llavataros.face.arkit import channel_weights, index
from llavataros.models.face.config import FaceModelConfig
from llavataros.models.face.losses import FaceLossWeights, face_loss
from llavataros.models.face.mamba import MambaLayer, selective_scan_chunked, selective_scan_loop
from llavataros.models.face.network import FaceModel, rotate
from llavataros.models.face.stream import FaceStream, generate_face
from llavataros.models.face.train import FaceTake, shift_bands, stretched_window

AUDIO_DIM = 6


def tiny(lookahead: int = 2, **overrides) -> FaceModel:
    torch.manual_seed(0)
    config = FaceModelConfig(
        audio_dim=AUDIO_DIM,
        width=16,
        heads=2,
        kv_heads=1,
        attention_window=6,
        state_dim=4,
        lookahead=lookahead,
        scan_chunk=5,
        dropout=0.0,
        **overrides,
    )
    return FaceModel(config).eval()


def inputs(frames: int, batch: int = 2, seed: int = 1):
    generator = torch.Generator().manual_seed(seed)
    audio = torch.randn(batch, frames, AUDIO_DIM, generator=generator)
    phonemes = torch.randint(0, 10, (batch, frames), generator=generator)
    return audio, torch.arange(batch), phonemes


def random_scan(frames: int, delta_scale: float = 0.5, seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    b, e, n = 2, 8, 4
    return (
        torch.randn(b, frames, e, generator=generator),
        torch.rand(b, frames, e, generator=generator) * delta_scale,
        -torch.rand(e, n, generator=generator) * 4,
        torch.randn(b, frames, n, generator=generator),
        torch.randn(b, frames, n, generator=generator),
        torch.randn(e, generator=generator),
        torch.randn(b, e, n, generator=generator),
    )


@pytest.mark.parametrize("chunk", [1, 4, 7, 64])
def test_chunked_scan_equals_loop(chunk):
    x, delta, A, B, C, D, state = random_scan(23)
    y_loop, h_loop = selective_scan_loop(x, delta, A, B, C, D, state)
    y_chunk, h_chunk = selective_scan_chunked(x, delta, A, B, C, D, state, chunk)
    torch.testing.assert_close(y_chunk, y_loop, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(h_chunk, h_loop, rtol=1e-5, atol=1e-5)


def test_chunked_scan_falls_back_when_the_decay_is_extreme():
    x, delta, A, B, C, D, state = random_scan(40, delta_scale=50.0)  # decays beyond exp(-600)
    y_loop, _ = selective_scan_loop(x, delta, A, B, C, D, state)
    y_chunk, _ = selective_scan_chunked(x, delta, A, B, C, D, state, 40)
    assert torch.isfinite(y_chunk).all()
    torch.testing.assert_close(y_chunk, y_loop, rtol=1e-5, atol=1e-5)


def test_scan_known_answer():
    # one channel, one state: h_t = exp(-d) h + d x with d = log 2 -> h halves and adds
    x = torch.ones(1, 3, 1)
    delta = torch.full((1, 3, 1), 0.6931471805599453)
    y, h = selective_scan_loop(
        x,
        delta,
        -torch.ones(1, 1),
        torch.ones(1, 3, 1),
        torch.ones(1, 3, 1),
        torch.zeros(1),
        torch.zeros(1, 1, 1),
    )
    d = 0.6931471805599453
    torch.testing.assert_close(y[0, :, 0], torch.tensor([d, 1.5 * d, 1.75 * d]))


def test_mamba_layer_state_continues_a_sequence():
    torch.manual_seed(0)
    layer = MambaLayer(8, 4, 2, 3, chunk=4)
    x = torch.randn(2, 11, 8)
    whole, _ = layer(x, layer.initial_state(2))
    first, state = layer(x[:, :4], layer.initial_state(2))
    second, _ = layer(x[:, 4:], state)
    torch.testing.assert_close(torch.cat([first, second], 1), whole, rtol=1e-5, atol=1e-6)


def test_rotary_keeps_norms_and_depends_on_relative_positions():
    q, k = torch.randn(1, 1, 1, 8), torch.randn(1, 1, 1, 8)
    at = lambda x, p: rotate(x, torch.tensor([p]))  # noqa: E731
    torch.testing.assert_close(at(q, 5).norm(), q.norm())
    near = (at(q, 7) * at(k, 3)).sum()
    far = (at(q, 1007) * at(k, 1003)).sum()
    torch.testing.assert_close(near, far, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("layers", [("mamba", "attention"), ("attention", "mamba", "attention")])
@pytest.mark.parametrize("with_phonemes", [True, False])
def test_stream_equals_offline(layers, with_phonemes):
    model = tiny(layers=layers)
    audio, speaker, phonemes = inputs(41)
    phonemes = phonemes if with_phonemes else None
    offline = generate_face(model, audio, speaker, phonemes)
    assert offline.shape == (2, 41, 52)
    assert offline.min() >= 0 and offline.max() <= 1
    stream = FaceStream(model, max_segment=4)
    parts, start = [], 0
    for size in (1, 5, 2, 9, 3, 13, 8):
        chunk = slice(start, start + size)
        ready = stream.push(
            audio[:, chunk], speaker, None if phonemes is None else phonemes[:, chunk]
        )
        parts.append(ready)
        start += size
    assert sum(p.shape[1] for p in parts) == 41 - model.lookahead  # latency = lookahead
    parts.append(stream.flush())
    torch.testing.assert_close(torch.cat(parts, dim=1), offline, rtol=1e-5, atol=1e-6)
    segmented = generate_face(model, audio, speaker, phonemes, segment_length=7)
    torch.testing.assert_close(segmented, offline, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("lookahead", [0, 3])
def test_causal_with_lookahead(lookahead):
    model = tiny(lookahead=lookahead)
    audio, speaker, phonemes = inputs(30)
    before = generate_face(model, audio, speaker, phonemes)
    changed, changed_phonemes = audio.clone(), phonemes.clone()
    changed[:, 20:] += 3.0
    changed_phonemes[:, 20:] = (changed_phonemes[:, 20:] + 1) % 10
    after = generate_face(model, changed, speaker, changed_phonemes)
    first_affected = 20 - lookahead
    torch.testing.assert_close(after[:, :first_affected], before[:, :first_affected])
    assert (after[:, first_affected] - before[:, first_affected]).abs().max() > 1e-4


def test_long_attention_window_cache_stays_bounded():
    model = tiny()
    audio, speaker, _ = inputs(40, batch=1)
    stream = FaceStream(model, max_segment=3)
    for start in range(0, 40, 3):
        stream.push(audio[:, start : start + 3], speaker[:1])
    sizes = [t.shape[2] for t in stream.state.tensors() if t.dim() == 4]
    assert sizes and max(sizes) == model.config.attention_window - 1


def test_config_round_trip_and_errors():
    config = FaceModelConfig(width=32, layers=("attention", "mamba"), scan="chunked")
    assert FaceModelConfig.from_dict(config.to_dict()) == config
    with pytest.raises(InputError, match="unknown face model config keys"):
        FaceModelConfig.from_dict({"wdth": 3})
    with pytest.raises(InputError, match="layers"):
        FaceModelConfig(layers=("lstm",))
    with pytest.raises(InputError, match="heads"):
        FaceModelConfig(width=30, heads=4)
    model = tiny()
    audio, speaker, phonemes = inputs(5)
    with pytest.raises(InputError, match="speaker"):
        model(audio, torch.tensor([0, 99]))
    with pytest.raises(InputError, match="viseme"):
        model(audio, speaker, phonemes + 20)


def test_loss_known_answers():
    target = torch.zeros(1, 3, 52)
    prediction = torch.zeros(1, 3, 52)
    prediction[..., index("jawOpen")] = 0.5
    weights = torch.tensor(channel_weights())
    loss, parts = face_loss(prediction, target, weights, weights=FaceLossWeights(1, 1, 0))
    expected = weights[index("jawOpen")] * 0.25 / weights.sum()
    assert parts["position"] == pytest.approx(expected.item(), rel=1e-5)
    assert parts["velocity"] == 0.0
    valid = torch.zeros(52, dtype=torch.bool)
    valid[index("jawForward")] = True  # only a channel without error counts
    _, masked = face_loss(prediction, target, weights, valid)
    assert masked["position"] == 0.0
    bilabial = torch.tensor([[False, True, False]])
    loss, parts = face_loss(
        prediction, target, weights, bilabial=bilabial, weights=FaceLossWeights(0, 0, 1)
    )
    assert parts["closure"] == pytest.approx((0.5 - 0.05) ** 2)
    assert loss.item() == pytest.approx(parts["closure"])
    loss, parts = face_loss(
        prediction, target, weights, weights=FaceLossWeights(0, 0, 0, absolute=1)
    )
    assert parts["absolute"] == pytest.approx(
        (weights[index("jawOpen")] * 0.5 / weights.sum()).item()
    )
    assert loss.item() == pytest.approx(parts["absolute"])


def test_training_windows_stretch_andshift_bands():
    frames = 40
    take = FaceTake(
        features=np.arange(frames, dtype=np.float32)[:, None].repeat(3, axis=1),
        weights=np.linspace(0, 1, frames, dtype=np.float32)[:, None].repeat(52, axis=1),
        valid=np.ones(52, bool),
        visemes=np.arange(frames),
        bilabial=np.arange(frames) % 2 == 0,
    )
    same = stretched_window(take, 5, 10, 10)  # no stretch: the frames themselves
    assert np.array_equal(same["features"][:, 0], np.arange(5, 15))
    assert np.array_equal(same["visemes"], np.arange(5, 15))
    slower = stretched_window(take, 5, 10, 20)  # 10 frames spread over 20: half-frame steps
    assert np.allclose(slower["features"][:, 0], 5 + 0.5 * np.arange(20))
    assert np.allclose(
        slower["weights"][:, 0],
        np.interp(5 + 0.5 * np.arange(20), np.arange(frames), take.weights[:, 0]),
    )
    faster = stretched_window(take, 30, 20, 10)  # past the end: the last frame repeats
    assert np.allclose(faster["features"][:, 0], np.minimum(30 + 2 * np.arange(10), frames - 1))
    bands = np.array([[0, 1, 2, 3, 9]], dtype=np.float32)
    shift_bands(bands, 4, 1)  # up one band: the lowest repeats; column 4 is not a band
    assert bands.tolist() == [[0, 0, 1, 2, 9]]
    shift_bands(bands, 4, -2)
    assert bands.tolist() == [[1, 2, 2, 2, 9]]


def test_gradients_reach_every_parameter():
    model = tiny().train()
    audio, speaker, phonemes = inputs(12)
    output, _ = model(audio, speaker, phonemes, context_after=2)
    output.sum().backward()
    missing = [name for name, p in model.named_parameters() if p.grad is None]
    assert missing == []


def test_checkpoint_round_trip(tmp_path):
    from llavataros.models.checkpoint import load_checkpoint, save_checkpoint
    from llavataros.models.face.model import FaceSpeechModel

    model = FaceSpeechModel(tiny(layers=("attention", "mamba")).config)
    model.set_feature_statistics(torch.arange(AUDIO_DIM) * 1.0, torch.ones(AUDIO_DIM) * 2)
    extra = {"features": {"settings": {"encoder": "prosody"}}}
    save_checkpoint(tmp_path / "face", model, model.config, extra)
    loaded, info = load_checkpoint(tmp_path / "face")
    assert info.family == "face" and info.features.settings == {"encoder": "prosody"}
    assert loaded.config == model.config and info.skeleton is None
    audio, speaker, _ = inputs(9)
    torch.testing.assert_close(
        generate_face(loaded, audio, speaker), generate_face(model, audio, speaker)
    )
    (tmp_path / "face" / "model.safetensors").write_bytes(b"junk")
    with pytest.raises(InputError, match="do not match"):
        load_checkpoint(tmp_path / "face")


def test_predict_face_numpy_hook():
    import numpy as np

    from llavataros.face.take import check_face
    from llavataros.models.face.stream import predict_face

    model = tiny()
    audio, speaker, phonemes = inputs(15, batch=1)
    weights = predict_face(model, audio[0].numpy(), 0, phonemes[0].numpy())
    assert weights.dtype == np.float32 and weights.shape == (15, 52)
    check_face(weights)  # a valid face take
    expected = generate_face(model, audio, speaker, phonemes)[0].numpy()
    np.testing.assert_allclose(weights, expected, rtol=1e-6, atol=1e-7)


def test_the_face_family_streams_what_it_generates_through_the_model_protocol():
    from llavataros.models.base import FrameInputs, ModelStream
    from llavataros.models.face.model import FaceSpeechModel

    model = FaceSpeechModel(tiny(layers=("mamba", "attention")).config)
    audio, speaker, phonemes = inputs(23)
    blank = torch.zeros(2, 23, 1)
    whole = FrameInputs(blank, torch.zeros(2, 23, dtype=torch.bool), audio, phonemes)
    offline = model.generate(whole, speaker)
    stream, pieces = ModelStream(model), []
    for start in range(0, 23, 4):
        part = whole.slice(start, start + 4)
        pieces.append(stream.push(part.text, part.text_mask, part.audio, speaker, part.phonemes))
    pieces.append(stream.flush())
    assert offline.shape == (2, 23, 52)
    torch.testing.assert_close(torch.cat(pieces, dim=1), offline, atol=1e-5, rtol=0)
