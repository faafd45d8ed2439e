"""Pickle-free model checkpoints: ``model.safetensors`` (weights) + ``model.json`` (the rest).

``model.json`` holds everything needed to rebuild and use the model (house style rule 2):

- ``format``, ``format_version``, ``family`` (the model family; absent in checkpoints written
  before families had names, which are ``llanimation``), ``weights`` (file name),
  ``weights_sha256``;
- ``config``: the family config's ``to_dict()``;
- ``package_version`` and ``git_commit`` (read from the source tree's ``.git`` files when the
  package runs from a checkout; None otherwise);
- what the trainer passes in ``extra_metadata``: ``skeleton``, ``root_statistics``,
  ``audio_statistics``, ``speakers`` (the speaker/style vocabulary, index = id),
  ``training_speakers``, ``default_speaker``, ``features`` (feature settings), ``corpus_fps``,
  ``speed_limit`` (the training takes' wrist speeds where output smoothing widens), plus
  provenance (``train_config``, ``epoch``, ``step``). Skeletons, dataclasses, objects with
  ``to_dict()``, NumPy arrays and paths are converted.

Loading returns a typed :class:`ModelMetadata`, checked field by field: a malformed field is
an :class:`InputError` naming the file.

Loading parses JSON and safetensors only (never unpickles), so a checkpoint from a stranger
cannot run code; any missing, corrupt or mismatched file is an :class:`InputError` naming it.
Files are written to temporary names and renamed, so a failed save leaves no partial files.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.torch import load_file, save_file

from llavataros.errors import InputError
from llavataros.features.speaker import SpeakerVocabulary
from llavataros.features.statistics import FeatureStatistics
from llavataros.models.base import DEFAULT_FAMILY, FAMILIES, SpeechModel, family_class
from llavataros.models.geometry import RootStatistics
from llavataros.motion.skeleton import Skeleton
from llavataros.motion.smoothing import SpeedLimit
from llavataros.motion.timing import CORPUS_FPS

FORMAT = "llavataros-llanimation"  # the format name of every checkpoint (kept for old readers)
FORMAT_VERSION = 2  # 2: model.json names its family
ASSETS = Path(__file__).resolve().parent.parent / "assets"
SHIPPED_MODELS = {  # --model FAMILY selects these
    "llanimation": ASSETS / "default",
    "diffusion": ASSETS / "diffusion",
}
# the model without --model: the diffusion model is better overall offline (README, "Which
# model"); the live server keeps the Transformer-XL, whose stream waits 0.7 s, not 3 s
DEFAULT_MODEL = "diffusion"
LIVE_MODEL = "llanimation"
WEIGHTS_NAME = "model.safetensors"
METADATA_NAME = "model.json"
TRAINING_SUFFIX = ".ckpt"  # trainer checkpoints in RUN/checkpoints (model.safe_state format)
RESERVED = (
    "format",
    "format_version",
    "family",
    "weights",
    "weights_sha256",
    "config",
    "package_version",
)


@dataclass(frozen=True)
class FeatureSettings:
    """Which text and audio models made the features (None: the bundled defaults), and the
    extractor's settings as it recorded them."""

    text_model: str | None = None
    audio_model: str | None = None
    settings: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ModelMetadata:
    """Everything ``model.json`` says about a model besides its weights.

    ``skeleton`` and ``root_statistics`` belong to body models, ``audio_statistics`` to models
    fed normalised audio features; ``provenance`` keeps the rest as stored (``git_commit``,
    ``package_version``, ``train_config``, ``epoch``, ``step``, ``checkpoint``, ...)."""

    family: str
    config: Any
    skeleton: Skeleton | None = None
    root_statistics: RootStatistics | None = None
    audio_statistics: FeatureStatistics | None = None
    speakers: SpeakerVocabulary = field(default_factory=SpeakerVocabulary)
    training_speakers: tuple[str, ...] = ()
    default_speaker: int = 0
    features: FeatureSettings = field(default_factory=FeatureSettings)
    corpus_fps: float = CORPUS_FPS
    speed_limit: SpeedLimit | None = None  # at the training takes' wrist speeds (body models)
    provenance: dict = field(default_factory=dict)

    @property
    def fps(self) -> float:
        """The model's frame rate."""
        return float(self.config.fps)

    @property
    def accepted_speakers(self) -> tuple[str, ...]:
        """The speakers this model takes: those of its training data (all names of the
        vocabulary for models that do not record them)."""
        return self.training_speakers or self.speakers.names

    @property
    def default_speaker_name(self) -> str:
        return self.speakers.names[self.default_speaker]

    def speaker_id(self, speaker: str | int | None) -> int:
        """The id of a speaker name or id (``"Bruno"``, ``20``, ``"20"``); None: the default
        speaker. A speaker this model was not trained on is an InputError listing the
        accepted ones."""
        if speaker is None:
            return self.default_speaker
        text = str(speaker)
        name = (
            self.speakers.names[int(text)]
            if text.isdigit() and int(text) < len(self.speakers)
            else text
        )
        if name not in self.accepted_speakers:
            raise InputError(
                None,
                f"speaker {speaker!r} is not one this model was trained on; it takes "
                f"{', '.join(self.accepted_speakers)} (default {self.default_speaker_name})",
            )
        return self.speakers.id(name)

    @classmethod
    def from_dict(cls, data: dict, source: str | Path) -> ModelMetadata:
        """Parse ``model.json`` data; a malformed field is an InputError naming ``source``."""
        family = data.get("family", DEFAULT_FAMILY)
        if family not in FAMILIES:
            raise InputError(
                source, f"unknown model family {family!r}; known: {', '.join(FAMILIES)}"
            )
        config_class = family_class(family).config_class
        try:
            config = config_class.from_dict(data["config"])
        except KeyError:
            raise InputError(source, "no model config in the checkpoint") from None
        except (InputError, TypeError) as error:
            raise InputError(
                source, f"invalid model config: {getattr(error, 'problem', error)}"
            ) from None
        known = {f.name for f in dataclasses.fields(cls)} - {"family", "config", "provenance"}
        parsers = {
            "skeleton": Skeleton.from_dict,
            "root_statistics": RootStatistics.from_dict,
            "audio_statistics": FeatureStatistics.from_dict,
            "speakers": SpeakerVocabulary.from_dict,
            "training_speakers": lambda names: tuple(str(name) for name in names),
            "default_speaker": int,
            "features": lambda value: FeatureSettings(**value),
            "corpus_fps": float,
            "speed_limit": SpeedLimit.from_dict,
        }
        values: dict[str, Any] = {}
        for name in known:
            if data.get(name) is None:
                continue
            try:
                values[name] = parsers[name](data[name])
            except (InputError, KeyError, TypeError, ValueError) as error:
                problem = getattr(error, "problem", None) or repr(error)
                raise InputError(source, f"invalid {name} in model.json ({problem})") from None
        provenance = {
            key: value
            for key, value in data.items()
            if key not in known and key not in ("family", "config")
        }
        metadata = cls(family, config, provenance=provenance, **values)
        if not 0 <= metadata.default_speaker < len(metadata.speakers):
            raise InputError(source, f"default_speaker {metadata.default_speaker} is unknown")
        return metadata

    def to_dict(self) -> dict:
        """The ``model.json`` layout (provenance keys at the top level, as stored)."""
        data = {"family": self.family, "config": self.config.to_dict()}
        for item in dataclasses.fields(self):
            if item.name not in ("family", "config", "provenance"):
                data[item.name] = to_json_value(getattr(self, item.name))
        return {**to_json_value(self.provenance), **data}


def checkpoint_paths(path: str | Path) -> tuple[Path, Path]:
    """``(weights, metadata)`` for a checkpoint folder, a ``.safetensors`` or a ``.json`` path."""
    path = Path(path)
    if path.suffix == ".safetensors":
        return path, path.with_suffix(".json")
    if path.suffix == ".json":
        return path.with_suffix(".safetensors"), path
    return path / WEIGHTS_NAME, path / METADATA_NAME


def to_json_value(value: Any) -> Any:
    """Plain JSON data from skeletons, dataclasses, ``to_dict`` objects, arrays and paths."""
    if hasattr(value, "to_dict") and callable(value.to_dict):
        return to_json_value(value.to_dict())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_json_value(dataclasses.asdict(value))
    if isinstance(value, dict):
        return {str(key): to_json_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_json_value(item) for item in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise TypeError(f"cannot store {type(value).__name__} in model.json")


def git_commit(start: Path | None = None) -> str | None:
    """The commit of the checkout holding this package, read from ``.git`` (no subprocess)."""
    folder = (start or Path(__file__)).resolve()
    for candidate in [folder, *folder.parents]:
        git = candidate / ".git"
        if git.is_file():  # worktree: "gitdir: PATH"
            text = git.read_text().strip()
            if not text.startswith("gitdir:"):
                return None
            git = (candidate / text.split(":", 1)[1].strip()).resolve()
        if git.is_dir():
            return _resolve_head(git)
    return None


def _resolve_head(git: Path) -> str | None:
    try:
        head = (git / "HEAD").read_text().strip()
        if not head.startswith("ref:"):
            return head or None
        ref = head.split(":", 1)[1].strip()
        common = git
        if (git / "commondir").is_file():
            common = (git / (git / "commondir").read_text().strip()).resolve()
        for base in (git, common):
            if (base / ref).is_file():
                return (base / ref).read_text().strip()
        packed = common / "packed-refs"
        if packed.is_file():
            for line in packed.read_text().splitlines():
                parts = line.split()
                if len(parts) == 2 and parts[1] == ref:
                    return parts[0]
    except OSError:
        return None
    return None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save_checkpoint(
    dir_or_path: str | Path,
    model: SpeechModel,
    config: Any,
    extra_metadata: dict[str, Any] | None = None,
) -> Path:
    """Write ``model.safetensors`` + ``model.json`` (into a folder, or beside a given
    ``.safetensors``/``.json`` path). Returns the metadata path."""
    if config != model.config:
        raise ValueError("config differs from the model's own config")
    extra = dict(extra_metadata or {})
    clashes = sorted(set(extra) & set(RESERVED))
    if clashes:
        raise ValueError(f"extra_metadata may not set {', '.join(clashes)}")
    from llavataros import __version__

    weights_path, metadata_path = checkpoint_paths(dir_or_path)
    weights_path.parent.mkdir(parents=True, exist_ok=True)
    state = {
        name: tensor.detach().cpu().contiguous() for name, tensor in model.state_dict().items()
    }
    metadata: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "family": model.family,
        "weights": weights_path.name,
        "config": config.to_dict(),
        "package_version": __version__,
        "git_commit": git_commit(),
    }
    metadata.update(to_json_value(extra))  # unstorable values fail before anything is written
    ModelMetadata.from_dict(metadata, metadata_path)  # so does metadata that would not load

    temporary_weights = weights_path.with_name(weights_path.name + ".tmp")
    temporary_metadata = metadata_path.with_name(metadata_path.name + ".tmp")
    try:
        save_file(state, str(temporary_weights), metadata={"format": FORMAT})
        metadata["weights_sha256"] = _sha256(temporary_weights)
        temporary_metadata.write_text(json.dumps(metadata, indent=2) + "\n")
        os.replace(temporary_weights, weights_path)
        os.replace(temporary_metadata, metadata_path)
    finally:
        temporary_weights.unlink(missing_ok=True)
        temporary_metadata.unlink(missing_ok=True)
    return metadata_path


def resolve_model_path(model: str | Path | None) -> Path:
    """A shipped model by family name (None: ``DEFAULT_MODEL``), a run folder (its ``model/``),
    a checkpoint folder or file, or a trainer checkpoint ``RUN/checkpoints/NAME.ckpt``."""
    if model is None or str(model) in SHIPPED_MODELS:
        path = SHIPPED_MODELS[str(model or DEFAULT_MODEL)]
        if not (path / METADATA_NAME).exists():
            raise InputError(path, "the shipped model is missing (reinstall the package)")
        return path
    path = Path(model)
    if (path / "model" / METADATA_NAME).exists():
        return path / "model"
    if not path.exists():
        raise InputError(path, "model not found (give a run folder or a checkpoint)")
    return path


def load_model(
    model: str | Path | None = None, device: str = "cpu"
) -> tuple[SpeechModel, ModelMetadata]:
    """A model of any family and its metadata, from anything :func:`resolve_model_path`
    takes."""
    return load_checkpoint(resolve_model_path(model), device)


def read_model_metadata(model: str | Path | None = None) -> ModelMetadata:
    """The metadata of anything :func:`load_model` takes, from JSON alone (no weights read):
    what can be checked before the work starts (speakers, frame rates, families)."""
    path = resolve_model_path(model)
    if path.suffix == TRAINING_SUFFIX:
        return _read_metadata(checkpoint_paths(_run_export(path))[1])
    return _read_metadata(checkpoint_paths(path)[1])


def _run_export(path: Path) -> Path:
    """The exported model folder of the run that holds trainer checkpoint ``path``."""
    run = path.parent.parent
    exported = next((run / name for name in ("model", "best") if (run / name).is_dir()), None)
    if exported is None:
        raise InputError(
            path, f"a trainer checkpoint needs its run's model/ or best/ in {run} (metadata)"
        )
    return exported


def load_checkpoint(path: str | Path, device: str = "cpu") -> tuple[SpeechModel, ModelMetadata]:
    """Rebuild the model from ``model.json`` and load ``model.safetensors`` (no unpickling).

    ``path`` is the checkpoint folder or either file, or a trainer checkpoint
    ``RUN/checkpoints/NAME.ckpt`` (see :func:`load_training_checkpoint`). Returns ``(model in
    eval mode, its metadata)``."""
    if Path(path).suffix == TRAINING_SUFFIX:
        return load_training_checkpoint(path, device)
    weights_path, metadata_path = checkpoint_paths(path)
    metadata = _read_metadata(metadata_path)
    weights_path = metadata_path.with_name(metadata.provenance.get("weights", weights_path.name))
    if not weights_path.is_file():
        raise InputError(weights_path, "model weights not found")
    expected = metadata.provenance.get("weights_sha256")
    if expected is not None and _sha256(weights_path) != expected:
        raise InputError(
            weights_path, "model weights do not match model.json (corrupt or replaced file)"
        )
    try:
        state = load_file(str(weights_path), device=device)
    except Exception as error:  # noqa: BLE001 - safetensors raises several types
        raise InputError(weights_path, f"not readable safetensors weights ({error})") from None
    model = _model_with_weights(metadata, state, weights_path, "the model config")
    return model.to(device).eval(), metadata


def load_training_checkpoint(
    path: str | Path, device: str = "cpu"
) -> tuple[SpeechModel, ModelMetadata]:
    """The model of a trainer checkpoint ``RUN/checkpoints/NAME.ckpt`` (to score a run part-way):
    its weights, with the metadata (config, skeleton, statistics) of the run's exported model,
    ``RUN/model`` or, while training still runs, ``RUN/best``. The metadata's ``epoch`` and
    ``step`` become the checkpoint's and ``checkpoint`` names it."""
    from llavataros.models.safe_state import load_state  # imports Lightning: only when needed

    path = Path(path)
    metadata = _read_metadata(checkpoint_paths(_run_export(path))[1])
    state = load_state(path, map_location=device)
    prefix = "model."
    weights = {
        name[len(prefix) :]: tensor
        for name, tensor in state.get("state_dict", {}).items()
        if name.startswith(prefix)
    }
    model = _model_with_weights(metadata, weights, path, "the run's model config")
    provenance = {
        key: value
        for key, value in metadata.provenance.items()
        if key not in ("weights", "weights_sha256")  # they describe the exported file
    }
    provenance.update(
        epoch=int(state.get("epoch", -1)),
        step=int(state.get("global_step", -1)),
        checkpoint=str(path),
    )
    return model.to(device).eval(), dataclasses.replace(metadata, provenance=provenance)


def _read_metadata(metadata_path: Path) -> ModelMetadata:
    """``model.json``, checked (format, version, family, config, every field)."""
    if not metadata_path.is_file():
        raise InputError(metadata_path, "model checkpoint metadata not found")
    try:
        metadata = json.loads(metadata_path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputError(metadata_path, f"not a readable model.json ({error})") from None
    found = metadata.get("format") if isinstance(metadata, dict) else None
    if found != FORMAT:
        raise InputError(metadata_path, f"not a {FORMAT} checkpoint (format {found!r})")
    if metadata.get("format_version", 0) > FORMAT_VERSION:
        raise InputError(
            metadata_path,
            f"checkpoint format version {metadata['format_version']}"
            f" is newer than this package reads ({FORMAT_VERSION})",
        )
    return ModelMetadata.from_dict(metadata, metadata_path)


def _model_with_weights(metadata: ModelMetadata, state: dict, source: Path, what: str):
    """A model of the metadata's family and config with ``state`` loaded strictly; a mismatch
    is an :class:`InputError` naming ``source`` (``what``: the config it was checked against)."""
    model = family_class(metadata.family)(metadata.config)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as error:
        first = str(error).strip().splitlines()[0]
        raise InputError(source, f"weights do not fit {what} ({first})") from None
    return model
