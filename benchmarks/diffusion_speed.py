"""Model-alone speed of the diffusion gesture model on CPU (issue 11): real-time factor for each
DDIM step count, with and without classifier-free guidance, and the stream's first-frame cost.

Random weights and random features (speed does not depend on them). For each step count it
prints the wall and process-CPU seconds of :func:`generate` over ``--seconds`` of speech and the
real-time factor (seconds of compute per second of motion; the issue's target is <= 0.05 on one
thread). Guidance other than 1 runs the network twice per step. The stream row is the compute
of the first window once its speech and lookahead are there (target <= 200 ms) and the
algorithmic latency ``window - overlap + lookahead``.

Wall times are inflated when other processes share the cores (the machine line prints the
load average); process CPU seconds are printed beside them.

Usage: ``.venv/bin/python benchmarks/diffusion_speed.py [--threads 1] [--seconds 20]
[--discard 10]``
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, print_machine  # noqa: E402
from llavataros.models.diffusion.config import DiffusionConfig  # noqa: E402
from llavataros.models.diffusion.network import DiffusionDenoiser  # noqa: E402
from llavataros.models.diffusion.windows import (  # noqa: E402
    DiffusionStream,
    SamplerSettings,
    generate,
)

STEPS = (1, 2, 4, 8, 16, 50)


def inputs(config: DiffusionConfig, frames: int):
    generator = torch.Generator().manual_seed(0)
    return (
        torch.randn(1, frames, config.text_dim, generator=generator),
        torch.rand(1, frames, generator=generator) > 0.3,
        torch.randn(1, frames, config.audio_dim, generator=generator),
        torch.tensor([0]),
    )


def timed(call) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    call()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=20.0, help="speech length")
    parser.add_argument("--steps", type=int, nargs="*", default=list(STEPS))
    parser.add_argument("--guidance", type=float, default=2.0, help="the guided column's scale")
    parser.add_argument("--window", type=int, help="frames per window (default: the config's)")
    parser.add_argument("--overlap", type=int, help="overlap frames (default: the config's)")
    parser.add_argument(
        "--discard", type=int, help="frames resampled at each window's end (default: the config's)"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print_machine(machine())

    config = DiffusionConfig()
    changes = {"window": args.window, "overlap": args.overlap, "discard_frames": args.discard}
    config = dataclasses.replace(config, **{k: v for k, v in changes.items() if v is not None})
    torch.manual_seed(0)
    network = DiffusionDenoiser(config).eval()
    frames = int(args.seconds * config.fps)
    text, mask, audio, speaker = inputs(config, frames)
    print(
        f"config: {network.num_parameters():,} parameters, width {config.width}, "
        f"depth {config.depth}, window {config.window} frames, overlap {config.overlap}, "
        f"discard {config.discard_frames}, "
        f"{args.seconds:g} s of speech ({frames} frames at {config.fps:g} fps)"
    )
    generate(network, text[:, :200], mask[:, :200], audio[:, :200], speaker)  # warm-up
    print(
        f"{'steps':>5}{'wall s':>9}{'cpu s':>8}{'RTF wall':>10}{'RTF cpu':>9}"
        f"{'guided RTF wall':>17}{'guided RTF cpu':>16}"
    )
    for steps in args.steps:
        plain = SamplerSettings(steps=steps, guidance=1.0)
        guided = SamplerSettings(steps=steps, guidance=args.guidance)
        wall, cpu = timed(lambda s=plain: generate(network, text, mask, audio, speaker, s))
        guided_wall, guided_cpu = timed(
            lambda s=guided: generate(network, text, mask, audio, speaker, s)
        )
        seconds = args.seconds
        print(
            f"{steps:>5}{wall:>9.2f}{cpu:>8.2f}{wall / seconds:>10.4f}{cpu / seconds:>9.4f}"
            f"{guided_wall / seconds:>17.4f}{guided_cpu / seconds:>16.4f}"
        )

    need = config.window + config.lookahead
    print(
        f"stream: first window needs {need} frames ({1000 * need / config.fps:.0f} ms of "
        f"speech); latency window - overlap + lookahead = {config.stream_latency_frames} frames "
        f"({1000 * config.stream_latency_frames / config.fps:.0f} ms)"
    )
    for steps in args.steps:
        stream = DiffusionStream(network, speaker, SamplerSettings(steps=steps))
        stream.push(text[:, : need - 1], mask[:, : need - 1], audio[:, : need - 1])
        wall, cpu = timed(
            lambda s=stream: s.push(
                text[:, need - 1 : need], mask[:, need - 1 : need], audio[:, need - 1 : need]
            )
        )
        assert stream.frames_out == config.window - config.discard_frames
        print(
            f"  {steps:>2} steps: first window ({config.window} frames) "
            f"{1000 * wall:.0f} ms wall, {1000 * cpu:.0f} ms cpu"
        )


if __name__ == "__main__":
    main()
