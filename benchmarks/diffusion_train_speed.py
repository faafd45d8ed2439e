"""Training speed of the diffusion family on CPU: optimiser steps per second and the time of one
epoch of a corpus, for a training config (default ``configs/diffusion.yaml``).

Synthetic batches (the shapes the corpus gives: ``lookbehind + window + lookahead`` frames of
MiniLM word vectors and prosody features) go through :class:`DiffusionTask`'s loss, backward,
gradient clipping, AdamW and the EMA update, exactly what one Lightning training step computes
(data loading and logging excluded). The epoch time counts the training windows of ``--data``
(takes of its training split, one window every ``data.stride_seconds``), or of ``--minutes`` of
speech with the default 80 % training split.

    .venv/bin/python benchmarks/diffusion_train_speed.py [--config configs/diffusion.yaml]
        [--steps 10] [--threads 1] [--data CORPUS | --minutes 180] [--set KEY=VALUE ...]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time
from pathlib import Path

import torch

import common


def synthetic_batch(config, batch: int) -> dict:
    c = config.diffusion
    frames = c.lookbehind + c.window + c.lookahead
    generator = torch.Generator().manual_seed(0)
    quaternions = torch.randn(batch, frames, c.num_joints, 4, generator=generator)
    quaternions = quaternions / quaternions.norm(dim=-1, keepdim=True)
    positions = 0.1 * torch.randn(batch, frames, c.num_joints, 3, generator=generator)
    return {
        "text": torch.randn(batch, frames, c.text_dim, generator=generator),
        "text_mask": torch.rand(batch, frames, generator=generator) > 0.3,
        "audio": torch.randn(batch, frames, c.audio_dim, generator=generator),
        "speaker": torch.zeros(batch, dtype=torch.long),
        "motion": torch.cat([positions, quaternions], dim=-1),
    }


def step_seconds(config, steps: int, warmup: int = 2) -> list[float]:
    """Wall seconds of each of ``steps`` optimiser steps (after ``warmup``)."""
    from llavataros.models.geometry import RootStatistics
    from llavataros.motion.skeleton import AVATAROS
    from llavataros.training.diffusion_task import DiffusionTask
    from llavataros.training.task import motion_targets

    torch.manual_seed(0)
    root = RootStatistics((0.0, 0.9, 0.0), (0.05, 0.05, 0.05))
    batch = synthetic_batch(config, config.trainer.batch_size)
    rows = motion_targets(batch["motion"], root).flatten(0, 1)
    task = DiffusionTask(config, AVATAROS, root, (rows.mean(0), rows.std(0)))
    task.log = lambda *args, **kwargs: None  # no trainer attached
    optimiser = torch.optim.AdamW(task.network.parameters(), lr=config.optimizer.learning_rate)
    times = []
    for index in range(warmup + steps):
        start = time.perf_counter()
        loss = task.training_step(batch, index)
        optimiser.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(task.network.parameters(), config.optimizer.gradient_clip)
        optimiser.step()
        task.update_average(0.999)
        if index >= warmup:
            times.append(time.perf_counter() - start)
    return times


def training_seconds(config, data: str | None, minutes: float) -> tuple[float, str]:
    """Seconds of speech in the training split and where the figure came from."""
    if data is None:
        return minutes * 60 * config.data.split_fractions[0], f"{minutes:g} min x 80 % train"
    import soundfile

    from llavataros.data.index import index_takes, split_records

    records = index_takes(data)
    splits = split_records(data, records, config.data.split_fractions, config.data.split_seed)
    seconds = sum(soundfile.info(str(r.audio_path)).duration for r in splits["train"])
    return seconds, f"training split of {data} ({len(splits['train'])} takes)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(common.ROOT / "configs" / "diffusion.yaml"))
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--data", help="corpus folder: count its training windows")
    parser.add_argument("--minutes", type=float, default=180.0)
    parser.add_argument("--json", help="also save the figures here")
    args = parser.parse_args()

    from llavataros.features.audio_encoders import ProsodyFeatures
    from llavataros.training.train import read_config

    torch.set_num_threads(args.threads)
    config = read_config(args.config, args.set)
    derived = dict(text_dim=384, audio_dim=ProsodyFeatures(config.data.fps).dim)
    config = dataclasses.replace(config, diffusion=dataclasses.replace(config.diffusion, **derived))
    times = step_seconds(config, args.steps)
    seconds, source = training_seconds(config, args.data, args.minutes)
    windows = seconds / config.data.stride_seconds
    steps_per_epoch = windows / config.trainer.batch_size
    per_step = statistics.median(times)
    from llavataros.models.diffusion.model import DiffusionModel

    figures = {
        "config": args.config,
        "overrides": args.set,
        "threads": args.threads,
        "parameters": DiffusionModel(config.diffusion).num_parameters(),
        "batch": config.trainer.batch_size,
        "window_frames": config.diffusion.window,
        "seconds_per_step_median": per_step,
        "seconds_per_step_min": min(times),
        "steps_per_second": 1.0 / per_step,
        "training_speech": source,
        "steps_per_epoch": steps_per_epoch,
        "minutes_per_epoch": steps_per_epoch * per_step / 60,
        "minutes_for_max_epochs": config.trainer.max_epochs * steps_per_epoch * per_step / 60,
        "max_epochs": config.trainer.max_epochs,
        "machine": common.machine(),
    }
    common.print_machine(figures.pop("machine"))
    common.print_table([(key, value) for key, value in figures.items()], ("figure", "value"))
    path = Path(args.json) if args.json else None
    common.save_json({**figures, "machine": common.machine()}, path)


if __name__ == "__main__":
    main()
