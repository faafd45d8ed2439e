"""Training the diffusion family through ``llavataros train`` (training/diffusion_task.py),
sampling options, and progressive distillation (training/distill.py, ``llavataros distill``)."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from lightning.pytorch.callbacks import Callback
from safetensors.torch import load_file

from diffusion_helpers import TOY, TOY_BATCH, TOY_FRAMES, toy_batch, toy_teacher
from llavataros.cli import main
from llavataros.errors import InputError
from llavataros.models.checkpoint import load_model
from llavataros.models.diffusion.windows import SamplerSettings, generate
from llavataros.motion.kinematics import wrist_speed
from llavataros.motion.take import load_take
from llavataros.pipeline.animate import Animator
from llavataros.training.diffusion_task import DiffusionTask, ema_decay_at
from llavataros.training.distill import distill, halvings
from llavataros.training.train import read_config, train
from tiny_corpus import write_tiny_corpus

TINY_DIFFUSION = [
    "family=diffusion",
    "diffusion.width=32",
    "diffusion.depth=1",
    "diffusion.heads=2",
    "diffusion.window=30",
    "diffusion.overlap=6",
    "diffusion.lookahead=4",
    "diffusion.steps=4",
    "diffusion_training.ema_decay=0.9",
    "data.stride_seconds=0.5",
    "optimizer.learning_rate=0.003",
    "optimizer.warmup_steps=5",
    "trainer.batch_size=2",
    "trainer.max_epochs=12",
    "trainer.log_every_n_steps=1",
    "trainer.progress_bar=false",
]
CONFIGS = Path(__file__).resolve().parents[1] / "configs"


class KeepTask(Callback):
    """Keeps the trained task so the test can compare its weights with the saved ones."""

    task: DiffusionTask | None = None

    def on_train_end(self, trainer, task):
        self.task = task


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory) -> Path:
    return write_tiny_corpus(tmp_path_factory.mktemp("tiny"), takes=5, seconds=6.0)


@pytest.fixture(scope="module")
def diffusion_run(tiny_data, tmp_path_factory) -> tuple[Path, DiffusionTask]:
    keep = KeepTask()
    run = train(
        tiny_data,
        tmp_path_factory.mktemp("runs") / "diffusion",
        overrides=TINY_DIFFUSION,
        extra_callbacks=[keep],
    )
    return run, keep.task


def epoch_losses(run: Path) -> list[float]:
    rows = [
        row
        for path in sorted((run / "logs" / "csv").glob("*/metrics.csv"))
        for row in csv.DictReader(path.open())
    ]
    return [float(row["train_loss_epoch"]) for row in rows if row.get("train_loss_epoch")]


def test_training_lowers_the_loss(diffusion_run):
    run, _ = diffusion_run
    losses = epoch_losses(run)
    assert len(losses) == 12
    # The head starts at zero, so the first loss is E[v^2] = 1 (motion at unit scale); 1 is
    # also the best any model can do that ignores how frames and channels go together (for
    # independent unit-variance data E[v | z_t] = 0). Below it, the model has learnt the
    # smoothness of the motion.
    assert losses[0] == pytest.approx(1.0, abs=0.1)
    assert np.mean(losses[-3:]) < 0.9 and max(losses[-3:]) < losses[0] - 0.05


def test_the_saved_model_is_the_average_of_the_weights(diffusion_run):
    run, task = diffusion_run
    saved = load_file(str(run / "model" / "model.safetensors"))
    average, raw = task.model.state_dict(), task.network.state_dict()
    assert set(saved) == set(average) == set(raw)
    for name in saved:
        torch.testing.assert_close(saved[name], average[name], rtol=0, atol=0)
    differing = [name for name in saved if not torch.equal(saved[name], raw[name])]
    assert len(differing) > len(saved) // 2  # EMA and raw weights are not the same
    assert ema_decay_at(0, 0.999) == pytest.approx(0.1) and ema_decay_at(10**6, 0.999) == 0.999


def test_the_run_loads_and_animates_with_seeds(diffusion_run, tiny_data):
    run, _ = diffusion_run
    model, metadata = load_model(run)
    assert metadata.family == "diffusion" and model.config.steps == 4
    assert model.config.text_dim == 384 and model.config.num_speakers == len(metadata.speakers)
    animator = Animator.load(run)
    take = tiny_data / "001_Neutral_0_x_1_0"
    words = take.with_suffix(".words.json")

    def motion(seed: int, eta: float = 0.0) -> np.ndarray:
        animator.set_sampling(seed=seed, steps=2, eta=eta)
        return animator.animate(take.with_suffix(".wav"), words, fps=30).motion.to_array()

    first = motion(1)
    assert first.shape == (180, 9, 7) and np.isfinite(first).all()
    np.testing.assert_allclose(np.linalg.norm(first[..., 3:], axis=-1), 1.0, atol=1e-4)
    np.testing.assert_array_equal(motion(1), first)  # same seed, same motion
    other = motion(2)
    wrists = [5, 8]
    assert np.abs(other[:, wrists, :3] - first[:, wrists, :3]).mean() > 1e-3  # seeds differ
    ancestral = motion(1, eta=1.0)  # fresh noise every step, drawn from the seed's generator
    np.testing.assert_array_equal(motion(1, eta=1.0), ancestral)
    assert np.abs(ancestral[:, wrists, :3] - first[:, wrists, :3]).mean() > 1e-4


def test_the_run_records_its_training_takes_wrist_speeds(diffusion_run, tiny_data):
    run, _ = diffusion_run
    metadata = load_model(run)[1]
    names = json.loads((run / "run.json").read_text())["splits"]["train"]
    speeds = np.concatenate(
        [
            wrist_speed(motion.positions, motion.fps).max(axis=1)
            for motion in (load_take(tiny_data / f"{name}.npy") for name in names)
        ]
    )
    limit = metadata.speed_limit
    assert limit.slow == pytest.approx(np.quantile(speeds, 0.99))
    assert limit.fast == pytest.approx(max(np.quantile(speeds, 0.999), limit.slow + 0.05))
    assert Animator.load(run).speed_limit.slow == limit.slow  # the family's limit, at them


def test_sampling_options_are_refused_for_the_transformer_xl(tiny_data, capsys):
    take = tiny_data / "001_Neutral_0_x_1_0"
    options = (["--seed", "1"], ["--steps", "4"], ["--guidance", "2"], ["--temperature", "0.5"])
    options += (["--eta", "1"],)
    for option in options:
        code = main(
            [
                "animate",
                str(take.with_suffix(".wav")),
                "--transcript",
                str(take.with_suffix(".words.json")),
                "--model",
                "llanimation",
                "--no-video",
                *option,
            ]
        )
        error = capsys.readouterr().err
        assert code == 2 and error.count("\n") == 1
        assert f"{option[0]}: only a model that samples" in error and "llanimation" in error
    code = main(["evaluate", "--data", str(tiny_data), "--model", "llanimation", "--steps", "2"])
    error = capsys.readouterr().err
    assert code == 2 and "--steps: only a model that samples" in error


def test_bad_sampling_values_give_one_line(diffusion_run, tiny_data, capsys, tmp_path):
    run, _ = diffusion_run
    take = tiny_data / "001_Neutral_0_x_1_0"
    args = ["animate", str(take.with_suffix(".wav")), "--model", str(run), "--no-video"]
    words = ["--transcript", str(take.with_suffix(".words.json")), "-o", str(tmp_path)]
    assert main([*args, *words, "--steps", "0"]) == 2
    assert "steps must be a positive integer" in capsys.readouterr().err
    assert main([*args, *words, "--eta", "1.5"]) == 2
    error = capsys.readouterr().err
    assert "eta must be in [0, 1]" in error and error.count("\n") == 1
    assert not list(tmp_path.iterdir())


def test_shipped_diffusion_configs_parse():
    words = read_config(CONFIGS / "diffusion.yaml", [])
    audio = read_config(CONFIGS / "diffusion_audio.yaml", [])
    assert words.family == audio.family == "diffusion"
    assert words.diffusion.use_text and not audio.diffusion.use_text
    assert words.diffusion.prediction == "x0" and words.diffusion.schedule == "cosine"
    assert read_config(None, []).family == "llanimation"  # old configs mean what they did


@pytest.mark.parametrize(
    "override, message",
    [
        ("diffusion_training.acceleration_weight=-1", "acceleration_weight must be >= 0"),
        ("diffusion_training.snr_cap=0.5", "snr_cap must be 0 (off) or >= 1"),
        ("diffusion_training.velocity_weight=-0.5", "velocity_weight must be >= 0"),
        ("diffusion_training.ema_decay=1", "ema_decay must be in [0, 1)"),
    ],
)
def test_bad_diffusion_training_settings_are_refused(override, message):
    with pytest.raises(InputError, match=re.escape(message)):
        read_config(CONFIGS / "diffusion.yaml", [override])


def test_halvings():
    assert halvings(8, 1) == [4, 2, 1] and halvings(8, 2) == [4, 2] and halvings(2, 1) == [1]
    with pytest.raises(Exception, match="do not halve"):
        halvings(6, 4)
    with pytest.raises(Exception, match="cannot distil"):
        halvings(2, 2)


def test_distilled_one_step_matches_the_teachers_two_steps():
    """Known answer: one DDIM step of the undistilled teacher gives the posterior mean (about 0
    between the modes +1 and -1); the distilled student's one step lands where the teacher's
    two steps land from the same noise."""
    teacher = toy_teacher()
    before = [p.clone() for p in teacher.parameters()]
    generator = torch.Generator().manual_seed(5)
    student = distill(
        teacher,
        lambda: toy_batch(generator),
        steps_to=1,
        steps_from=2,
        iterations=150,
        learning_rate=1e-3,
        generator=generator,
    )
    assert all(torch.equal(a, b) for a, b in zip(before, teacher.parameters(), strict=True))
    assert student.sampler.steps == student.config.steps == 1

    audio = torch.zeros(TOY_BATCH * 4, TOY_FRAMES, TOY.audio_dim)
    speaker = torch.zeros(len(audio), dtype=torch.long)

    def sample(network, steps):
        return generate(network, None, None, audio, speaker, SamplerSettings(steps=steps, seed=9))

    target = sample(teacher, 2)
    distilled = (sample(student, 1) - target).square().mean()
    undistilled = (sample(teacher, 1) - target).square().mean()
    assert distilled < 0.25 * undistilled


@pytest.mark.slow
def test_distill_command_writes_a_run_that_animates(diffusion_run, tiny_data, tmp_path, capsys):
    run, _ = diffusion_run
    out = tmp_path / "distilled"
    args = ["--model", str(run), "--out", str(out), "--steps-to", "1", "--steps-from", "4"]
    assert main(["distill", *args, "--iterations", "3", "--batch-size", "4"]) == 0
    model, metadata = load_model(out)
    assert metadata.family == "diffusion" and model.config.steps == 1
    assert metadata.provenance["distillation"]["steps_from"] == 4
    assert (out / "run.json").is_file() and (out / "config.yaml").is_file()
    take = tiny_data / "002_Happy_0_x_1_0"
    result = Animator.load(out).animate(take.with_suffix(".wav"), take.with_suffix(".words.json"))
    assert result.motion.num_frames == 360  # 6 s at the corpus' 60 fps
    assert main(["distill", *args]) == 2  # the folder already holds a model
    assert "already holds a model" in capsys.readouterr().err
    assert main(["distill", "--model", "llanimation", "--out", str(tmp_path / "x")]) == 2
    assert "distill needs a diffusion model" in capsys.readouterr().err


def test_new_options_have_help(capsys):
    from llavataros.cli import build_parser

    expected = {
        "distill": ("--steps-to", "sampling steps of the result", "--iterations", "per halving"),
        "animate": ("--steps", "DDIM sampling steps", "--guidance", "guidance scale", "--seed"),
        "evaluate": ("--steps", "DDIM sampling steps", "--guidance", "same seed, the same"),
    }
    for command in ("animate", "evaluate"):
        expected[command] += ("--temperature", "scale of the initial noise", "--eta", "ancestral")
    for command, fragments in expected.items():
        with pytest.raises(SystemExit):
            build_parser().parse_args([command, "--help"])
        text = " ".join(capsys.readouterr().out.split())  # unwrapped
        assert all(fragment in text for fragment in fragments), command


class CrashAtStep(Callback):
    def __init__(self, step: int):
        self.step = step

    def on_train_batch_start(self, trainer, *args):
        if trainer.global_step == self.step:
            raise RuntimeError("simulated crash")


def step_losses(run: Path) -> dict[int, float]:
    return {
        int(row["step"]): float(row["train_loss_step"])
        for path in sorted((run / "logs" / "csv").glob("*/metrics.csv"))
        for row in csv.DictReader(path.open())
        if row.get("train_loss_step")
    }


@pytest.mark.slow
def test_resume_continues_exactly(tiny_data, tmp_path):
    """Noise, times, condition dropout and the EMA continue as if never stopped (stopped at
    an epoch boundary: exact resume from within an epoch is the trainer's, issue of its own)."""
    settings = [
        *TINY_DIFFUSION,
        "trainer.batch_size=8",
        "trainer.max_epochs=4",
        "trainer.checkpoint_every_n_steps=5",
    ]
    whole = train(tiny_data, tmp_path / "whole", overrides=settings)
    with pytest.raises(RuntimeError, match="simulated crash"):
        train(tiny_data, tmp_path / "broken", overrides=settings, extra_callbacks=[CrashAtStep(10)])
    resumed = train(tiny_data, tmp_path / "broken", resume=True)
    expected, got = step_losses(whole), step_losses(resumed)
    assert len(expected) == 20 and sorted(got) == sorted(expected)
    assert got == pytest.approx(expected, rel=1e-6)
    for name, tensor in load_file(str(whole / "model" / "model.safetensors")).items():
        resumed_weights = load_file(str(resumed / "model" / "model.safetensors"))
        torch.testing.assert_close(resumed_weights[name], tensor, rtol=1e-3, atol=1e-4)
