"""What an evaluation scores against: the takes of a split with their ground truth, audio
onsets and trigger labels, the training statistics and the FGD extractor (SPEC section 5).

The takes of the split are those the model was trained against: ``RUN/run.json`` "splits"
when the model is a run folder, else :func:`~llavataros.data.index.split_records` on the data
folder (``DATA/split.json`` or the deterministic split of the training config).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from llavataros.data.index import (
    TakeRecord,
    index_takes,
    select_splits,
    split_records,
)
from llavataros.errors import InputError
from llavataros.eval import metrics
from llavataros.eval.onsets import audio_onsets
from llavataros.motion.take import Motion, load_take
from llavataros.speech.audio import SAMPLE_RATE, load_audio

if TYPE_CHECKING:
    from llavataros.models.checkpoint import ModelMetadata

SHIPPED_FGD_DIR = Path(__file__).resolve().parent.parent / "assets" / "fgd"
FGD_EPOCHS = 30  # epochs of an extractor trained on the fly (as `llavataros fgd-train`)


@dataclass(frozen=True)
class EvaluationTake:
    """One take to score: its files, ground-truth motion, audio length (s), audio onsets (s),
    the ground truth's BA and its trigger labels (None without ``gestures.json``)."""

    record: TakeRecord
    motion: Motion
    seconds: float
    onsets: np.ndarray
    ground_truth_beat_alignment: float
    triggers: list[dict] | None


@dataclass
class EvaluationContext:
    """What every system of one evaluation is scored against (built once, shared)."""

    data_dir: Path
    split: str
    takes: list[EvaluationTake]
    train_records: list[TakeRecord]
    train_motions: list[Motion]
    mean_training_speed: float  # m/s, the BA normaliser
    extractor: object  # FGDExtractor (torch is imported on demand)
    extractor_source: str
    notes: list[str] = field(default_factory=list)
    real_motions: list[Motion] | None = None  # real takes to score realism against
    _real_features: np.ndarray | None = None

    def real_features(self) -> np.ndarray:
        """FGD features of the ground-truth takes ``(n_windows, z)`` (computed once)."""
        if self._real_features is None:
            self._real_features = self.extractor.features([t.motion for t in self.takes])
        return self._real_features


# -- splits ----------------------------------------------------------------------------------


def run_folder(model: str | Path | None) -> Path | None:
    """The training run folder of ``model`` (the folder with ``run.json``), if it is one."""
    if model is None:
        return None
    from llavataros.models.checkpoint import TRAINING_SUFFIX

    path = Path(model)
    candidates = [path, path.parent]  # RUN, RUN/model or RUN/best
    if path.suffix == TRAINING_SUFFIX:
        candidates.append(path.parent.parent)  # RUN/checkpoints/NAME.ckpt
    for candidate in candidates:
        if (candidate / "run.json").is_file() and (
            (candidate / "model").is_dir() or (candidate / "best").is_dir()
        ):
            return candidate
    return None


def resolve_splits(
    data_dir: str | Path, model: str | Path | None = None, metadata: ModelMetadata | None = None
) -> tuple[dict[str, list[TakeRecord]], str]:
    """Takes of each split and where the split came from: the run's ``run.json`` when
    ``model`` is a run folder (or its ``model/``) trained on ``data_dir``, else
    ``split_records`` with the training config stored in the checkpoint ``metadata`` (the
    default config without one)."""
    data_dir = Path(data_dir)
    records = index_takes(data_dir)
    run = run_folder(model)
    listed = None
    if run is not None:
        run_file = run / "run.json"
        try:
            description = json.loads(run_file.read_text())
            listed = description["splits"]
        except (OSError, KeyError, TypeError, json.JSONDecodeError) as error:
            raise InputError(run_file, f"no readable 'splits' ({error})") from None
        trained_on = description.get("data_dir")
        if trained_on and Path(trained_on).resolve() != data_dir.resolve():
            listed = None  # another corpus: split it as training would
    if listed is not None:
        return select_splits(records, listed, run_file), f"the run's split ({run_file})"
    config = _training_config(metadata)
    origin = "split.json" if (data_dir / "split.json").is_file() else "the training config"
    splits = split_records(data_dir, records, config.split_fractions, config.split_seed)
    return splits, f"{origin} of {data_dir}"


def _training_config(metadata: ModelMetadata | None):
    from llavataros.configuration import from_dict
    from llavataros.training.config import TrainConfig

    stored = metadata.provenance.get("train_config") if metadata else None
    if isinstance(stored, dict):
        try:
            return from_dict(TrainConfig, stored).data
        except InputError:
            pass
    return TrainConfig().data


# -- context ---------------------------------------------------------------------------------


def build_context(
    data_dir: str | Path,
    split: str = "test",
    model: str | Path | None = None,
    fgd_extractor: str | Path | None = None,
    eval_dir: str | Path | None = None,
    metadata: ModelMetadata | None = None,
    fgd_epochs: int = FGD_EPOCHS,
) -> EvaluationContext:
    """Ground truth, training statistics and FGD extractor for scoring the ``split`` of
    ``data_dir`` (``"all"``: every take). With ``eval_dir`` every take of that folder is scored
    instead, against the training split of ``data_dir`` (e.g. a corpus of novel sentences)."""
    data_dir = Path(data_dir)
    splits, origin = resolve_splits(data_dir, model, metadata)
    notes = [f"split from {origin}"]
    if eval_dir is not None:
        records, split = index_takes(eval_dir), f"all of {eval_dir}"
    elif split == "all":
        records = sorted((r for s in splits.values() for r in s), key=lambda r: r.name)
    elif split in splits:
        records = splits[split]
    else:
        raise InputError(None, f"unknown split {split!r}; choose train, validation, test or all")
    if not records:
        raise InputError(data_dir, f"no takes in the {split} split")
    if not splits["train"]:
        raise InputError(data_dir, "no takes in the training split (needed for the BA speed)")

    train_motions = [load_take(r.motion_path) for r in splits["train"]]
    mean_speed = metrics.training_mean_speed(train_motions)
    takes = [_evaluation_take(record, mean_speed) for record in records]
    extractor, source = _fgd_extractor(
        fgd_extractor, data_dir, splits["train"], train_motions, records, fgd_epochs
    )
    notes.append(f"FGD extractor: {source}")
    notes.append("models are driven by each take's own timed words (no speech recognition)")
    return EvaluationContext(
        data_dir,
        split,
        takes,
        splits["train"],
        train_motions,
        mean_speed,
        extractor,
        source,
        notes,
    )


def _evaluation_take(record: TakeRecord, mean_speed: float) -> EvaluationTake:
    motion = load_take(record.motion_path)
    samples = load_audio(record.audio_path)
    onsets = audio_onsets(samples, SAMPLE_RATE)
    truth_ba = metrics.beat_alignment(motion, None, onsets, mean_speed)
    return EvaluationTake(
        record, motion, len(samples) / SAMPLE_RATE, onsets, truth_ba, _triggers(record)
    )


def _triggers(record: TakeRecord) -> list[dict] | None:
    """Trigger words of ``NAME.gestures.json`` (``triggers``, else the gesture labels)."""
    if record.gestures_path is None:
        return None
    try:
        data = json.loads(record.gestures_path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputError(record.gestures_path, f"not valid JSON ({error})") from None
    items = data.get("triggers", data.get("gestures")) if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise InputError(record.gestures_path, "no 'triggers' or 'gestures' list")
    return items


def _fgd_extractor(
    given: str | Path | None,
    data_dir: Path,
    train_records: list[TakeRecord],
    train_motions: list[Motion],
    scored: list[TakeRecord],
    epochs: int,
):
    """The given extractor; else the shipped one when the corpus is the synthetic one (takes
    with ``gestures.json``); else one trained on the training split (cached)."""
    from llavataros.eval.fgd import FGDExtractor, train_fgd_extractor

    if given is not None:
        return FGDExtractor.load(given), f"given ({given})"
    synthetic = all(r.gestures_path is not None for r in [*train_records, *scored])
    if synthetic and (SHIPPED_FGD_DIR / "config.json").is_file():
        return FGDExtractor.load(SHIPPED_FGD_DIR), "shipped for the synthetic corpus"
    files = sorted(
        (r.name, r.motion_path.stat().st_size, r.motion_path.stat().st_mtime_ns)
        for r in train_records
    )  # a regenerated corpus gets a new extractor
    digest = hashlib.sha256(json.dumps([files, epochs]).encode()).hexdigest()[:16]
    cached = data_dir / ".cache" / "fgd" / digest
    source = f"trained on the training split ({len(train_records)} takes, {epochs} epochs)"
    if (cached / "config.json").is_file():
        return FGDExtractor.load(cached), f"{source}, cached in {cached}"
    extractor = train_fgd_extractor(train_motions, epochs=epochs, seed=0)
    extractor.save(cached)
    return extractor, f"{source}, saved to {cached}"
