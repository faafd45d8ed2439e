"""Index a folder of takes and split it by take group (SPEC section 1 layout).

A take is ``NAME.npy`` (motion) + ``NAME.wav`` (speech), optionally with word times
(``NAME.TextGrid`` from MFA, else ``NAME.words.json``), ``NAME.json`` metadata (``fps``,
``style``) and, in the synthetic corpus (SPEC section 4), ``NAME.gestures.json``. A take and
its left/right mirror (``..._mirror_...``) share a *base name* and always land in the same
split, so no mirrored copy of a test take is ever trained on.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from llavataros.errors import InputError
from llavataros.features.speaker import style_from_take_name
from llavataros.motion.skeleton import NUM_JOINTS
from llavataros.motion.take import motion_paths
from llavataros.speech.words import Transcript

SPLITS = ("train", "validation", "test")
SPLIT_FILE = "split.json"  # optional {"train": [names], "validation": [...], "test": [...]}


@dataclass(frozen=True)
class TakeRecord:
    """Paths of one take and its labels; ``words_path``/``gestures_path`` may be None."""

    name: str
    motion_path: Path
    audio_path: Path
    words_path: Path | None
    style: str
    base_name: str
    gestures_path: Path | None = None


def base_name(name: str) -> str:
    """The take name without its ``mirror`` field: ``001_Neutral_0_mirror_x_1_0`` ->
    ``001_Neutral_0_x_1_0``."""
    return "_".join(part for part in name.split("_") if part.lower() != "mirror")


def read_transcript(record: TakeRecord) -> Transcript | None:
    """The take's timed words (TextGrid or words.json), or None when it has none."""
    if record.words_path is None:
        return None
    if record.words_path.suffix.lower() == ".textgrid":
        from llavataros.speech.textgrid import load_textgrid

        return load_textgrid(record.words_path)
    from llavataros.speech.words import load_words_json

    return load_words_json(record.words_path)


def index_takes(data_dir: str | Path) -> list[TakeRecord]:
    """Every ``NAME.npy`` take in ``data_dir`` (not recursive, faces ``NAME.face.npy`` aside),
    sorted by name.

    Raises InputError for a missing folder, a folder without takes, a take without its
    ``NAME.wav``, a motion file that is not a ``(T, 9, 7)`` array or an unreadable wav.
    """
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise InputError(data_dir, "data folder not found")
    motions = motion_paths(data_dir)
    if not motions:
        raise InputError(data_dir, "no takes (NAME.npy + NAME.wav) in the data folder")
    return [_record(path) for path in motions]


def _record(motion_path: Path) -> TakeRecord:
    name = motion_path.stem
    audio_path = motion_path.with_suffix(".wav")
    if not audio_path.is_file():
        raise InputError(motion_path, f"no audio {audio_path.name} beside the take")
    _check_motion(motion_path)
    _check_audio(audio_path)
    words_path = None
    for candidate in (motion_path.with_suffix(".TextGrid"), _sibling(motion_path, ".words.json")):
        if candidate.is_file():
            words_path = candidate
            break
    gestures = _sibling(motion_path, ".gestures.json")
    return TakeRecord(
        name=name,
        motion_path=motion_path,
        audio_path=audio_path,
        words_path=words_path,
        style=_style(motion_path, gestures if gestures.is_file() else None),
        base_name=base_name(name),
        gestures_path=gestures if gestures.is_file() else None,
    )


def _sibling(motion_path: Path, suffix: str) -> Path:
    return motion_path.with_name(motion_path.stem + suffix)


def _check_motion(path: Path) -> None:
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as error:
        raise InputError(path, f"not a readable .npy array ({error})") from None
    if array.ndim != 3 or array.shape[1:] != (NUM_JOINTS, 7) or len(array) == 0:
        raise InputError(
            path, f"expected motion of shape (T, {NUM_JOINTS}, 7), got {tuple(array.shape)}"
        )


def _check_audio(path: Path) -> None:
    import soundfile

    try:
        info = soundfile.info(str(path))
    except Exception as error:  # noqa: BLE001 - libsndfile raises several types
        raise InputError(path, f"unreadable audio ({error})") from None
    if info.frames == 0:
        raise InputError(path, "audio is empty")


def _style(motion_path: Path, gestures_path: Path | None) -> str:
    """``style`` (or ``speaker``) from ``NAME.json`` or ``NAME.gestures.json``, else the
    style field of the take name."""
    for path in (motion_path.with_suffix(".json"), gestures_path):
        if path is None or not path.is_file():
            continue
        try:
            data = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise InputError(path, f"not valid JSON ({error})") from None
        if isinstance(data, dict):
            for key in ("style", "speaker"):
                if isinstance(data.get(key), str) and data[key]:
                    return data[key]
    return style_from_take_name(motion_path.stem)


def _group_order(base: str, seed: int) -> str:
    return hashlib.sha256(f"{seed}:{base}".encode()).hexdigest()


def split_counts(num_groups: int, fractions: tuple[float, float, float]) -> list[int]:
    """Groups per split: rounded shares; with >= 3 groups every positive share gets one."""
    counts = [int(round(f * num_groups)) for f in fractions]
    if num_groups >= 3:
        counts = [max(1, c) if f > 0 else 0 for c, f in zip(counts, fractions, strict=True)]
    counts[0] = num_groups - counts[1] - counts[2]
    while counts[0] < min(1, num_groups):
        largest = 1 if counts[1] >= counts[2] else 2
        counts[largest] -= 1
        counts[0] += 1
    return counts


def split_takes(
    records: list[TakeRecord],
    fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
    seed: int = 0,
) -> dict[str, list[TakeRecord]]:
    """``{"train": [...], "validation": [...], "test": [...]}`` by take group.

    Groups (base names) are ordered by SHA-256 of ``seed`` and the base name, so the result
    does not depend on the order of ``records``; a take and its mirror share a side. With at
    least 3 groups every split with a positive fraction gets at least one group.
    """
    fractions = tuple(float(f) for f in fractions)
    if len(fractions) != 3 or min(fractions) < 0 or abs(sum(fractions) - 1.0) > 1e-6:
        raise InputError(
            None,
            f"split fractions must be three non-negative numbers summing to 1, got {fractions}",
        )
    if fractions[0] <= 0:
        raise InputError(None, "the training fraction must be positive")
    groups: dict[str, list[TakeRecord]] = {}
    for record in records:
        groups.setdefault(record.base_name, []).append(record)
    order = sorted(groups, key=lambda base: _group_order(base, seed))
    counts = split_counts(len(order), fractions)
    splits: dict[str, list[TakeRecord]] = {}
    start = 0
    for split, count in zip(SPLITS, counts, strict=True):
        chosen = order[start : start + count]
        start += count
        splits[split] = sorted((r for base in chosen for r in groups[base]), key=lambda r: r.name)
    return splits


def select_splits(
    records: list[TakeRecord], listed: dict, source: str | Path
) -> dict[str, list[TakeRecord]]:
    """Records of the take names listed per split (``{"train": [...], ...}``, e.g. a
    ``split.json`` or a run's ``run.json``); a name with no take is an error naming ``source``."""
    by_name = {record.name: record for record in records}
    splits = {}
    for split in SPLITS:
        names = listed.get(split, [])
        missing = [name for name in names if name not in by_name]
        if missing:
            raise InputError(source, f"{split} lists takes that are not in the data: {missing[:3]}")
        splits[split] = [by_name[name] for name in names]
    return splits


def split_records(
    data_dir: Path,
    records: list[TakeRecord],
    fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
    seed: int = 0,
) -> dict[str, list[TakeRecord]]:
    """Take-level split: ``DATA/split.json`` if present, else :func:`split_takes` by group."""
    split_file = Path(data_dir) / SPLIT_FILE
    if not split_file.exists():
        return split_takes(records, fractions, seed)
    try:
        listed = json.loads(split_file.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise InputError(split_file, f"not valid JSON ({error})") from None
    return select_splits(records, listed, split_file)
