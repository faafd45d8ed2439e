"""Model-alone speed of LLAniMAtion on CPU: parameter counts, offline generation and streaming.

Random weights and random features (speed does not depend on them). Prints one row per
fusion variant:

- parameters;
- offline ``generate`` throughput in frames per second and its real-time factor
  (processing seconds per second of motion at the model's fps);
- streaming cost per push of ``--chunk`` frames (mean and 95th percentile, milliseconds) and
  the algorithmic latency (the lookahead);
- peak resident memory growth while streaming ``--minutes`` of input.

Usage: ``.venv/bin/python benchmarks/model_speed.py [--threads 2] [--seconds 60] [--paper]``
"""

from __future__ import annotations

import argparse
import dataclasses
import resource
import time

import torch

from llavataros.models.base import ModelStream
from llavataros.models.llanimation.config import FUSIONS, ModelConfig, paper_scale_config
from llavataros.models.llanimation.generation import generate
from llavataros.models.llanimation.network import LlanimationModel


def random_inputs(config: ModelConfig, frames: int):
    generator = torch.Generator().manual_seed(0)
    return (
        torch.randn(1, frames, config.text_dim, generator=generator),
        torch.rand(1, frames, generator=generator) > 0.3,
        torch.randn(1, frames, config.audio_dim, generator=generator),
        torch.tensor([0]),
    )


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: kilobytes


def measure(config: ModelConfig, seconds: float, chunk: int, minutes: float) -> dict:
    torch.manual_seed(0)
    model = LlanimationModel(config).eval()
    frames = int(seconds * config.fps)
    inputs = random_inputs(config, frames)
    generate(model, *[x[:, : config.segment_length * 2] if x.ndim > 1 else x for x in inputs])
    start = time.perf_counter()
    generate(model, *inputs)
    offline = time.perf_counter() - start

    stream_frames = int(minutes * 60 * config.fps)
    text, mask, audio, speaker = random_inputs(config, stream_frames)
    stream = ModelStream(model)
    rss_before = peak_rss_mb()
    costs = []
    for begin in range(0, stream_frames, chunk):
        stop = begin + chunk
        tick = time.perf_counter()
        stream.push(text[:, begin:stop], mask[:, begin:stop], audio[:, begin:stop], speaker)
        costs.append(time.perf_counter() - tick)
    stream.flush()
    costs.sort()
    return {
        "parameters": model.num_parameters(),
        "offline_fps": frames / offline,
        "offline_rtf": offline / seconds,
        "push_ms_mean": 1000 * sum(costs) / len(costs),
        "push_ms_p95": 1000 * costs[int(0.95 * (len(costs) - 1))],
        "lookahead_ms": 1000 * config.latency_seconds,
        "rss_growth_mb": peak_rss_mb() - rss_before,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=60.0, help="offline sequence length")
    parser.add_argument("--chunk", type=int, default=3, help="frames per stream push")
    parser.add_argument("--minutes", type=float, default=2.0, help="streamed input length")
    parser.add_argument("--paper", action="store_true", help="also the paper-scale config")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    configs = [
        (f"default {fusion}", dataclasses.replace(ModelConfig(), fusion=fusion))
        for fusion in FUSIONS
    ]
    if args.paper:
        configs.append(("paper-scale cross", paper_scale_config()))
    print(
        f"torch {torch.__version__}, {args.threads} threads, offline {args.seconds:g} s, "
        f"stream {args.minutes:g} min in pushes of {args.chunk} frames"
    )
    header = (
        f"{'model':<20}{'params':>11}{'offline fps':>13}{'RTF':>8}{'push ms':>9}"
        f"{'p95 ms':>8}{'lookahead ms':>14}{'RSS +MB':>9}"
    )
    print(header)
    for name, config in configs:
        row = measure(config, args.seconds, args.chunk, args.minutes)
        print(
            f"{name:<20}{row['parameters']:>11,}{row['offline_fps']:>13.0f}"
            f"{row['offline_rtf']:>8.4f}{row['push_ms_mean']:>9.2f}{row['push_ms_p95']:>8.2f}"
            f"{row['lookahead_ms']:>14.0f}{row['rss_growth_mb']:>9.1f}"
        )


if __name__ == "__main__":
    main()
