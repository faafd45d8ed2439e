"""Timed transcripts: the ``words.json`` schema of SPEC section 2.

``{"text": "...", "source": "whisper" | "transcript" | "textgrid" | "json" | ...,
   "words": [{"word": "...", "start": 0.52, "end": 0.81}, ...]}`` with times in seconds, and
``"warnings": ["..."]`` when the front-end doubted its input.

``source`` says where the words came from: ``whisper`` (heard by Whisper; times re-aligned with
pocketsphinx unless the front-end was told not to), ``transcript`` (text the user gave, aligned
with pocketsphinx), ``textgrid`` / ``json`` (timed words read from a file, used as they are).
Files written before December 2026 say ``aligned`` for both aligned cases; read as they are.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from llavataros.errors import InputError

PUNCTUATION = ".,;:!?\"'"  # stripped from the edges of written words


@dataclass(frozen=True)
class Word:
    """One transcript word with its start and end time in seconds."""

    word: str
    start: float
    end: float


@dataclass(frozen=True)
class Transcript:
    """The words of a recording in order, where they came from, and warnings for the user (e.g.
    the speech is not English, or a given transcript does not fit the audio)."""

    text: str
    words: tuple[Word, ...] = field(default_factory=tuple)
    source: str = "unknown"
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        data = {
            "text": self.text,
            "source": self.source,
            "words": [
                {"word": w.word, "start": round(w.start, 3), "end": round(w.end, 3)}
                for w in self.words
            ],
        }
        if self.warnings:
            data["warnings"] = list(self.warnings)
        return data

    @classmethod
    def from_dict(cls, data: dict, source_path: str | Path | None = None) -> Transcript:
        try:
            words = tuple(
                Word(str(item["word"]), float(item["start"]), float(item["end"]))
                for item in data["words"]
            )
        except (KeyError, TypeError, ValueError) as error:
            raise InputError(source_path, f"not a words.json word list ({error!r})") from None
        text = str(data.get("text") or " ".join(w.word for w in words))
        source = str(data.get("source", "json"))
        warnings = tuple(str(w) for w in data.get("warnings") or ())
        return cls(text, words, source, warnings)


def save_words_json(transcript: Transcript, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(transcript.to_dict(), indent=1, ensure_ascii=False) + "\n")
    return path


def load_words_json(path: str | Path) -> Transcript:
    """Read ``words.json`` (or a bare JSON list of ``{word, start, end}``)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise InputError(path, "file not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputError(path, f"not valid JSON ({error})") from None
    if isinstance(data, list):
        data = {"words": data, "source": "json"}
    if not isinstance(data, dict):
        raise InputError(path, "expected an object with a 'words' list")
    return Transcript.from_dict(data, path)


def split_words(text: str) -> tuple[str, ...]:
    """The words of ``text`` as written, split at white space, punctuation stripped."""
    words = (token.strip(PUNCTUATION) for token in text.split())
    return tuple(word for word in words if word)
