"""Offline generation and the model-level stream: identical outputs, bounded memory."""

from __future__ import annotations

import random

import pytest
import torch

from llavataros.models.base import ModelStream
from llavataros.models.llanimation.config import FUSIONS, ModelConfig
from llavataros.models.llanimation.generation import generate
from llavataros.models.llanimation.network import LlanimationModel

TEXT, AUDIO = 8, 4


def tiny_model(fusion="concat", **overrides) -> LlanimationModel:
    values = dict(
        fusion=fusion,
        text_dim=TEXT,
        audio_dim=AUDIO,
        num_speakers=2,
        width=16,
        depth=2,
        heads=2,
        feedforward_multiplier=2,
        dropout=0.0,
        segment_length=10,
        memory_length=7,
        lookahead=4,
        lookbehind=2,
    )
    values.update(overrides)
    torch.manual_seed(0)
    return LlanimationModel(ModelConfig(**values)).eval()


def random_inputs(frames, batch=1, seed=1):
    generator = torch.Generator().manual_seed(seed)
    return (
        torch.randn(batch, frames, TEXT, generator=generator),
        torch.rand(batch, frames, generator=generator) > 0.3,
        torch.randn(batch, frames, AUDIO, generator=generator),
        torch.arange(batch) % 2,
    )


def stream_in_chunks(stream, text, mask, audio, speaker, sizes):
    outputs, start = [], 0
    for size in sizes:
        stop = min(start + size, text.shape[1])
        outputs.append(
            stream.push(text[:, start:stop], mask[:, start:stop], audio[:, start:stop], speaker)
        )
        assert stream.frames_out == max(stop - stream.latency_frames, 0)
        assert stream.pending_frames == min(stop, stream.latency_frames)
        start = stop
        if start >= text.shape[1]:
            break
    outputs.append(stream.flush())
    return torch.cat(outputs, dim=1)


@pytest.mark.parametrize("fusion", FUSIONS)
def test_stream_in_chunks_of_6_equals_offline(fusion):
    model = tiny_model(fusion)
    inputs = random_inputs(53, batch=2)
    offline = generate(model, *inputs)
    streamed = stream_in_chunks(ModelStream(model), *inputs, [6] * 9)
    assert offline.shape == streamed.shape == (2, 53, 57)
    torch.testing.assert_close(streamed, offline, atol=1e-5, rtol=0)


def test_any_chunking_and_segment_length_give_the_same_output():
    model = tiny_model("cross")
    inputs = random_inputs(61)
    reference = generate(model, *inputs, segment_length=1000)  # one segment
    for segment_length in (1, 3, 10, 17):
        torch.testing.assert_close(
            generate(model, *inputs, segment_length=segment_length), reference, atol=1e-5, rtol=0
        )
    rng = random.Random(0)
    for _ in range(3):
        sizes = [rng.randint(1, 7) for _ in range(61)]
        streamed = stream_in_chunks(ModelStream(model, max_segment=5), *inputs, sizes)
        torch.testing.assert_close(streamed, reference, atol=1e-5, rtol=0)
    # One big push, then flush.
    torch.testing.assert_close(
        stream_in_chunks(ModelStream(model), *inputs, [61]), reference, atol=1e-5, rtol=0
    )


def test_output_waits_for_the_lookahead_then_flush_ends_the_sequence():
    model = tiny_model()
    text, mask, audio, speaker = random_inputs(10)
    stream = ModelStream(model)
    assert stream.push(text[:, :3], mask[:, :3], audio[:, :3], speaker).shape == (1, 0, 57)
    assert stream.push(text[:, 3:6], mask[:, 3:6], audio[:, 3:6], speaker).shape == (1, 2, 57)
    assert stream.flush().shape == (1, 4, 57)
    # After a flush the stream starts a new sequence and matches offline generation again.
    again = stream_in_chunks(stream, text, mask, audio, speaker, [2] * 5)
    torch.testing.assert_close(
        again, generate(model, text, mask, audio, speaker), atol=1e-5, rtol=0
    )


def test_short_sequences_and_empty_input():
    model = tiny_model("cross")
    for frames in (1, 2, 4, 5):
        inputs = random_inputs(frames)
        offline = generate(model, *inputs)
        assert offline.shape == (1, frames, 57)
        torch.testing.assert_close(
            stream_in_chunks(ModelStream(model), *inputs, [1] * frames), offline, atol=1e-5, rtol=0
        )
    assert generate(model, *random_inputs(0)).shape == (1, 0, 57)
    assert ModelStream(model).flush().shape[1] == 0


def test_speaker_cannot_change_within_a_stream():
    model = tiny_model()
    text, mask, audio, _ = random_inputs(4)
    stream = ModelStream(model)
    stream.push(text, mask, audio, torch.tensor([0]))
    with pytest.raises(ValueError, match="speaker"):
        stream.push(text, mask, audio, torch.tensor([1]))


def test_generation_keeps_the_model_mode():
    model = tiny_model().train()
    generate(model, *random_inputs(5))
    assert model.training


@pytest.mark.slow
def test_ten_minutes_run_with_bounded_memory():
    """18 000 frames (10 min at 30 fps): memory tensors keep a fixed size and the stream's
    buffer never exceeds the lookahead; streaming still equals offline at the end."""
    model = tiny_model("cross", depth=1, segment_length=60, memory_length=60, lookahead=15)
    frames = 10 * 60 * 30
    inputs = random_inputs(frames, seed=3)
    sizes = set()

    def record(module, args, result):
        sizes.add(tuple(tuple(t.shape) for t in result[1].tensors()))

    handle = model.register_forward_hook(record)
    offline = generate(model, *inputs)
    handle.remove()
    assert offline.shape == (1, frames, 57) and torch.isfinite(offline).all()
    steady = ((1, 2, 16), (1, 60, 16), (1, 2, 16), (1, 60, 16))
    assert steady in sizes and len(sizes) <= 2  # the first segment's shorter memory, then fixed

    stream = ModelStream(model)
    text, mask, audio, speaker = inputs
    outputs, largest = [], 0
    for start in range(0, frames, 30):
        stop = start + 30
        outputs.append(
            stream.push(text[:, start:stop], mask[:, start:stop], audio[:, start:stop], speaker)
        )
        largest = max(largest, stream.pending_frames)
        assert all(t.shape[1] <= 60 for t in stream.state.memory.tensors())
    outputs.append(stream.flush())
    assert largest == 15
    torch.testing.assert_close(torch.cat(outputs, dim=1), offline, atol=1e-5, rtol=0)
