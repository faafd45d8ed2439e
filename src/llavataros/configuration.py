"""Typed configuration: frozen dataclasses read from and written to YAML.

Unknown keys fail, ``Literal`` choices are checked, nested dataclasses are built recursively
(STYLE.md rule 2). ``apply_overrides`` maps ``key.sub=value`` strings from the command line.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args, get_origin, get_type_hints

import yaml

from llavataros.errors import InputError

T = TypeVar("T")


def _convert(value: Any, annotation: Any, where: str) -> Any:
    origin = get_origin(annotation)
    if dataclasses.is_dataclass(annotation):
        if not isinstance(value, dict):
            raise InputError(None, f"{where}: expected a mapping, got {value!r}")
        return from_dict(annotation, value, where)
    if origin is Literal:
        if value not in get_args(annotation):
            raise InputError(None, f"{where}: {value!r} is not one of {list(get_args(annotation))}")
        return value
    if origin in (typing.Union, types.UnionType):
        options = get_args(annotation)
        if value is None and type(None) in options:
            return None
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return _convert(value, option, where)
            except (InputError, TypeError, ValueError) as error:
                errors.append(str(error))
        raise InputError(None, f"{where}: {value!r} does not fit {annotation}")
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise InputError(None, f"{where}: expected a list, got {value!r}")
        args = get_args(annotation)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_convert(v, args[0], where) for v in value)
        if len(args) != len(value):
            raise InputError(None, f"{where}: expected {len(args)} values, got {len(value)}")
        return tuple(_convert(v, a, where) for v, a in zip(value, args, strict=True))
    if annotation is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if annotation is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if annotation is bool and isinstance(value, bool):
        return value
    if annotation is str and isinstance(value, str):
        return value
    if annotation is Any:
        return value
    raise InputError(
        None, f"{where}: expected {getattr(annotation, '__name__', annotation)}, got {value!r}"
    )


def from_dict(cls: type[T], data: dict, where: str = "config") -> T:
    """Build dataclass ``cls`` from ``data``; unknown keys and wrong types raise InputError."""
    hints = get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise InputError(None, f"{where}: unknown key(s) {unknown}; known: {sorted(names)}")
    values = {key: _convert(value, hints[key], f"{where}.{key}") for key, value in data.items()}
    return cls(**values)


def to_dict(config: Any) -> dict:
    """Plain dict (tuples as lists) suitable for YAML/JSON."""

    def plain(value):
        if isinstance(value, tuple | list):
            return [plain(v) for v in value]
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        return value

    return plain(dataclasses.asdict(config))


def load_yaml(cls: type[T], path: str | Path) -> T:
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError:
        raise InputError(path, "config file not found") from None
    except yaml.YAMLError as error:
        raise InputError(path, f"not valid YAML ({str(error).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise InputError(path, "config must be a mapping")
    try:
        return from_dict(cls, data)
    except InputError as error:
        raise InputError(path, error.problem) from None


def save_yaml(config: Any, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(to_dict(config), sort_keys=False))
    return path


def apply_overrides(config: T, overrides: list[str]) -> T:
    """Return ``config`` with ``section.key=value`` overrides (values parsed as YAML)."""
    data = to_dict(config)
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep:
            raise InputError(None, f"override {item!r} must look like key=value")
        node = data
        parts = key.strip().split(".")
        for part in parts[:-1]:
            if not isinstance(node.get(part), dict):
                raise InputError(None, f"override {item!r}: unknown section {part!r}")
            node = node[part]
        node[parts[-1]] = yaml.safe_load(raw)
    return from_dict(type(config), data)
