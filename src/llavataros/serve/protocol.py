"""The live protocol, version 1 (docs/PROTOCOL.md): client messages parsed and checked into
typed dataclasses, server messages built as plain dicts. Pure: no I/O, no model.

A client sends ``start`` once, then binary PCM16 audio, optional ``words`` and ``end``; the
server answers ``ready``, ``frames``, ``words``, ``error`` and ``done``. Anything malformed is a
:class:`ProtocolError` carrying one of :data:`ERROR_CODES` and a one-line message.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np

from llavataros.speech.words import Word

VERSION = 1
MAX_MESSAGE_BYTES = 1 << 20  # one binary or text message (1 MiB)
MIN_SAMPLE_RATE, MAX_SAMPLE_RATE = 8000, 192000
WORDS_HOLD_S = 3.0  # default longest wait of live frames for their words (docs/PROTOCOL.md)
MAX_WORDS_HOLD_S = 10.0

CLIENT_TYPES = ("start", "words", "end")
SERVER_TYPES = ("ready", "frames", "words", "error", "done")
ERROR_CODES = (
    "bad_json",
    "bad_message",
    "too_large",
    "out_of_order",
    "bad_audio",
    "unsupported_version",
    "server_busy",
    "internal",
)


class ProtocolError(Exception):
    """A message the server refuses: ``code`` (one of ERROR_CODES) and a one-line message."""

    def __init__(self, code: str, message: str):
        assert code in ERROR_CODES, code
        self.code = code
        self.message = " ".join(str(message).split())  # one line
        super().__init__(f"{code}: {self.message}")


@dataclass(frozen=True)
class Start:
    """The first message: audio rate, speaker, an optional transcript (plain text or timed
    words), whether the server transcribes incrementally (``live_words``) and how long frames
    may wait for live words at most (``words_hold_s``)."""

    sample_rate: int = 16000
    speaker: str | None = None
    text: str | None = None
    words: tuple[Word, ...] = ()
    live_words: bool = True
    words_hold_s: float = WORDS_HOLD_S


@dataclass(frozen=True)
class Words:
    """Timed words (seconds from the stream's start), in non-decreasing start order."""

    words: tuple[Word, ...]


@dataclass(frozen=True)
class End:
    """No more audio."""


ClientMessage = Start | Words | End


def parse_text(text: str) -> ClientMessage:
    """A client text message -> Start, Words or End; ProtocolError when it is not one."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_MESSAGE_BYTES:
        raise ProtocolError("too_large", f"text message over {MAX_MESSAGE_BYTES} bytes")
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as error:
        raise ProtocolError("bad_json", f"not JSON ({error})") from None
    if not isinstance(data, dict):
        raise ProtocolError("bad_message", "a message must be a JSON object")
    kind = data.get("type")
    if kind == "start":
        return _parse_start(data)
    if kind == "words":
        return Words(parse_words(data.get("words")))
    if kind == "end":
        return End()
    raise ProtocolError("bad_message", f"unknown message type {kind!r}; known: {CLIENT_TYPES}")


def parse_audio(data: bytes) -> np.ndarray:
    """A binary message: PCM16 little-endian mono -> float32 samples in [-1, 1)."""
    if len(data) > MAX_MESSAGE_BYTES:
        raise ProtocolError("too_large", f"audio message over {MAX_MESSAGE_BYTES} bytes")
    if len(data) % 2:
        raise ProtocolError("bad_audio", f"PCM16 needs an even byte count, got {len(data)}")
    return np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0


def parse_words(items: object) -> tuple[Word, ...]:
    """``[{"word", "start", "end"}, ...]`` -> Words; times finite, >= 0, start <= end, starts
    non-decreasing (else ``out_of_order``)."""
    if not isinstance(items, list):
        raise ProtocolError("bad_message", "'words' must be a list of {word, start, end}")
    words = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("word"), str):
            raise ProtocolError("bad_message", "each word needs 'word' (text), 'start', 'end'")
        start, end = _seconds(item.get("start")), _seconds(item.get("end"))
        if start is None or end is None or end < start:
            raise ProtocolError("bad_message", f"word {item['word']!r}: bad start/end times")
        if words and start < words[-1].start:
            raise ProtocolError("out_of_order", f"word {item['word']!r} starts before the last")
        words.append(Word(item["word"], start, end))
    return tuple(words)


def _seconds(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    value = float(value)
    return value if math.isfinite(value) and value >= 0 else None


def _parse_start(data: dict) -> Start:
    version = data.get("version", VERSION)
    if version != VERSION or isinstance(version, bool):
        raise ProtocolError("unsupported_version", f"version {version!r}; this server: {VERSION}")
    rate = data.get("sample_rate", 16000)
    if isinstance(rate, bool) or not isinstance(rate, int):
        raise ProtocolError("bad_message", f"sample_rate must be an integer, got {rate!r}")
    if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
        raise ProtocolError(
            "bad_message", f"sample_rate {rate} outside {MIN_SAMPLE_RATE}..{MAX_SAMPLE_RATE}"
        )
    speaker = data.get("speaker")
    if speaker is not None and not isinstance(speaker, str):
        raise ProtocolError("bad_message", "speaker must be a name or null")
    transcript = data.get("transcript")
    text, words = None, ()
    if isinstance(transcript, str):
        text = transcript
    elif isinstance(transcript, dict):
        words = parse_words(transcript.get("words"))
    elif transcript is not None:
        raise ProtocolError("bad_message", "transcript must be text, {'words': [...]} or null")
    live = data.get("live_words", transcript is None)
    if not isinstance(live, bool):
        raise ProtocolError("bad_message", "live_words must be true or false")
    hold = _seconds(data.get("words_hold_s", WORDS_HOLD_S))
    if hold is None or hold > MAX_WORDS_HOLD_S:
        raise ProtocolError(
            "bad_message", f"words_hold_s must be seconds from 0 to {MAX_WORDS_HOLD_S:g}"
        )
    return Start(rate, speaker, text, words, live, hold)


# -- server messages ----------------------------------------------------------------------
def ready(
    fps: float, joints, lookahead: float, speaker: str, face: bool, model: str, hold: float = 0.0
) -> dict:
    return {
        "type": "ready",
        "version": VERSION,
        "fps": fps,
        "joints": list(joints),
        "lookahead_s": lookahead,
        "words_hold_s": hold,
        "speaker": speaker,
        "face": face,
        "model": model,
    }


def frames(first: int, fps: float, body: np.ndarray, face: np.ndarray | None) -> dict:
    """``body (n, 9, 7)``, ``face (n, 52)`` or None; frame ``first + k`` is at ``(first+k)/fps``."""
    return {
        "type": "frames",
        "first": first,
        "fps": fps,
        "body": np.round(body.astype(np.float64), 6).tolist(),
        "face": None if face is None else np.round(face.astype(np.float64), 6).tolist(),
    }


def words(committed) -> dict:
    return {
        "type": "words",
        "words": [{"word": w.word, "start": w.start, "end": w.end} for w in committed],
    }


def error(code: str, message: str) -> dict:
    return {"type": "error", "code": code, "message": ProtocolError(code, message).message}


def done(count: int) -> dict:
    return {"type": "done", "frames": count}
