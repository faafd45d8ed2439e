"""Progressive distillation of a trained diffusion model into a few-step one (Salimans & Ho
2022, algorithm 2; ``llavataros distill``).

Each round halves the sampling steps: a student, initialised as a copy of the teacher, learns
to make in one DDIM step of ``1 / N`` what two teacher steps of ``1 / (2 N)`` make
(:func:`~llavataros.models.diffusion.loss.distillation_loss`); the student then teaches the next
round, from the model's own step count down to ``steps_to``. The teacher's guidance scale is
distilled in (the student samples with guidance 1). Training windows come from the training
split of the run's corpus, cut as the sampler cuts them.

Limit: the distillation windows start from noise only (no known prefix frames), so what the
student learns about continuing the previous window is what the teacher knew when it was
copied.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import torch
from torch.utils.data import DataLoader, RandomSampler

from llavataros.configuration import from_dict, save_yaml
from llavataros.data.dataset import WindowDataset, prepare_corpus
from llavataros.data.index import TakeRecord, index_takes, select_splits, split_records
from llavataros.errors import InputError
from llavataros.features.build import build_extractor
from llavataros.models.checkpoint import (
    RESERVED,
    ModelMetadata,
    load_checkpoint,
    resolve_model_path,
    save_checkpoint,
)
from llavataros.models.diffusion.loss import distillation_loss
from llavataros.models.diffusion.model import DiffusionModel
from llavataros.models.diffusion.network import Speech
from llavataros.models.diffusion.sampling import guided
from llavataros.models.diffusion.windows import default_sampler, network_denoiser
from llavataros.training.config import TrainConfig
from llavataros.training.diffusion_task import window_batch

Batch = tuple[torch.Tensor, Speech, torch.Tensor]  # motion (b, n, m), speech, speaker (b,)


def halvings(steps_from: int, steps_to: int) -> list[int]:
    """Student step counts of the rounds: ``steps_from / 2, ..., steps_to``."""
    if steps_to < 1 or steps_from <= steps_to:
        raise InputError(None, f"cannot distil {steps_from} sampling steps into {steps_to}")
    rounds, steps = [], steps_from
    while steps > steps_to and steps % 2 == 0:
        steps //= 2
        rounds.append(steps)
    if steps != steps_to:
        raise InputError(
            None, f"{steps_from} steps do not halve down to {steps_to} (need steps_to x 2^k)"
        )
    return rounds


def distill(
    teacher: DiffusionModel,
    next_batch: Callable[[], Batch],
    steps_to: int = 1,
    steps_from: int | None = None,
    iterations: int = 200,
    learning_rate: float = 1e-4,
    guidance: float | None = None,
    generator: torch.Generator | None = None,
    log: Callable[[str], None] | None = None,
) -> DiffusionModel:
    """A student sampling in ``steps_to`` steps what ``teacher`` samples in ``steps_from``
    (default: its configured steps), ``iterations`` Adam steps per halving round.
    ``guidance`` (default: the teacher's) is distilled in. The teacher is not changed."""
    steps_from = steps_from or teacher.sampler.steps
    guidance = teacher.sampler.guidance if guidance is None else guidance
    for student_steps in halvings(steps_from, steps_to):
        student = copy.deepcopy(teacher).train().requires_grad_(True)
        optimiser = torch.optim.Adam(student.parameters(), lr=learning_rate)
        total = 0.0
        for _ in range(iterations):
            motion, speech, speaker = next_batch()
            predict = guided(network_denoiser(teacher.eval(), speech, speaker), guidance)
            loss = distillation_loss(
                student, predict, motion, speech, speaker, student_steps, generator
            )
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total += float(loss.detach())
        if log is not None:
            log(f"{2 * student_steps} -> {student_steps} steps: mean loss {total / iterations:.4f}")
        config = dataclasses.replace(student.config, steps=student_steps, guidance=1.0)
        student.config = config
        student.sampler = default_sampler(config)
        teacher = student.eval().requires_grad_(False)
        guidance = 1.0  # later rounds copy a student that already includes it
    return teacher


def _run_description(model: str | Path) -> dict | None:
    """``run.json`` of the run ``model`` belongs to (RUN or RUN/model), if any."""
    path = Path(model)
    for folder in (path, path.parent):
        if (folder / "run.json").is_file():
            return json.loads((folder / "run.json").read_text())
    return None


def training_batches(
    metadata: ModelMetadata,
    config: TrainConfig,
    data_dir: Path,
    records: list[TakeRecord],
    batch_size: int,
    seed: int,
) -> Callable[[], Batch]:
    """An endless source of random training windows of the takes ``records``."""
    c = metadata.config
    extractor = build_extractor(
        c.fps,
        metadata.features.text_model,
        metadata.features.audio_model,
        config.data.cache_dir or data_dir / ".cache",
    )
    takes = prepare_corpus(records, extractor, c.fps, vocabulary=metadata.speakers)
    window = c.lookbehind + c.window + c.lookahead
    stride = max(1, int(round(config.data.stride_seconds * c.fps)))
    dataset = WindowDataset(takes, window, stride, metadata.audio_statistics)
    sampler = RandomSampler(dataset, generator=torch.Generator().manual_seed(seed))
    loader = DataLoader(dataset, batch_size=batch_size, sampler=sampler, drop_last=True)

    def batches() -> Iterator[Batch]:
        while True:
            for batch in loader:
                yield window_batch(batch, c, metadata.root_statistics)

    iterator = batches()
    return lambda: next(iterator)


def distill_run(
    model: str | Path,
    out_dir: str | Path,
    steps_to: int = 1,
    data_dir: str | Path | None = None,
    steps_from: int | None = None,
    iterations: int = 200,
    batch_size: int = 32,
    learning_rate: float = 1e-4,
    seed: int = 0,
    log: Callable[[str], None] | None = print,
) -> Path:
    """``llavataros distill``: distil the diffusion model ``model`` (a run folder or model
    folder) into ``out_dir``, a run folder (``model/``, ``run.json``, ``config.yaml``) that
    ``animate``/``evaluate --model`` take. The corpus is the run's unless ``data_dir`` is
    given; ``steps_from`` (default: the model's steps) is the teacher's step count. Returns
    ``out_dir``."""
    source = resolve_model_path(model)
    teacher, metadata = load_checkpoint(source)
    if metadata.family != "diffusion":
        raise InputError(source, f"distill needs a diffusion model; this one is {metadata.family}")
    out_dir = Path(out_dir)
    if (out_dir / "model").exists():
        raise InputError(out_dir, "already holds a model (choose a new --out)")
    run = _run_description(model)
    stored = metadata.provenance.get("train_config")
    config = from_dict(TrainConfig, stored) if isinstance(stored, dict) else TrainConfig()
    if data_dir is None:
        if run is None or not run.get("data_dir"):
            raise InputError(source, "not part of a training run: give the corpus with --data")
        data_dir = run["data_dir"]
    data_dir = Path(data_dir)
    same_corpus = run is not None and Path(run.get("data_dir", "")).resolve() == data_dir.resolve()
    records = index_takes(data_dir)
    if same_corpus and "splits" in run:
        splits = select_splits(records, run["splits"], data_dir)
    else:
        fractions, split_seed = config.data.split_fractions, config.data.split_seed
        splits = split_records(data_dir, records, fractions, split_seed)
    if not splits["train"]:
        raise InputError(data_dir, "no takes in the training split")
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    next_batch = training_batches(metadata, config, data_dir, splits["train"], batch_size, seed)
    student = distill(
        teacher,
        next_batch,
        steps_to,
        steps_from,
        iterations=iterations,
        learning_rate=learning_rate,
        generator=generator,
        log=log,
    )
    settings = {
        "teacher": str(source),
        "steps_from": steps_from or teacher.sampler.steps,
        "steps_to": steps_to,
        "guidance": teacher.sampler.guidance,
        "iterations_per_round": iterations,
        "batch_size": batch_size,
        "learning_rate": learning_rate,
        "seed": seed,
    }
    extra = {
        key: value
        for key, value in metadata.to_dict().items()
        if key not in (*RESERVED, "git_commit")
    }
    extra["distillation"] = settings
    save_checkpoint(out_dir / "model", student, student.config, extra)
    description = dict(
        run or {},
        data_dir=str(data_dir.resolve()),
        splits={split: [record.name for record in chosen] for split, chosen in splits.items()},
        distillation=settings,
    )
    (out_dir / "run.json").write_text(json.dumps(description, indent=1) + "\n")
    save_yaml(dataclasses.replace(config, diffusion=student.config), out_dir / "config.yaml")
    return out_dir
