"""Praat TextGrid import: word times from a Montreal Forced Aligner alignment (SPEC section 1).

Reads the long ("ooTextFile") and short text formats, UTF-8 or UTF-16, without praatio. An
IntervalTier becomes a :class:`~llavataros.speech.words.Transcript` with ``source="textgrid"``;
empty intervals (silences) are skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from llavataros.errors import InputError
from llavataros.speech.words import Transcript, Word

# Tokens of a TextGrid: quoted strings ("" escapes a quote), numbers, <exists>/<absent>, and
# the long format's "[3]" indices (matched only to be skipped).
_TOKEN = re.compile(
    r'"((?:[^"]|"")*)"|(\[\d*\])|([-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)|<(exists|absent)>'
)


@dataclass(frozen=True)
class Interval:
    """One labelled span of a tier, times in seconds."""

    start: float
    end: float
    text: str


@dataclass(frozen=True)
class Tier:
    """An IntervalTier (or a TextTier, whose points have ``start == end``)."""

    name: str
    kind: str
    intervals: tuple[Interval, ...]


def load_textgrid(path: str | Path, tier: str = "words") -> Transcript:
    """Words of ``tier`` in ``path`` as a Transcript (``source="textgrid"``), silences skipped."""
    path = Path(path)
    tiers = read_tiers(path)
    by_name = {t.name.lower(): t for t in tiers}
    chosen = by_name.get(tier.lower())
    if chosen is None:
        names = ", ".join(repr(t.name) for t in tiers) or "none"
        raise InputError(path, f"no tier named {tier!r} (tiers: {names})")
    words = tuple(
        Word(interval.text.strip(), interval.start, interval.end)
        for interval in chosen.intervals
        if interval.text.strip()
    )
    return Transcript(text=" ".join(w.word for w in words), words=words, source="textgrid")


def read_tiers(path: str | Path) -> list[Tier]:
    """All tiers of a TextGrid file (long or short text format)."""
    path = Path(path)
    text = _read_text(path)
    tokens = _typed_tokens(text)
    try:
        return _parse(tokens)
    except (IndexError, ValueError) as error:
        raise InputError(path, f"not a valid TextGrid ({error})") from None


def _read_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError(path, "TextGrid file not found") from None
    except OSError as error:
        raise InputError(path, f"cannot read TextGrid ({error.strerror})") from None
    for encoding in ("utf-16",) if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else ("utf-8-sig",):
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            raise InputError(path, "TextGrid is not UTF-8 or UTF-16 text") from None
    if 'Object class = "TextGrid"' not in text and '"TextGrid"' not in text:
        raise InputError(path, "not a TextGrid (missing 'Object class = \"TextGrid\"')")
    return text


def _typed_tokens(text: str) -> list[str | float]:
    """Strings stay ``str``, numbers become ``float``; ``<exists>`` is kept as a string."""
    tokens: list[str | float] = []
    for match in _TOKEN.finditer(text):
        quoted, index, number, flag = match.groups()
        if index is not None:
            continue
        if quoted is not None:
            tokens.append(quoted.replace('""', '"'))
        elif number is not None:
            tokens.append(float(number))
        else:
            tokens.append(f"<{flag}>")
    return tokens


def _parse(tokens: list[str | float]) -> list[Tier]:
    """Walk the token stream: header, tier count, then each tier's intervals or points."""
    position = 0

    def take(kind: type):
        nonlocal position
        value = tokens[position]
        position += 1
        if not isinstance(value, kind):
            raise ValueError(f"expected a {kind.__name__} at token {position}, got {value!r}")
        return value

    if take(str) != "ooTextFile" or take(str) != "TextGrid":
        raise ValueError("header is not ooTextFile/TextGrid")
    take(float), take(float)  # xmin, xmax of the grid
    if take(str) != "<exists>":
        return []
    count = int(take(float))
    tiers = []
    for _ in range(count):
        kind, name = take(str), take(str)
        take(float), take(float)  # tier xmin, xmax
        size = int(take(float))
        intervals = []
        for _ in range(size):
            if kind == "IntervalTier":
                start, end = take(float), take(float)
            else:
                start = end = take(float)
            intervals.append(Interval(start, end, take(str)))
        tiers.append(Tier(name, kind, tuple(intervals)))
    return tiers
