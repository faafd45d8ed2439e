"""On-disk cache of computed features, keyed by what they depend on and nothing else.

An entry is a ``.npz`` of named arrays under ``root/<kind>/<key[:2]>/<key>.npz``. The key is the
SHA-256 of a canonical JSON of its parts: the digest of the audio file's bytes (not its path or
time stamp), the transcript, and the extractor's ``settings()`` (model path and weight files,
fps, dims). Changing any part gives a new key and a recomputation; renaming or touching a file
does not. Writes go to a temporary file first and are renamed into place, so an interrupted run
leaves no half-written entry; an unreadable entry counts as missing.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

from llavataros.errors import InputError
from llavataros.speech.words import Transcript

CHUNK = 1 << 20  # bytes read at a time when hashing files


def file_digest(path: str | Path) -> str:
    """SHA-256 hex digest of the bytes of ``path``."""
    path = Path(path)
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            while block := handle.read(CHUNK):
                digest.update(block)
    except FileNotFoundError:
        raise InputError(path, "file not found") from None
    except OSError as error:
        raise InputError(path, f"unreadable file ({error})") from None
    return digest.hexdigest()


def samples_digest(samples: np.ndarray, sample_rate: int) -> str:
    """SHA-256 of in-memory audio: float32 samples and their rate."""
    digest = hashlib.sha256(f"{int(sample_rate)}:".encode())
    digest.update(np.ascontiguousarray(samples, dtype=np.float32).tobytes())
    return digest.hexdigest()


def transcript_digest(transcript: Transcript, with_times: bool = True) -> str:
    """SHA-256 of the words (and, by default, their start/end times rounded to 0.1 ms)."""
    if with_times:
        items = [[w.word, round(w.start, 4), round(w.end, 4)] for w in transcript.words]
    else:
        items = [w.word for w in transcript.words]
    return hashlib.sha256(json.dumps(items, ensure_ascii=False).encode()).hexdigest()


def model_fingerprint(model_path: str | Path) -> list:
    """Name, size and modification time of a model folder's weight files (a retrained model
    at the same path gets new cache keys)."""
    entries = []
    for file in sorted(Path(model_path).iterdir()):
        if file.suffix in (".safetensors", ".bin", ".pt", ".pth") and file.is_file():
            stat = file.stat()
            entries.append([file.name, stat.st_size, stat.st_mtime_ns])
    return entries


def cache_key(parts: Mapping) -> str:
    """SHA-256 hex of the canonical JSON (sorted keys) of ``parts``."""
    text = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


class FeatureCache:
    """Named-array entries on disk under ``root``; counts ``hits`` and ``misses``."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.hits = 0
        self.misses = 0

    def path(self, kind: str, key: str) -> Path:
        return self.root / kind / key[:2] / f"{key}.npz"

    def load(self, kind: str, key: str) -> dict[str, np.ndarray] | None:
        """The arrays stored under ``key``, or None when absent or unreadable."""
        path = self.path(kind, key)
        if not path.exists():
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                return {name: data[name] for name in data.files}
        except (OSError, ValueError, EOFError):
            return None

    def store(self, kind: str, key: str, arrays: Mapping[str, np.ndarray]) -> Path:
        """Write ``arrays`` atomically (temporary file, then rename)."""
        path = self.path(kind, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as file:
                np.savez(file, **{name: np.asarray(value) for name, value in arrays.items()})
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return path

    def get_or_compute(
        self, kind: str, parts: Mapping, compute: Callable[[], Mapping[str, np.ndarray]]
    ) -> dict[str, np.ndarray]:
        """Arrays for ``parts`` from disk, or from ``compute()`` (then stored)."""
        key = cache_key({"kind": kind, **parts})
        found = self.load(kind, key)
        if found is not None:
            self.hits += 1
            return found
        self.misses += 1
        arrays = {name: np.asarray(value) for name, value in compute().items()}
        self.store(kind, key, arrays)
        return arrays
