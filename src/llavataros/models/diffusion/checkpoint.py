"""Pickle-free checkpoints of the diffusion model: ``model.safetensors`` + ``model.json``.

Same layout as the Transformer-XL checkpoints (``model/checkpoint.py``) with format
``llavataros-diffusion``: ``config`` is :meth:`DiffusionConfig.to_dict`, the weights include
the motion normalisation buffers, extra metadata (skeleton, statistics, speakers, features) is
stored as given. Loading parses JSON and safetensors only.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from safetensors.torch import load_file, save_file

from llavataros.errors import InputError
from llavataros.model.checkpoint import checkpoint_paths, git_commit, to_json_value
from llavataros.models.diffusion.config import DiffusionConfig
from llavataros.models.diffusion.network import DiffusionDenoiser

FORMAT = "llavataros-diffusion"
FORMAT_VERSION = 1
RESERVED = ("format", "format_version", "weights", "weights_sha256", "config", "package_version")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save_diffusion(
    dir_or_path: str | Path, network: DiffusionDenoiser, extra_metadata: dict | None = None
) -> Path:
    """Write weights and metadata (folder, or beside a ``.safetensors``/``.json`` path);
    returns the metadata path. Files are written to temporary names, then renamed."""
    from llavataros import __version__

    extra = dict(extra_metadata or {})
    clashes = sorted(set(extra) & set(RESERVED))
    if clashes:
        raise ValueError(f"extra_metadata may not set {', '.join(clashes)}")
    weights_path, metadata_path = checkpoint_paths(dir_or_path)
    weights_path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in network.state_dict().items()}
    metadata: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "weights": weights_path.name,
        "config": network.config.to_dict(),
        "package_version": __version__,
        "git_commit": git_commit(),
    }
    metadata.update(to_json_value(extra))
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


def load_diffusion(path: str | Path, device: str = "cpu") -> tuple[DiffusionDenoiser, dict]:
    """``(network in eval mode, metadata)`` from a folder or either file; any missing, corrupt
    or mismatched file is an :class:`InputError` naming it."""
    weights_path, metadata_path = checkpoint_paths(path)
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
        raise InputError(metadata_path, "checkpoint format is newer than this package reads")
    try:
        config = DiffusionConfig.from_dict(metadata["config"])
    except KeyError:
        raise InputError(metadata_path, "no model config in the checkpoint") from None
    except (InputError, TypeError) as error:
        problem = getattr(error, "problem", error)
        raise InputError(metadata_path, f"invalid diffusion config: {problem}") from None
    weights_path = metadata_path.with_name(metadata.get("weights", weights_path.name))
    if not weights_path.is_file():
        raise InputError(weights_path, "model weights not found")
    expected = metadata.get("weights_sha256")
    if expected is not None and _sha256(weights_path) != expected:
        raise InputError(weights_path, "model weights do not match model.json")
    try:
        state = load_file(str(weights_path), device=device)
    except Exception as error:  # noqa: BLE001 - safetensors raises several types
        raise InputError(weights_path, f"not readable safetensors weights ({error})") from None
    network = DiffusionDenoiser(config)
    try:
        network.load_state_dict(state, strict=True)
    except RuntimeError as error:
        first = str(error).strip().splitlines()[0]
        raise InputError(weights_path, f"weights do not fit the config ({first})") from None
    return network.to(device).eval(), metadata
