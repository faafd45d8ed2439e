"""Concurrent streams' model pushes batched into one forward pass give each stream the frames
it gets alone."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import torch

from llavataros.models.base import FrameInputs
from llavataros.pipeline.animate import Animator
from llavataros.pipeline.stream import AnimationStream
from llavataros.serve.batching import PushBatcher, signature, stack, unstack
from llavataros.speech.audio import load_audio

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_stack_and_unstack_are_inverse():
    state = {"unused": 0}  # plain values are kept as they are
    values = [(torch.full((1, 2), float(i)), None, 3, state) for i in range(3)]
    assert len({signature(v) for v in values}) == 1
    stacked = stack(values)
    assert stacked[0].shape == (3, 2) and stacked[1:] == (None, 3, state)
    back = unstack(stacked, [1, 1, 1])
    assert [b[0].tolist() for b in back] == [[[0.0, 0.0]], [[1.0, 1.0]], [[2.0, 2.0]]]
    assert signature(torch.zeros(1, 3)) != signature(torch.zeros(1, 4))


@pytest.mark.slow
def test_batched_streams_equal_separate_streams():
    animator = Animator.load("llanimation")  # the live server's model
    audio = load_audio(EXAMPLES / "hello.wav")[: 4 * 16000]
    clips = [audio, audio[::-1].copy(), 0.5 * audio]

    def run(clip, batcher=None):
        stream = AnimationStream(animator, speaker=None)
        if batcher is not None:
            stream.model_stream.model = batcher.proxy()
        pieces = []
        for i in range(0, len(clip), 1600):
            barrier.wait()  # the three sessions push at the same time
            pieces.append(stream.push(clip[i : i + 1600]))
        return np.concatenate([*pieces, stream.finish()])

    barrier = threading.Barrier(1)
    alone = [run(clip) for clip in clips]
    barrier = threading.Barrier(len(clips))
    batcher = PushBatcher(animator.model, wait=1.0, active=60.0)  # slow machines: still streaming
    with ThreadPoolExecutor(len(clips)) as pool:
        together = list(pool.map(run, clips, [batcher] * len(clips)))
    assert max(batcher.batch_sizes) == 3  # the pushes did share forward passes
    assert np.mean(np.array(batcher.batch_sizes) == 3) > 0.5
    for separate, batched in zip(alone, together, strict=True):
        assert batched.shape == separate.shape
        assert np.abs(batched - separate).max() < 1e-4


def test_pushes_of_different_lengths_share_forward_passes():
    """A session that fell behind pushes more frames at once: the batch runs the frames all
    have together, the rest in further rounds, and every caller gets its frames alone."""
    model = Animator.load("llanimation").model
    config = model.config
    generator = torch.Generator().manual_seed(0)

    def inputs(frames: int) -> FrameInputs:
        text = torch.randn(1, frames, config.text_dim, generator=generator)
        audio = torch.randn(1, frames, config.audio_dim, generator=generator)
        return FrameInputs(text, torch.rand(1, frames, generator=generator) > 0.5, audio)

    lengths = [3, 6, 9, 3]
    warm = [inputs(90) for _ in lengths]  # memories full: the states stack
    chunks = [inputs(frames) for frames in lengths]
    starts = [model.push(model.start_stream(torch.tensor([0])), w)[1] for w in warm]
    alone = [model.push(state, chunk) for state, chunk in zip(starts, chunks, strict=True)]

    batcher = PushBatcher(model, wait=10.0, active=60.0)
    for stream in range(len(lengths)):  # four sessions are streaming
        batcher.last_push[stream] = time.perf_counter()
    barrier = threading.Barrier(len(lengths))

    def push(stream, state, chunk):
        barrier.wait()
        return batcher.push(state, chunk, stream)

    with ThreadPoolExecutor(len(lengths)) as pool:
        together = list(pool.map(push, range(len(lengths)), starts, chunks))
    # one batch of 4 (3 frames each), then the two longer pushes together (3), then the last
    assert batcher.batch_sizes == [4, 2, 1]
    for (output, state), (batched, batched_state) in zip(alone, together, strict=True):
        assert batched.shape == output.shape
        assert torch.abs(batched - output).max() < 1e-4
        assert torch.abs(batched_state.pending.audio - state.pending.audio).max() == 0
        layers = zip(state.memory.layers, batched_state.memory.layers, strict=True)
        assert all(torch.abs(one - other).max() < 1e-4 for one, other in layers)


def test_a_push_waits_for_the_streaming_sessions_only():
    """The first push waits until every session that pushed lately has a push pending; a
    session that stopped streaming is forgotten, and a lone stream never waits."""

    class Echo:  # a model whose push returns its input: the batcher's own timing is measured
        def push(self, state, inputs):
            return inputs.audio, state

    def chunk(value: float) -> FrameInputs:
        audio = torch.full((1, 3, 2), value)
        return FrameInputs(torch.zeros(1, 3, 4), torch.ones(1, 3, dtype=torch.bool), audio)

    batcher = PushBatcher(Echo(), wait=5.0, active=0.5)
    started = time.perf_counter()
    output, _ = batcher.push(None, chunk(1.0), stream=0)
    assert time.perf_counter() - started < 1.0  # alone: no wait
    assert torch.equal(output, torch.full((1, 3, 2), 1.0))
    batcher.last_push[1] = time.perf_counter()  # a second session is streaming
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(batcher.push, None, chunk(2.0), 0)
        time.sleep(0.3)  # the first push is waiting for session 1
        assert not first.done()
        second = pool.submit(batcher.push, None, chunk(3.0), 1)
        assert first.result()[0][0, 0, 0] == 2.0 and second.result()[0][0, 0, 0] == 3.0
    assert batcher.batch_sizes[-1] == 2
    time.sleep(0.6)  # both stop streaming; a new session's push does not wait for them
    started = time.perf_counter()
    batcher.push(None, chunk(4.0), stream=2)
    assert time.perf_counter() - started < 1.0 and batcher.streaming(time.perf_counter()) == 1
