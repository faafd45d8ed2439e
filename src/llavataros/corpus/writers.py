"""Files of one synthetic take in the AvatarOS layout (SPEC section 1): ``NAME.npy``,
``NAME.wav``, ``NAME.words.json``, ``NAME.TextGrid`` and ``NAME.gestures.json``.

Every file is written to a temporary name in the same folder and renamed when complete, so an
interrupted generation leaves no half-written file. The TextGrid is Praat's long text format
("ooTextFile") with one IntervalTier ``words``; gaps between words are empty intervals.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile

from llavataros.speech.words import Transcript


def write_atomic(path: Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(temporary_path)`` then rename the result to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.part")
    try:
        write(temporary)
        os.replace(temporary, path)
    finally:
        if temporary.exists():
            temporary.unlink()
    return path


def write_text(path: Path, text: str) -> Path:
    return write_atomic(path, lambda target: target.write_text(text, encoding="utf-8"))


def write_json(path: Path, data: dict) -> Path:
    return write_text(path, json.dumps(data, indent=1, ensure_ascii=False) + "\n")


def write_motion(path: Path, array: np.ndarray) -> Path:
    """``(t, 9, 7)`` float32 ``.npy``."""
    array = np.ascontiguousarray(array, dtype=np.float32)

    def save(target: Path) -> None:
        with open(target, "wb") as handle:
            np.save(handle, array)

    return write_atomic(path, save)


def write_wav(path: Path, audio: np.ndarray, sample_rate: int) -> Path:
    """16-bit PCM WAV of mono float samples in [-1, 1]."""
    audio = np.clip(np.asarray(audio, dtype=np.float64), -1.0, 1.0)
    return write_atomic(
        path,
        lambda target: soundfile.write(
            str(target), audio, sample_rate, subtype="PCM_16", format="WAV"
        ),
    )


def _intervals(items, duration: float) -> tuple[list[tuple[float, float, str]], float]:
    """Intervals of ``(text, start, end)`` items, gaps as empty intervals, up to ``duration``."""
    intervals: list[tuple[float, float, str]] = []
    cursor = 0.0
    for text, begin, finish in items:
        start, end = max(begin, cursor), max(finish, begin, cursor)
        if start > cursor + 1e-6:
            intervals.append((cursor, start, ""))
        if end > start + 1e-6:
            intervals.append((start, end, text))
            cursor = end
    duration = max(duration, cursor)
    if duration > cursor + 1e-6 or not intervals:
        intervals.append((cursor, duration, ""))
    return intervals, duration


def textgrid_text(
    transcript: Transcript,
    duration: float,
    tier: str = "words",
    phonemes: list[tuple[str, float, float]] | tuple = (),
) -> str:
    """Praat long-format TextGrid with an IntervalTier of the words (gaps as empty intervals)
    spanning ``[0, duration]`` seconds, and a ``phones`` tier when ``phonemes`` (``(symbol,
    start, end)``, as the Montreal Forced Aligner writes) are given."""
    words, duration = _intervals([(w.word, w.start, w.end) for w in transcript.words], duration)
    tiers = [(tier, words)]
    if phonemes:
        phones, duration = _intervals(phonemes, duration)
        words, duration = _intervals([(w.word, w.start, w.end) for w in transcript.words], duration)
        tiers = [(tier, words), ("phones", phones)]
    lines = [
        'File type = "ooTextFile"',
        'Object class = "TextGrid"',
        "",
        "xmin = 0",
        f"xmax = {duration:.4f}",
        "tiers? <exists>",
        f"size = {len(tiers)}",
        "item []:",
    ]
    for number, (name, intervals) in enumerate(tiers, start=1):
        lines += [
            f"    item [{number}]:",
            '        class = "IntervalTier"',
            f'        name = "{name}"',
            "        xmin = 0",
            f"        xmax = {duration:.4f}",
            f"        intervals: size = {len(intervals)}",
        ]
        for index, (start, end, text) in enumerate(intervals, start=1):
            escaped = text.replace('"', '""')
            lines += [
                f"        intervals [{index}]:",
                f"            xmin = {start:.4f}",
                f"            xmax = {end:.4f}",
                f'            text = "{escaped}"',
            ]
    return "\n".join(lines) + "\n"


def write_textgrid(
    path: Path, transcript: Transcript, duration: float, phonemes: tuple | list = ()
) -> Path:
    return write_text(path, textgrid_text(transcript, duration, phonemes=phonemes))
