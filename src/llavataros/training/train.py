"""Training with PyTorch Lightning (LLAniMAtion, arXiv 2405.08042, section 4).

A run folder holds everything needed to understand and continue it (STYLE.md rule 3)::

    RUN/config.yaml          resolved TrainConfig
    RUN/run.json             git commit, data folder, split, derived dimensions
    RUN/model/               final weights (used by inference): model.safetensors + model.json
    RUN/best/                weights of the lowest validation loss
    RUN/checkpoints/         pickle-free Lightning state for --resume (JSON + safetensors)
    RUN/logs/                CSV and TensorBoard logs (one version_N per start or resume)

Each training window is processed as consecutive Transformer-XL segments with the memory
carried between them (detached, as in Dai et al. 2019).
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import Callback, ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger
from torch.utils.data import Sampler

from llavataros.configuration import apply_overrides, from_dict, load_yaml, save_yaml, to_dict
from llavataros.data.dataset import (
    PreparedTake,
    WindowDataset,
    audio_statistics,
    corpus_vocabulary,
    prepare_corpus,
)
from llavataros.data.index import TakeRecord, index_takes, split_records
from llavataros.errors import InputError
from llavataros.features.build import build_extractor
from llavataros.models.checkpoint import git_commit, save_checkpoint
from llavataros.models.geometry import RootStatistics
from llavataros.motion.kinematics import estimate_offsets
from llavataros.motion.skeleton import Skeleton
from llavataros.motion.smoothing import SpeedLimit
from llavataros.motion.take import load_take
from llavataros.training.checkpoint_io import SafeCheckpointIO
from llavataros.training.config import TrainConfig
from llavataros.training.quiet import quiet_lightning
from llavataros.training.resumable import RestoreLoaderState, ResumableLoader
from llavataros.training.task import GestureTask


class EpochShuffleSampler(Sampler):
    """A permutation that depends only on ``seed`` and the epoch, so a resumed run sees the
    same order as an uninterrupted one. With ``max_shift > 0`` it yields ``(item, shift)``:
    each window's start moves by a random ``shift`` in ``[-max_shift, max_shift]`` frames,
    new every epoch (augmentation: the model never sees the same cut twice)."""

    def __init__(self, size: int, seed: int, max_shift: int = 0):
        self.size, self.seed, self.max_shift, self.epoch = size, seed, max_shift, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self):
        rng = np.random.default_rng([self.seed, self.epoch])
        order = rng.permutation(self.size).tolist()
        if self.max_shift <= 0:
            return iter(order)
        shifts = rng.integers(-self.max_shift, self.max_shift + 1, self.size).tolist()
        return iter(zip(order, shifts, strict=True))

    def __len__(self) -> int:
        return self.size


class ExportModel(Callback):
    """Write inference checkpoints (safetensors + JSON): ``RUN/best`` whenever the validation
    loss improves, ``RUN/model`` when training ends (the final weights, which inference uses:
    on the synthetic corpus they gestured far better than the lowest-validation-loss epoch,
    semantic recall 0.90 vs 0.54 on the validation takes)."""

    def __init__(self, run_dir: Path, metadata: dict):
        self.run_dir, self.metadata, self.best = run_dir, metadata, math.inf

    def _export(self, task: GestureTask, folder: str, trainer: L.Trainer) -> None:
        metadata = dict(self.metadata, epoch=trainer.current_epoch, step=trainer.global_step)
        save_checkpoint(self.run_dir / folder, task.model, task.model.config, metadata)

    def on_validation_end(self, trainer, task):
        if trainer.sanity_checking or not trainer.is_global_zero:
            return
        loss = float(trainer.callback_metrics.get("validation_loss", math.inf))
        if loss < self.best:
            self.best = loss
            self._export(task, "best", trainer)

    def on_train_end(self, trainer, task):
        if trainer.world_size > 1:  # every rank records its weights: they must agree
            digest = hashlib.sha256()
            for tensor in task.model.state_dict().values():
                digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
            folder = self.run_dir / "ranks"
            folder.mkdir(exist_ok=True)
            (folder / f"rank-{trainer.global_rank}.json").write_text(
                json.dumps({"step": trainer.global_step, "weights_sha256": digest.hexdigest()})
                + "\n"
            )
        if trainer.is_global_zero:
            self._export(task, "model", trainer)

    def state_dict(self) -> dict:
        return {"best": self.best}

    def load_state_dict(self, state: dict) -> None:
        self.best = float(state["best"])


def read_config(config_path: str | Path | None, overrides: list[str]) -> TrainConfig:
    config = load_yaml(TrainConfig, config_path) if config_path else TrainConfig()
    return apply_overrides(config, overrides) if overrides else config


def training_motion_facts(records: list[TakeRecord]) -> tuple[Skeleton, float, SpeedLimit]:
    """From the training takes: their skeleton (offsets averaged), the corpus frame rate, and a
    speed limit at their wrist speeds (:meth:`SpeedLimit.of_corpus`)."""
    offsets, rates, motions = [], [], []
    for record in records:
        motion = load_take(record.motion_path)
        offsets.append(estimate_offsets(motion.positions, motion.rotations))
        rates.append(motion.fps)
        motions.append(motion)
    skeleton = Skeleton(offsets=np.mean(offsets, axis=0))
    return skeleton, float(max(set(rates), key=rates.count)), SpeedLimit.of_corpus(motions)


def train(
    data_dir: str | Path,
    out_dir: str | Path,
    config_path: str | Path | None = None,
    resume: bool = False,
    overrides: list[str] | None = None,
    config: TrainConfig | None = None,
    extra_callbacks: list[Callback] | None = None,
) -> Path:
    """Train on the takes in ``data_dir``; returns the run folder ``out_dir``."""
    data_dir, run_dir = Path(data_dir), Path(out_dir)
    overrides = list(overrides or [])
    if resume:
        last = run_dir / "checkpoints" / "last.ckpt"
        if not last.exists():
            raise InputError(run_dir, "nothing to resume: no checkpoints/last.ckpt")
        config = apply_overrides(load_yaml(TrainConfig, run_dir / "config.yaml"), overrides)
    elif config is None:
        config = read_config(config_path, overrides)
    if not resume and (run_dir / "checkpoints").exists():
        raise InputError(
            run_dir, "run folder already has checkpoints (use --resume or a new --out)"
        )

    records = index_takes(data_dir)
    splits = split_records(data_dir, records, config.data.split_fractions, config.data.split_seed)
    if not splits["train"]:
        raise InputError(data_dir, "no takes in the training split")
    vocabulary = corpus_vocabulary(records)
    cache_dir = config.data.cache_dir or data_dir / ".cache"
    extractor = build_extractor(
        config.data.fps, config.data.text_model, config.data.audio_model, cache_dir
    )
    prepared = {
        split: prepare_corpus(splits[split], extractor, config.data.fps, vocabulary=vocabulary)
        for split in ("train", "validation")
    }
    statistics = audio_statistics(prepared["train"])
    roots = np.concatenate([take.motion[:, 0, :3] for take in prepared["train"]])
    root_statistics = RootStatistics.from_root_positions(roots)
    skeleton, corpus_fps, speed_limit = training_motion_facts(splits["train"])
    derived = dict(
        text_dim=extractor.text_dim,
        audio_dim=extractor.audio_dim,
        num_speakers=len(vocabulary),
        fps=config.data.fps,
    )
    config = replace(
        config,
        model=replace(config.model, **derived),
        diffusion=replace(config.diffusion, **derived),
    )

    run_dir.mkdir(parents=True, exist_ok=True)
    save_yaml(config, run_dir / "config.yaml")
    (run_dir / "run.json").write_text(
        json.dumps(
            {
                "git_commit": git_commit(),
                "command": sys.argv,
                "data_dir": str(data_dir.resolve()),
                "splits": {split: [r.name for r in records] for split, records in splits.items()},
            },
            indent=1,
        )
        + "\n"
    )

    metadata = {
        "skeleton": skeleton.to_dict(),
        "root_statistics": root_statistics.to_dict(),
        "audio_statistics": statistics.to_dict(),
        "speakers": vocabulary.to_dict(),
        "training_speakers": sorted({record.style for record in splits["train"]}),
        "default_speaker": vocabulary.id(
            Counter(record.style for record in splits["train"]).most_common(1)[0][0]
        ),
        "features": {
            "text_model": config.data.text_model,
            "audio_model": config.data.audio_model,
            "settings": extractor.settings(),
        },
        "corpus_fps": corpus_fps,
        "speed_limit": speed_limit,
        "train_config": to_dict(config),
    }
    if config.trainer.threads > 0:
        torch.set_num_threads(config.trainer.threads)
    L.seed_everything(config.trainer.seed, workers=True, verbose=False)  # before weights init
    task = build_task(config, skeleton, root_statistics, prepared["train"])
    loaders = {
        split: _loader(takes, config, statistics, shuffle=split == "train")
        for split, takes in prepared.items()
        if takes
    }
    with quiet_lightning():
        trainer = _trainer(config, run_dir, metadata, extra_callbacks or [])
        trainer.fit(
            task,
            loaders["train"],
            loaders.get("validation"),
            ckpt_path=str(run_dir / "checkpoints" / "last.ckpt") if resume else None,
        )
    return run_dir


def build_task(
    config: TrainConfig,
    skeleton: Skeleton,
    root_statistics: RootStatistics,
    train_takes: list[PreparedTake],
) -> L.LightningModule:
    """The Lightning task of ``config.family``."""
    if config.family == "diffusion":
        from llavataros.training.diffusion_task import build_diffusion_task

        return build_diffusion_task(config, skeleton, root_statistics, train_takes)
    return GestureTask(config, skeleton, root_statistics)


def window_frames(config: TrainConfig) -> tuple[int, int]:
    """``(frames per training window, context frames of them that are inputs only)``: the
    Transformer-XL reads ``window_seconds`` plus its lookahead; the diffusion model windows as
    its sampler does, ``lookbehind + window + lookahead``."""
    if config.family == "diffusion":
        c = config.diffusion
        return c.lookbehind + c.window + c.lookahead, c.lookbehind + c.lookahead
    lookahead = config.model.lookahead
    return int(round(config.data.window_seconds * config.data.fps)) + lookahead, lookahead


def _loader(takes: list[PreparedTake], config: TrainConfig, statistics, shuffle: bool):
    fps = config.data.fps
    window, context = window_frames(config)
    shortest = min(take.num_frames for take in takes)
    if shortest <= context:
        raise InputError(takes[0].name, f"takes must be longer than {context} frames at {fps} fps")
    window = min(window, shortest)
    stride = int(round(config.data.stride_seconds * fps))
    dataset = WindowDataset(takes, window, stride, statistics)
    max_shift = stride // 2 if config.data.shift_windows else 0
    sampler = EpochShuffleSampler(len(dataset), config.trainer.seed, max_shift) if shuffle else None
    return ResumableLoader(  # exact mid-epoch resume (training/resumable.py)
        dataset,
        batch_size=config.trainer.batch_size,
        sampler=sampler,
        num_workers=config.trainer.num_workers,
        collate_fn=_collate,
        drop_last=False,
    )


def _collate(items: list[dict]) -> dict:
    batch = {
        key: torch.stack([torch.as_tensor(item[key]) for item in items])
        for key in ("text", "text_mask", "audio", "speaker", "motion")
    }
    batch["take"] = [item["take"] for item in items]
    return batch


def _trainer(config: TrainConfig, run_dir: Path, metadata: dict, callbacks: list) -> L.Trainer:
    settings = config.trainer
    checkpoints = ModelCheckpoint(
        dirpath=run_dir / "checkpoints",
        every_n_train_steps=settings.checkpoint_every_n_steps,
        save_last=True,
        save_top_k=-1 if settings.keep_all_checkpoints else 1,
        monitor=None,
    )
    return L.Trainer(
        default_root_dir=run_dir,
        accelerator=settings.accelerator,
        devices=settings.devices,
        num_nodes=settings.num_nodes,
        strategy=settings.strategy,
        precision=settings.precision,
        max_epochs=settings.max_epochs,
        max_steps=settings.max_steps,
        max_time=None if settings.max_minutes is None else {"minutes": settings.max_minutes},
        gradient_clip_val=config.optimizer.gradient_clip,
        log_every_n_steps=settings.log_every_n_steps,
        check_val_every_n_epoch=settings.validate_every_n_epochs,
        logger=[
            CSVLogger(run_dir / "logs", name="csv"),  # version_N per (re)start
            TensorBoardLogger(run_dir / "logs", name="tensorboard"),
        ],
        callbacks=[checkpoints, ExportModel(run_dir, metadata), RestoreLoaderState(), *callbacks],
        plugins=[SafeCheckpointIO()],
        enable_progress_bar=settings.progress_bar,
        enable_model_summary=False,
        deterministic=True,
        num_sanity_val_steps=0,
    )


__all__ = ["GestureTask", "TrainConfig", "from_dict", "train"]
