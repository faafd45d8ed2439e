"""Training with Lightning: run folder, exact resume, DDP agreement, config errors."""

from __future__ import annotations

import csv
import json
import logging
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from lightning.pytorch.callbacks import Callback

from llavataros.errors import InputError
from llavataros.eval.context import run_folder
from llavataros.models.checkpoint import load_checkpoint
from llavataros.models.safe_state import load_state, save_state
from llavataros.training.train import EpochShuffleSampler, read_config, train
from tiny_corpus import TINY_TRAINING, write_tiny_corpus

TINY = [*TINY_TRAINING, "trainer.log_every_n_steps=1"]


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory) -> Path:
    return write_tiny_corpus(tmp_path_factory.mktemp("tiny"), takes=5, seconds=6.0)


def step_losses(run: Path) -> dict[int, float]:
    losses = {}
    for path in sorted((run / "logs" / "csv").glob("*/metrics.csv")):
        for row in csv.DictReader(path.open()):
            if row.get("train_loss_step"):
                losses[int(row["step"])] = float(row["train_loss_step"])
    return losses


class CrashAtStep(Callback):
    def __init__(self, step: int):
        self.step = step

    def on_train_batch_start(self, trainer, *args):
        if trainer.global_step == self.step:
            raise RuntimeError("simulated crash")


@pytest.mark.slow
def test_resume_after_crash_continues_the_loss_curve_exactly(tiny_data, tmp_path):
    settings = [*TINY, "trainer.max_epochs=4", "trainer.checkpoint_every_n_steps=3"]
    whole = train(tiny_data, tmp_path / "whole", overrides=settings)
    with pytest.raises(RuntimeError, match="simulated crash"):
        train(tiny_data, tmp_path / "broken", overrides=settings, extra_callbacks=[CrashAtStep(6)])
    resumed = train(tiny_data, tmp_path / "broken", resume=True)

    expected, got = step_losses(whole), step_losses(resumed)
    assert len(expected) == 12 and sorted(got) == sorted(expected)
    assert got == pytest.approx(expected, rel=1e-6)
    assert expected[11] < expected[0]  # it learns

    for folder in ("model", "best"):
        model, metadata = load_checkpoint(resumed / folder)
        assert metadata.family == "llanimation" and metadata.corpus_fps == 60.0
        assert set(metadata.speakers.names) >= {"Neutral", "Happy"}
        assert model.config.text_dim == 384 and model.config.fps == 30.0
    saved = (resumed / "config.yaml").read_text()
    assert "fusion: cross" in saved
    run = json.loads((resumed / "run.json").read_text())
    assert sum(len(names) for names in run["splits"].values()) == 5
    assert not any((resumed / "checkpoints").glob("*.pt"))  # pickle-free state only


@pytest.mark.slow
def test_trainer_checkpoints_load_for_inference_with_the_runs_metadata(tiny_data, tmp_path):
    run = train(
        tiny_data,
        tmp_path / "run",
        overrides=[
            *TINY,
            "trainer.max_epochs=3",
            "trainer.checkpoint_every_n_steps=3",
            "trainer.keep_all_checkpoints=true",
        ],
    )
    final, final_metadata = load_checkpoint(run / "model")
    last, metadata = load_checkpoint(run / "checkpoints" / "last.ckpt")
    assert metadata.provenance["step"] == final_metadata.provenance["step"] and metadata.skeleton
    assert "weights_sha256" not in metadata.provenance
    assert metadata.provenance["checkpoint"].endswith("last.ckpt")
    weights = last.state_dict()
    assert all(torch.equal(tensor, weights[name]) for name, tensor in final.state_dict().items())
    assert run_folder(run / "checkpoints" / "last.ckpt") == run  # evaluate finds the split
    steps = {int(p.stem.split("step=")[1]): p for p in run.glob("checkpoints/epoch=*.ckpt")}
    assert len(steps) == 3  # keep_all_checkpoints: steps 3, 6 and 9
    early, early_metadata = load_checkpoint(steps[min(steps)])
    assert early_metadata.provenance["step"] == min(steps) < metadata.provenance["step"]
    assert not torch.equal(early.head.weight, final.head.weight)
    state = load_state(run / "checkpoints" / "last.ckpt")
    state["state_dict"]["model.head.bias"] += 1.0  # the checkpoint's weights, not model/'s
    save_state(state, run / "checkpoints" / "edited.ckpt")
    edited, _ = load_checkpoint(run / "checkpoints" / "edited.ckpt")
    assert torch.allclose(edited.head.bias, final.head.bias + 1.0)

    lonely = tmp_path / "lonely" / "checkpoints"
    lonely.mkdir(parents=True)
    for source in run.glob("checkpoints/last.ckpt*"):
        shutil.copy(source, lonely / source.name)
    with pytest.raises(InputError, match="needs its run's model/ or best/"):
        load_checkpoint(lonely / "last.ckpt")


def test_unknown_or_wrong_config_values_fail_clearly(tmp_path):
    with pytest.raises(InputError, match="unknown key"):
        read_config(None, ["model.wdith=3"])
    with pytest.raises(InputError, match="not one of"):
        read_config(None, ["model.fusion=sum"])
    config = tmp_path / "bad.yaml"
    config.write_text("optimizer:\n  learning_rate: fast\n")
    with pytest.raises(InputError, match="bad.yaml"):
        read_config(config, [])


def test_resume_without_checkpoint_and_reuse_of_a_run_folder_fail(tiny_data, tmp_path):
    with pytest.raises(InputError, match="nothing to resume"):
        train(tiny_data, tmp_path / "empty", resume=True)
    (tmp_path / "used" / "checkpoints").mkdir(parents=True)
    with pytest.raises(InputError, match="already has checkpoints"):
        train(tiny_data, tmp_path / "used", overrides=TINY)


@pytest.mark.slow
def test_two_process_ddp_on_cpu_ranks_agree(tiny_data, tmp_path):
    run = tmp_path / "ddp"
    command = [
        sys.executable,
        "-m",
        "llavataros.cli",
        "train",
        "--data",
        str(tiny_data),
        "--out",
        str(run),
    ]
    for item in [*TINY, "trainer.max_steps=3", "trainer.devices=2", "trainer.strategy=ddp"]:
        command += ["--set", item]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    ranks = [json.loads(p.read_text()) for p in sorted((run / "ranks").glob("rank-*.json"))]
    assert len(ranks) == 2
    assert ranks[0] == ranks[1] and ranks[0]["step"] == 3


@pytest.mark.parametrize("name", ["default.yaml", "paper.yaml"])
def test_shipped_configs_parse(name):
    config = read_config(Path(__file__).resolve().parents[1] / "configs" / name, [])
    assert config.model.fusion == "cross"
    assert config.model.width % config.model.heads == 0


def test_epoch_sampler_shifts_windows_anew_each_epoch_and_reproducibly():
    sampler = EpochShuffleSampler(50, seed=3, max_shift=6)
    first = list(sampler)
    assert sorted(index for index, _ in first) == list(range(50))
    shifts = np.array([shift for _, shift in first])
    assert shifts.min() >= -6 and shifts.max() <= 6 and len(set(shifts.tolist())) > 5
    assert list(sampler) == first  # same epoch, same draws (exact resume)
    sampler.set_epoch(1)
    assert list(sampler) != first
    plain = EpochShuffleSampler(50, seed=3)
    assert sorted(plain) == list(range(50))  # no shift: plain indices


@pytest.mark.slow
def test_resume_from_a_checkpoint_in_the_middle_of_an_epoch_is_exact(tiny_data, tmp_path):
    # 3 steps per epoch; the checkpoint at step 4 falls after the first batch of epoch 1.
    settings = [*TINY, "trainer.max_epochs=3", "trainer.checkpoint_every_n_steps=4"]
    whole = train(tiny_data, tmp_path / "whole", overrides=settings)
    with pytest.raises(RuntimeError, match="simulated crash"):
        train(tiny_data, tmp_path / "broken", overrides=settings, extra_callbacks=[CrashAtStep(5)])
    assert load_state(tmp_path / "broken" / "checkpoints" / "last.ckpt")["global_step"] == 4
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*not resumable.*")
        resumed = train(tiny_data, tmp_path / "broken", resume=True)

    expected, got = step_losses(whole), step_losses(resumed)
    assert len(expected) == 9 and sorted(got) == sorted(expected)
    assert got == expected  # exactly
    final, _ = load_checkpoint(whole / "model")
    again, _ = load_checkpoint(resumed / "model")
    weights = again.state_dict()
    assert all(torch.equal(tensor, weights[name]) for name, tensor in final.state_dict().items())


def test_training_keeps_lightnings_warnings_but_not_its_info_chatter(tiny_data, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    train(tiny_data, tmp_path / "run", overrides=[*TINY, "trainer.max_steps=1"])
    lightning = [r for r in caplog.records if r.name.startswith("lightning")]
    chatter = ("Tip", "GPU available", "TPU available", "Loading `train_dataloader`")
    assert not [r.getMessage() for r in lightning if any(c in r.getMessage() for c in chatter)]
    assert all(r.levelno >= logging.WARNING for r in lightning)
    assert logging.getLogger("lightning.pytorch.utilities.rank_zero").level == logging.NOTSET
