"""What batching concurrent streams' model pushes brings (issue 13: "batch the pushes of
concurrent connections into one forward pass ... measure what each brings").

N streams of the shipped model are warmed up on ``--warmup`` seconds of speech (their
Transformer-XL memories full), then one 100 ms push of model inputs (3 frames at 30 fps) is
timed for all N: as N separate ``model.push`` calls, and as one batched call through
:mod:`llavataros.serve.batching` (stack, push, unstack). Process CPU milliseconds per stream
and push (median of ``--repeats``; CPU time is less inflated by other processes than wall
time), and for comparison the whole ``AnimationStream.push`` per stream (features, model,
post-processing).

    .venv/bin/python benchmarks/serve_batching.py [--streams 1 2 4 8 16] [--repeats 30]
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

import numpy as np

import common


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, nargs="+", default=[1, 2, 4, 8, 16])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--warmup", type=float, default=6.0, help="seconds of speech first")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)

    import torch

    from llavataros.models.base import FrameInputs
    from llavataros.models.checkpoint import LIVE_MODEL
    from llavataros.pipeline.animate import Animator
    from llavataros.pipeline.stream import AnimationStream
    from llavataros.serve.batching import stack, unstack

    animator = Animator.load(LIVE_MODEL, threads=1)  # the live server's model
    info = common.machine()
    common.print_machine(info)
    clip = common.speech_clip(args.warmup + 1, "repeat")
    warm = int(args.warmup * 16000)
    stream = AnimationStream(animator, clip.transcript)
    whole = []
    for start in range(0, warm, 1600):
        cpu = common.cpu_seconds()
        stream.push(clip.audio[start : start + 1600])
        whole.append(common.cpu_seconds() - cpu)
    state = stream.model_stream.state
    model, config = animator.model, animator.model.config
    generator = torch.Generator().manual_seed(0)
    chunk = FrameInputs(
        torch.randn(1, 3, config.text_dim, generator=generator),
        torch.ones(1, 3, dtype=torch.bool),
        torch.randn(1, 3, config.audio_dim, generator=generator),
    )

    def cpu_ms(call) -> float:
        times = []
        for _ in range(args.repeats):
            cpu = common.cpu_seconds()
            call()
            times.append(common.cpu_seconds() - cpu)
        return 1000 * statistics.median(times)

    rows = []
    for count in args.streams:
        states, inputs = [state] * count, [chunk] * count

        def separate(states=states, inputs=inputs):
            return [model.push(s, i) for s, i in zip(states, inputs, strict=True)]

        def batched(states=states, inputs=inputs, count=count):
            output, new = model.push(stack(states), stack(inputs))
            return unstack(output, [1] * count), unstack(new, [1] * count)

        apart, together = cpu_ms(separate) / count, cpu_ms(batched) / count
        rows.append([count, apart, together, apart / together])
    whole_ms = 1000 * float(np.median(whole[10:]))
    common.print_table(
        rows, ["streams", "separate ms/stream", "batched ms/stream", "batched speed-up"]
    )
    print(f"whole AnimationStream.push per 100 ms (one stream): {whole_ms:.1f} ms CPU (median)")
    figures = {
        "machine": info,
        "model_push_cpu_ms_per_stream": [
            {"streams": r[0], "separate": r[1], "batched": r[2], "speedup": r[3]} for r in rows
        ],
        "whole_push_cpu_ms": whole_ms,
    }
    common.save_json(figures, args.json)
    return figures


if __name__ == "__main__":
    main()
