"""The windowed causal Transformer-XL: segmentation-invariant, causal, bounded, detached memory."""

from __future__ import annotations

import random

import pytest
import torch

from llavataros.models.llanimation.transformer_xl import (
    TransformerXL,
    keep_last,
    sinusoid_encodings,
)

WIDTH, MEMORY = 16, 5


def build(cross_attention: bool = False, depth: int = 2, memory_length: int = MEMORY):
    torch.manual_seed(0)
    model = TransformerXL(
        WIDTH,
        depth,
        heads=2,
        feedforward_multiplier=2,
        memory_length=memory_length,
        dropout=0.0,
        cross_attention=cross_attention,
    )
    with torch.no_grad():  # non-zero u/v biases so the relative terms are exercised
        for name, parameter in model.named_parameters():
            if name.endswith("_bias") and parameter.ndim == 2:
                parameter.normal_()
    return model.eval()


def run_in_chunks(model, x, sizes, context=None):
    """Feed ``x (b, t, d)`` in chunks of the given sizes, carrying memory (and context memory)."""
    outputs, memory, context_memory, start = [], None, x[:, :0], 0
    for size in sizes:
        stop = min(start + size, x.shape[1])
        keys = None
        if context is not None:
            keys = torch.cat([context_memory, context[:, start:stop]], dim=1)
            context_memory = keep_last(keys, model.memory_length)
        output, memory = model(x[:, start:stop], memory, keys)
        outputs.append(output)
        start = stop
        if start >= x.shape[1]:
            break
    return torch.cat(outputs, dim=1), memory


def chunk_sizes(total, low, high, seed):
    rng = random.Random(seed)
    sizes = []
    while sum(sizes) < total:
        sizes.append(rng.randint(low, high))
    return sizes


@pytest.mark.parametrize("cross_attention", [False, True])
def test_output_does_not_depend_on_segmentation(cross_attention):
    model = build(cross_attention)
    torch.manual_seed(1)
    x = torch.randn(2, 40, WIDTH)
    context = torch.randn(2, 40, WIDTH) if cross_attention else None
    with torch.no_grad():
        whole, _ = run_in_chunks(model, x, [40], context)
        segments, _ = run_in_chunks(model, x, [12] * 4, context)
        chunks, _ = run_in_chunks(model, x, chunk_sizes(40, 1, 7, seed=2), context)
        single, _ = run_in_chunks(model, x, [1] * 40, context)
    assert whole.shape == (2, 40, WIDTH)
    torch.testing.assert_close(segments, whole, atol=1e-5, rtol=0)
    torch.testing.assert_close(chunks, whole, atol=1e-5, rtol=0)
    torch.testing.assert_close(single, whole, atol=1e-5, rtol=0)


def test_memory_keeps_the_last_m_frames_of_each_layer_input():
    model = build(depth=2)
    x = torch.randn(1, 3, WIDTH)
    _, memory = model(x)
    assert [m.shape for m in memory] == [(1, 3, WIDTH)] * 2  # shorter than M at the start
    torch.testing.assert_close(memory[0], x)  # layer 0's input is x itself
    for _ in range(4):
        x = torch.randn(1, 4, WIDTH)
        _, memory = model(x, memory)
        assert [m.shape for m in memory] == [(1, MEMORY, WIDTH)] * 2
    torch.testing.assert_close(memory[0][:, -4:], x)


def test_changing_frame_t_leaves_earlier_outputs_unchanged():
    model = build(cross_attention=True)
    torch.manual_seed(3)
    x, context = torch.randn(1, 30, WIDTH), torch.randn(1, 30, WIDTH)
    with torch.no_grad():
        before, _ = run_in_chunks(model, x, [30], context)
        for changed in (x.clone(), x.clone()):
            changed_context = context.clone()
            changed[:, 17] += torch.randn(WIDTH)  # not a constant: LayerNorm ignores those
            changed_context[:, 17] += torch.randn(WIDTH)
            after, _ = run_in_chunks(model, changed, [30], changed_context)
            torch.testing.assert_close(after[:, :17], before[:, :17], atol=1e-6, rtol=0)
            assert (after[:, 17] - before[:, 17]).abs().max() > 1e-3


def test_attention_window_is_m_frames_per_layer():
    """With one layer, output frame i reads input frames [i - M, i] only."""
    model = build(depth=1)
    x = torch.randn(1, 20, WIDTH)
    changed = x.clone()
    changed[:, 4] += torch.randn(WIDTH)
    with torch.no_grad():
        before, _ = model(x)
        after, _ = model(changed)
    difference = (after - before).abs().amax(dim=(0, 2))
    assert torch.all(difference[4 : 4 + MEMORY + 1] > 1e-4)
    assert torch.all(difference[4 + MEMORY + 1 :] == 0)


def test_relative_positions_make_output_shift_invariant():
    """Dropping the first frames changes nothing once the window no longer reaches them:
    positions are relative, not absolute."""
    model = build(depth=2)
    x = torch.randn(1, 30, WIDTH)
    with torch.no_grad():
        full, _ = model(x)
        shifted, _ = model(x[:, 5:])
    reach = 2 * MEMORY  # receptive field of two layers
    torch.testing.assert_close(shifted[:, reach:], full[:, 5 + reach :], atol=1e-5, rtol=0)
    assert (shifted[:, 0] - full[:, 5]).abs().max() > 1e-3


def test_no_gradient_flows_through_memory():
    model = build().train()
    first = torch.randn(1, 6, WIDTH, requires_grad=True)
    _, memory = model(first)
    assert all(not m.requires_grad for m in memory)
    second = torch.randn(1, 6, WIDTH, requires_grad=True)
    output, _ = model(second, memory)
    output.sum().backward()
    assert first.grad is None
    assert second.grad is not None and second.grad.abs().sum() > 0


def test_sinusoid_encodings_known_values():
    encodings = sinusoid_encodings(4, 6)
    assert encodings.shape == (4, 6)
    torch.testing.assert_close(encodings[0], torch.tensor([0.0, 1.0, 0.0, 1.0, 0.0, 1.0]))
    torch.testing.assert_close(encodings[2, 0], torch.sin(torch.tensor(2.0)))
    torch.testing.assert_close(encodings[2, 1], torch.cos(torch.tensor(2.0)))


def test_memory_of_the_wrong_depth_is_rejected():
    model = build(depth=2)
    with pytest.raises(ValueError, match="layers"):
        model(torch.randn(1, 3, WIDTH), [torch.zeros(1, 0, WIDTH)])


def test_zero_memory_length_attends_to_the_frame_itself_only():
    model = build(depth=1, memory_length=0)
    x = torch.randn(1, 8, WIDTH)
    with torch.no_grad():
        whole, memory = model(x)
        frame_by_frame, _ = run_in_chunks(model, x, [1] * 8)
    assert memory[0].shape == (1, 0, WIDTH)
    torch.testing.assert_close(frame_by_frame, whole, atol=1e-6, rtol=0)
