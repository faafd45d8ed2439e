"""Training throughput on CPU: model-rate frames per second of wall time (forward, backward and
AdamW step), and the parameter count.

Issue 3 (DoD): training throughput (frames per second) on CPU; the default model must train on 2
CPU cores "in well under an hour on a one-hour corpus". Two measurements:

- synthetic batches through :class:`GestureTask`'s model and loss (``run_segments`` +
  ``motion_loss``, exactly what ``GestureTask._step`` computes) with AdamW and gradient
  clipping as configured: ``batch_size x window`` frames per step from ``TrainConfig()``;
- ``--lightning``: a short real ``train`` run on a tiny generated corpus, timing each training
  batch inside Lightning (data loading, logging and optimiser included; checkpoints excluded).

From the frames per second it estimates the time of one epoch of a one-hour corpus (windows of
``data.window_seconds`` every ``data.stride_seconds``) and of ``trainer.max_epochs`` epochs.

    .venv/bin/python benchmarks/train_throughput.py [--model RUN] [--steps 10] [--lightning]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time

import torch

import common


def architecture(model: str | None):
    """``TrainConfig()`` with its model replaced by ``model``'s architecture when given, and the
    dimensions the default features give (MiniLM 384-d text, prosody audio)."""
    from llavataros.features.audio_encoders import ProsodyFeatures
    from llavataros.training.train import TrainConfig

    config = TrainConfig()
    if model:
        from llavataros.models.checkpoint import load_checkpoint, resolve_model_path

        network, _ = load_checkpoint(resolve_model_path(model))
        return dataclasses.replace(config, model=network.config)
    model_config = dataclasses.replace(
        config.model, text_dim=384, audio_dim=ProsodyFeatures(config.data.fps).dim
    )
    return dataclasses.replace(config, model=model_config)


def synthetic_batch(config, batch: int, frames: int) -> dict:
    generator = torch.Generator().manual_seed(0)
    model = config.model
    quats = torch.randn(batch, frames, model.num_joints, 4, generator=generator)
    quats = quats / quats.norm(dim=-1, keepdim=True)
    positions = 0.1 * torch.randn(batch, frames, model.num_joints, 3, generator=generator)
    return {
        "text": torch.randn(batch, frames, model.text_dim, generator=generator),
        "text_mask": torch.rand(batch, frames, generator=generator) > 0.3,
        "audio": torch.randn(batch, frames, model.audio_dim, generator=generator),
        "speaker": torch.zeros(batch, dtype=torch.long),
        "motion": torch.cat([positions, quats], dim=-1),
    }


def synthetic_steps(config, steps: int, warmup: int) -> dict:
    """Seconds per optimiser step on synthetic batches, and the frames in each."""
    import numpy as np

    from llavataros.models.geometry import RootStatistics
    from llavataros.models.llanimation.generation import run_segments
    from llavataros.motion.skeleton import AVATAROS
    from llavataros.training.losses import motion_loss
    from llavataros.training.train import GestureTask, motion_targets

    fps = config.data.fps
    frames = int(round(config.data.window_seconds * fps))
    batch_size = config.trainer.batch_size
    batch = synthetic_batch(config, batch_size, frames)
    stats = RootStatistics.from_root_positions(np.zeros((2, 3)) + [[0, 0.9, 0], [0, 1.0, 0]])
    torch.manual_seed(0)
    task = GestureTask(config, AVATAROS, stats)
    task.train()
    settings = config.optimizer
    optimizer = torch.optim.AdamW(
        task.parameters(),
        lr=settings.learning_rate,
        betas=settings.betas,
        weight_decay=settings.weight_decay,
    )
    target = motion_targets(batch["motion"], stats)

    def step() -> float:
        optimizer.zero_grad(set_to_none=True)
        output = run_segments(
            task.model, batch["text"], batch["text_mask"], batch["audio"], batch["speaker"]
        )
        loss, _ = motion_loss(
            output, target, AVATAROS, stats, config.loss.weights, config.loss.rotation
        )
        loss.backward()
        torch.nn.utils.clip_grad_norm_(task.parameters(), settings.gradient_clip)
        optimizer.step()
        return float(loss.detach())

    timing, _ = common.measure(step, steps, warmup)
    return {
        "parameters": task.model.num_parameters(),
        "batch_size": batch_size,
        "window_frames": frames,
        "frames_per_step": batch_size * frames,
        "seconds_per_step": timing.median,
        "cpu_seconds_per_step": timing.cpu_median,
        "frames_per_second": batch_size * frames / timing.median,
        "timing": timing.to_dict(),
    }


def lightning_steps(steps: int, threads: int | None) -> dict:
    """A real ``train`` run of ``steps + 2`` steps on a tiny corpus; per-batch seconds."""
    import shutil
    import sys

    from lightning.pytorch.callbacks import Callback

    sys.path.insert(0, str(common.ROOT / "tests"))
    from llavataros.training.train import train
    from tiny_corpus import write_tiny_corpus

    class BatchClock(Callback):
        def __init__(self):
            self.seconds, self.frames, self._start = [], [], 0.0

        def on_train_batch_start(self, trainer, module, batch, index):
            self._start = time.perf_counter()

        def on_train_batch_end(self, trainer, module, outputs, batch, index):
            self.seconds.append(time.perf_counter() - self._start)
            self.frames.append(batch["text"].shape[0] * batch["text"].shape[1])

    data = common.SCRATCH / "throughput-corpus"
    if not data.exists():
        write_tiny_corpus(data, takes=10, seconds=30.0)
    run = common.SCRATCH / "throughput-run"
    shutil.rmtree(run, ignore_errors=True)
    clock = BatchClock()
    overrides = [
        f"trainer.max_steps={steps + 2}",
        "trainer.progress_bar=false",
        f"trainer.checkpoint_every_n_steps={steps + 100}",
        "trainer.log_every_n_steps=1",
    ]
    common.set_threads(threads)
    train(data, run, overrides=overrides, extra_callbacks=[clock])
    seconds, frames = clock.seconds[2:], clock.frames[2:]  # the first two warm up
    full = [s for s, f in zip(seconds, frames, strict=True) if f == max(frames)]
    per_step = statistics.median(full)
    return {
        "steps_timed": len(seconds),
        "frames_per_step": max(frames),
        "seconds_per_step": per_step,
        "frames_per_second": max(frames) / per_step,
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    common.add_common_arguments(parser)
    parser.add_argument("--steps", type=int, default=10, help="timed optimiser steps")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps first")
    parser.add_argument("--lightning", action="store_true", help="also a short real train run")
    args = parser.parse_args(argv)
    common.set_threads(args.threads)

    config = architecture(args.model)
    info = common.machine()
    common.print_machine(info)
    model = config.model
    print(
        f"model: {args.model or 'TrainConfig() defaults'} ({model.fusion}, width {model.width}, "
        f"depth {model.depth}, heads {model.heads}, W {model.segment_length}, "
        f"M {model.memory_length}, lookahead {model.lookahead}, {model.fps:g} fps)"
    )
    synthetic = synthetic_steps(config, args.steps, args.warmup)
    rows = [
        (
            "GestureTask, synthetic batches",
            synthetic["frames_per_step"],
            synthetic["seconds_per_step"],
            synthetic["frames_per_second"],
        )
    ]
    figures = {"machine": info, "model_config": model.to_dict(), "synthetic": synthetic}
    if args.lightning:
        lightning = lightning_steps(args.steps, args.threads)
        figures["lightning"] = lightning
        rows.append(
            (
                "train() with Lightning, tiny corpus",
                lightning["frames_per_step"],
                lightning["seconds_per_step"],
                lightning["frames_per_second"],
            )
        )
    print(f"parameters: {synthetic['parameters']:,}")
    print(
        f"batch {synthetic['batch_size']} x {synthetic['window_frames']} frames "
        f"({config.data.window_seconds:g} s at {config.data.fps:g} fps); median of "
        f"{args.steps} steps after {args.warmup} warm-up; CPU s per step "
        f"{synthetic['cpu_seconds_per_step']:.2f}"
    )
    common.print_table(rows, ["measured", "frames/step", "s/step", "frames/s"])

    window, stride = config.data.window_seconds, config.data.stride_seconds
    frames_per_hour = 3600 * config.data.fps * window / stride  # overlapping windows
    epoch = frames_per_hour / synthetic["frames_per_second"]
    epochs = config.trainer.max_epochs
    figures["one_hour_corpus"] = {
        "frames_per_epoch": frames_per_hour,
        "epoch_minutes": epoch / 60,
        "epochs": epochs,
        "training_minutes": epochs * epoch / 60,
    }
    print(
        f"one-hour corpus: {frames_per_hour:,.0f} frames per epoch (windows of {window:g} s "
        f"every {stride:g} s) -> {epoch / 60:.1f} min per epoch, {epochs} epochs "
        f"(trainer.max_epochs) {epochs * epoch / 60:.0f} min, at the synthetic-batch rate"
    )
    common.save_json(figures, args.json)
    return figures


if __name__ == "__main__":
    main()
