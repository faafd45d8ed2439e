"""The speech front-end: from audio (and maybe a transcript) to timed words (SPEC section 2).

``words_for_audio`` is the one entry point the pipeline calls. With a transcript it aligns it
(``source="transcript"``) and warns when the text does not fit the audio; without, Whisper
transcribes (screened: see ``transcribe.py``) and pocketsphinx re-aligns Whisper's text one
group of segments at a time (``source="whisper"``), which on the AvatarOS sample brings the
median word-onset error against the MFA reference from 100 ms (Whisper's own times, 22 % within
50 ms) to about 10 ms (85-87 % within 50 ms). Aligning per group keeps time and memory per minute
flat in the length of the recording. ``read_transcript_argument`` turns the CLI's
``--transcript`` value (a .txt, words.json or .TextGrid path, or literal text) into text or an
already timed :class:`Transcript`.

Warnings for the user travel on ``Transcript.warnings`` (and into ``words.json``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from llavataros.errors import InputError
from llavataros.speech.align import Aligner, AlignmentFit, display_words
from llavataros.speech.audio import SAMPLE_RATE
from llavataros.speech.textgrid import load_textgrid
from llavataros.speech.transcribe import (
    HeardSegment,
    Transcriber,
    screen_segments,
    words_from_pieces,
)
from llavataros.speech.words import Transcript, Word, load_words_json

TRANSCRIPT_SUFFIXES = (".txt", ".json", ".textgrid")

DOES_NOT_FIT = "the transcript does not fit the audio"

StageProgress = Callable[[str, float, float], None]  # (stage, seconds done, seconds in all)


@dataclass(frozen=True)
class FrontendConfig:
    """How Whisper's segments are re-aligned and when a transcript is said not to fit.

    ``group_seconds``: consecutive Whisper segments are aligned together up to this span;
    ``pad_seconds``: audio added on each side of a group (not past the middle of the gap to the
    next group). ``fit_frame_cost`` / ``fit_aligned_share``: a given transcript whose aligned
    words cost more per frame, or of which a smaller share could be aligned, gets a warning
    (measured ranges in ``align.py`` and the README).
    """

    group_seconds: float = 30.0
    pad_seconds: float = 0.5
    fit_frame_cost: float = 0.003
    fit_aligned_share: float = 0.7


def words_for_audio(
    audio: np.ndarray,
    transcript: str | Transcript | None = None,
    transcriber: Transcriber | None = None,
    aligner: Aligner | None = None,
    realign: bool = True,
    config: FrontendConfig | None = None,
    progress: StageProgress | None = None,
) -> Transcript:
    """Timed words for ``audio`` ``(n,)`` float32 16 kHz mono.

    ``transcript``: text to align (``source="transcript"``, with a warning if it does not fit
    the audio), a timed Transcript (returned as is), or None to transcribe with Whisper and, if
    ``realign``, re-align Whisper's text with pocketsphinx (``source="whisper"`` either way).
    Models are built on first use when not given; pass them in to load them once. ``progress``
    is called as ``progress(stage, done, total)`` (seconds of audio) for the stages
    ``"transcribe"`` and ``"align"``.
    """
    config = config or FrontendConfig()
    if isinstance(transcript, Transcript):
        return transcript
    total = len(audio) / SAMPLE_RATE
    if transcript is not None:
        if not display_words(transcript):
            raise InputError(None, "the transcript has no words")
        aligned, fit = (aligner or Aligner()).align_scored(audio, transcript, source="transcript")
        if progress is not None:
            progress("align", total, total)
        warning = fit_warning(fit, config)
        return _with_warnings(aligned, [warning] if warning else [])
    transcriber = transcriber or Transcriber()
    stage = None if progress is None else (lambda done, whole: progress("transcribe", done, whole))
    segments = transcriber.segments(audio, stage)
    kept, warnings = screen_segments(segments, transcriber.config)
    heard = words_from_pieces([p[:3] for s in kept for p in s.pieces])
    if not realign or not heard.words:
        if progress is not None:
            progress("align", total, total)
        return Transcript(heard.text, heard.words, "whisper", tuple(warnings))
    return realign_segments(audio, kept, aligner or Aligner(), config, warnings, progress)


def realign_segments(
    audio: np.ndarray,
    segments: list[HeardSegment],
    aligner: Aligner,
    config: FrontendConfig,
    warnings: list[str] | None = None,
    progress: StageProgress | None = None,
) -> Transcript:
    """Whisper's words re-aligned group by group (``source="whisper"``).

    Each group of segments is aligned inside its own stretch of audio, so the work per group
    does not depend on the length of the recording. Words the aligner could not place keep
    Whisper's own times.
    """
    audio = np.asarray(audio, dtype=np.float32).reshape(-1)
    total = len(audio) / SAMPLE_RATE
    groups = group_segments(segments, config.group_seconds)
    texts: list[str] = []
    words: list[Word] = []
    for index, group in enumerate(groups):
        previous = groups[index - 1][-1].end if index else -math.inf
        following = groups[index + 1][0].start if index + 1 < len(groups) else math.inf
        low = max(0.0, group[0].start - config.pad_seconds, (previous + group[0].start) / 2)
        high = min(total, group[-1].end + config.pad_seconds, (group[-1].end + following) / 2)
        heard = words_from_pieces([p[:3] for s in group for p in s.pieces])
        if not heard.words:
            continue
        piece = audio[int(low * SAMPLE_RATE) : int(math.ceil(high * SAMPLE_RATE))]
        local = Transcript(heard.text, tuple(_shift(w, -low) for w in heard.words), "whisper")
        aligned, fit = aligner.align_scored(piece, heard.text, anchors=local, source="whisper")
        for mine, whisper, cost in zip(aligned.words, heard.words, fit.word_costs, strict=True):
            words.append(_shift(mine, low) if cost is not None else whisper)
        texts.append(heard.text)
        if progress is not None:
            progress("align", high, total)
    if progress is not None:
        progress("align", total, total)
    ordered = _non_decreasing(words)
    return Transcript(" ".join(texts), ordered, "whisper", tuple(warnings or ()))


def group_segments(segments: list[HeardSegment], seconds: float) -> list[list[HeardSegment]]:
    """Consecutive segments in groups spanning at most ``seconds`` (a longer one stays alone)."""
    groups: list[list[HeardSegment]] = []
    for segment in segments:
        if groups and segment.end - groups[-1][0].start <= seconds:
            groups[-1].append(segment)
        else:
            groups.append([segment])
    return groups


def fit_warning(fit: AlignmentFit, config: FrontendConfig) -> str | None:
    """A warning when ``fit`` says a given transcript does not match the audio, else None."""
    if fit.words == 0:
        return None
    if fit.aligned_share < config.fit_aligned_share or not fit.frame_cost <= config.fit_frame_cost:
        return (
            f"{DOES_NOT_FIT}: {fit.aligned_share:.0%} of its words aligned (normal: all), "
            f"acoustic cost {fit.frame_cost:.4f} per frame (normal: below "
            f"{config.fit_frame_cost}); its word times are guesses"
        )
    return None


def _with_warnings(transcript: Transcript, warnings: list[str]) -> Transcript:
    warnings = tuple(transcript.warnings) + tuple(warnings)
    return Transcript(transcript.text, transcript.words, transcript.source, warnings)


def _shift(word: Word, offset: float) -> Word:
    return Word(word.word, round(word.start + offset, 3), round(word.end + offset, 3))


def _non_decreasing(words: list[Word]) -> tuple[Word, ...]:
    """Starts made non-decreasing (a word kept at Whisper's time may overlap an aligned one)."""
    result, floor = [], 0.0
    for word in words:
        start = max(word.start, floor)
        result.append(Word(word.word, start, max(word.end, start)))
        floor = start
    return tuple(result)


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
