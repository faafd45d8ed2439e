"""Pickle-free face model checkpoints: ``model.safetensors`` + ``model.json`` with
``"family": "face"`` (the same two-file layout as the gesture model's checkpoints).

``model.json`` holds ``format``, ``format_version``, ``family``, ``weights_sha256``,
``config`` (:meth:`FaceModelConfig.to_dict`) and whatever the trainer adds (``features``: the
audio feature settings the model was trained on; ``speakers``; ``train``; ``git_commit``).
Loading parses JSON and safetensors only; anything missing or mismatched is an
:class:`InputError` naming the file. Files appear only complete (written, then renamed).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from safetensors.torch import load_file, save_file

from llavataros.errors import InputError
from llavataros.models.face.config import FaceModelConfig
from llavataros.models.face.network import FaceModel

FORMAT = "llavataros-face"
FORMAT_VERSION = 1
FAMILY = "face"
WEIGHTS_NAME = "model.safetensors"
METADATA_NAME = "model.json"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def save_face_model(folder: str | Path, model: FaceModel, extra: dict[str, Any] | None = None):
    """Write ``folder/model.safetensors`` and ``folder/model.json``; returns the folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    weights, metadata = folder / WEIGHTS_NAME, folder / METADATA_NAME
    partial = weights.with_name(weights.name + ".partial")
    state = {name: tensor.detach().contiguous() for name, tensor in model.state_dict().items()}
    save_file(state, str(partial))
    info = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "family": FAMILY,
        "weights": WEIGHTS_NAME,
        "weights_sha256": _sha256(partial),
        "config": model.config.to_dict(),
        **(extra or {}),
    }
    json_partial = metadata.with_name(metadata.name + ".partial")
    json_partial.write_text(json.dumps(info, indent=1))
    os.replace(partial, weights)
    os.replace(json_partial, metadata)
    return folder


def load_face_model(folder: str | Path) -> tuple[FaceModel, dict[str, Any]]:
    """The model (eval mode) and its ``model.json`` metadata."""
    folder = Path(folder)
    weights, metadata = folder / WEIGHTS_NAME, folder / METADATA_NAME
    for path in (weights, metadata):
        if not path.is_file():
            raise InputError(path, "face model file not found")
    try:
        info = json.loads(metadata.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise InputError(metadata, f"not valid JSON ({error})") from None
    if info.get("family") != FAMILY or info.get("format") != FORMAT:
        raise InputError(metadata, f"not a face model (family {info.get('family')!r})")
    if info.get("weights_sha256") != _sha256(weights):
        raise InputError(weights, "weights do not match the checksum in model.json")
    model = FaceModel(FaceModelConfig.from_dict(info["config"]))
    try:
        model.load_state_dict(load_file(str(weights)), strict=True)
    except RuntimeError as error:
        raise InputError(weights, f"weights do not fit the config ({error})") from None
    return model.eval(), info
