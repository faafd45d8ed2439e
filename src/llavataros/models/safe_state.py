"""Pickle-free storage of nested state (trainer checkpoints for ``--resume``, read for inference).

A state is a tree of dicts, lists, tuples, tensors and plain scalars. Tensors go into one
``.safetensors`` file; the tree goes into a JSON file in which each tensor is replaced by
``{"__tensor__": key}``. Loading parses JSON and safetensors only, so a file from a stranger
cannot run code.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from llavataros.errors import InputError

TENSOR, TUPLE, ITEMS = "__tensor__", "__tuple__", "__items__"


def _encode(value: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(value, torch.Tensor):
        key = str(len(tensors))
        tensors[key] = value.detach().cpu().contiguous()
        return {TENSOR: key}
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value):
            return {k: _encode(v, tensors) for k, v in value.items()}
        return {ITEMS: [[_encode(k, tensors), _encode(v, tensors)] for k, v in value.items()]}
    if isinstance(value, tuple):
        return {TUPLE: [_encode(v, tensors) for v in value]}
    if isinstance(value, list):
        return [_encode(v, tensors) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return value.item()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(f"cannot store {type(value).__name__} in a pickle-free checkpoint")


def _decode(value: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(value, list):
        return [_decode(v, tensors) for v in value]
    if not isinstance(value, dict):
        return value
    if TENSOR in value:
        return tensors[value[TENSOR]]
    if TUPLE in value:
        return tuple(_decode(v, tensors) for v in value[TUPLE])
    if ITEMS in value:
        return {_decode(k, tensors): _decode(v, tensors) for k, v in value[ITEMS]}
    return {k: _decode(v, tensors) for k, v in value.items()}


def save_state(state: dict, path: str | Path) -> Path:
    """Write ``PATH`` (JSON tree) and ``PATH.safetensors`` (tensors), atomically each."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors: dict[str, torch.Tensor] = {}
    tree = _encode(state, tensors)
    tensor_path = path.with_name(path.name + ".safetensors")
    save_file(tensors, str(tensor_path) + ".tmp")
    os.replace(str(tensor_path) + ".tmp", tensor_path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(tree))
    os.replace(tmp, path)
    return path


def load_state(path: str | Path, map_location: str | torch.device = "cpu") -> dict:
    path = Path(path)
    tensor_path = path.with_name(path.name + ".safetensors")
    try:
        tree = json.loads(path.read_text())
        tensors = load_file(str(tensor_path), device=str(map_location))
    except FileNotFoundError as error:
        raise InputError(error.filename or path, "checkpoint file not found") from None
    except (OSError, ValueError) as error:
        raise InputError(path, f"not a readable checkpoint ({error})") from None
    return _decode(tree, tensors)
