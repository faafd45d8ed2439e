"""The speech front-end: from audio (and maybe a transcript) to timed words (SPEC section 2).

``words_for_audio`` is the one entry point the pipeline calls. With a transcript it aligns it;
without, Whisper transcribes and pocketsphinx re-aligns Whisper's text, which on the AvatarOS
sample brings the median word-onset error against the MFA reference from 100 ms (Whisper's own
times, 22 % within 50 ms) to 10 ms (87 % within 50 ms). ``read_transcript_argument`` turns the
CLI's ``--transcript`` value (a .txt, words.json or .TextGrid path, or literal text) into text or
an already timed :class:`Transcript`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from llavataros.errors import InputError
from llavataros.speech.align import Aligner, display_words
from llavataros.speech.textgrid import load_textgrid
from llavataros.speech.transcribe import Transcriber
from llavataros.speech.words import Transcript, load_words_json

TRANSCRIPT_SUFFIXES = (".txt", ".json", ".textgrid")


def words_for_audio(
    audio: np.ndarray,
    transcript: str | Transcript | None = None,
    transcriber: Transcriber | None = None,
    aligner: Aligner | None = None,
    realign: bool = True,
) -> Transcript:
    """Timed words for ``audio`` ``(n,)`` float32 16 kHz mono.

    ``transcript``: text to align (``source="aligned"``), a timed Transcript (returned as is),
    or None to transcribe with Whisper and, if ``realign``, re-align Whisper's text with
    pocketsphinx (``source="aligned"``; Whisper's own times otherwise, ``source="whisper"``).
    Models are built on first use when not given; pass them in to load them once.
    """
    if isinstance(transcript, Transcript):
        return transcript
    if transcript is not None:
        if not display_words(transcript):
            raise InputError(None, "the transcript has no words")
        return (aligner or Aligner()).align(audio, transcript)
    heard = (transcriber or Transcriber()).transcribe(audio)
    if not realign or not heard.words:
        return heard
    return (aligner or Aligner()).align(audio, heard.text, anchors=heard)


def read_transcript_argument(value: str | Path) -> str | Transcript:
    """A ``--transcript`` value: .txt -> its text; .json -> words.json Transcript; .TextGrid ->
    Transcript of its ``words`` tier; any other string that is not an existing file -> the text
    itself. A path-like value with one of those suffixes that does not exist is an error."""
    text = str(value)
    path = Path(text)
    suffix = path.suffix.lower()
    looks_like_path = suffix in TRANSCRIPT_SUFFIXES and len(text.split()) == 1
    if looks_like_path and not _is_file(text):
        raise InputError(path, "transcript file not found")
    if not _is_file(text):
        if not display_words(text):
            raise InputError(None, "the transcript has no words")
        return text.strip()
    if suffix == ".json":
        return load_words_json(path)
    if suffix == ".textgrid":
        return load_textgrid(path)
    try:
        content = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(path, f"cannot read the transcript as UTF-8 text ({error})") from None
    if not display_words(content):
        raise InputError(path, "the transcript has no words")
    return " ".join(content.split())


def _is_file(text: str) -> bool:
    try:
        return len(text) < 4096 and Path(text).is_file()
    except (OSError, ValueError):  # names too long or with NUL bytes are text, not paths
        return False
