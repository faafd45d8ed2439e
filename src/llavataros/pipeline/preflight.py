"""Checks before the work: everything ``animate`` can find wrong without loading a model.

Loading the models takes seconds; a missing file, an unwritable output folder, a frame rate
of 0 or a speaker the model does not know must be reported before that, in one line each. The
model is judged from its ``model.json`` alone (:func:`read_model_metadata`), audio by its
header and its first second (:func:`probe_audio`). Problems of the call (frame rate, speaker,
output folder, two inputs writing the same names) stop it; problems of one input are returned
so that a batch goes on with the others.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from llavataros.errors import InputError
from llavataros.models.checkpoint import ModelMetadata, read_model_metadata
from llavataros.speech.audio import probe_audio

FPS_RANGE = (1.0, 240.0)  # output frame rates accepted (frames per second)


def check_fps(fps: float) -> float:
    """``fps`` as a float; outside :data:`FPS_RANGE` (0, negative, NaN, 1000) is an error."""
    low, high = FPS_RANGE
    try:
        value = float(fps)
    except (TypeError, ValueError):
        raise InputError(None, f"--fps must be a number, got {fps!r}") from None
    if not (math.isfinite(value) and low <= value <= high):
        raise InputError(None, f"--fps must be between {low:g} and {high:g}, got {fps!r}")
    return value


def output_fps(fps: float | None, default: float) -> float:
    """The output frame rate: ``default`` when ``fps`` is None (never when it is 0)."""
    return float(default) if fps is None else check_fps(fps)


def check_output_folder(out_dir: str | Path) -> Path:
    """``out_dir`` is a folder, or can be made one, and files can be written in it."""
    path = Path(out_dir).absolute()
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        problem = "is a file, not a folder" if existing == path else "is a file in the path"
        raise InputError(existing, f"output folder: {problem}")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise InputError(existing, "output folder is not writable")
    return path


@dataclass(frozen=True)
class AnimateInput:
    """One recording of a call, with its transcript argument (None: Whisper)."""

    audio: Path
    transcript: str | None = None

    @property
    def name(self) -> str:
        return self.audio.stem


@dataclass
class Preflight:
    """The checked call: the inputs that passed, the one-line problem of each that did not,
    the model's metadata and the output frame rate and speaker id to use."""

    inputs: list[AnimateInput]
    failures: list[InputError] = field(default_factory=list)
    metadata: ModelMetadata | None = None
    fps: float = 0.0
    speaker: int = 0

    @property
    def total(self) -> int:
        return len(self.inputs) + len(self.failures)


def preflight_animate(
    audio: list[str | Path],
    out_dir: str | Path,
    transcripts: list[str] | None = None,
    fps: float | None = None,
    speaker: str | int | None = None,
    model: str | Path | None = None,
) -> Preflight:
    """Check an ``animate`` call before any model loads. Raises :class:`InputError` for a
    problem of the whole call; collects the problem of each input in ``failures``."""
    from llavataros.speech.frontend import read_transcript_argument

    transcripts = list(transcripts or [])
    if transcripts and len(transcripts) != len(audio):
        raise InputError(None, "give one --transcript per audio file, or none")
    inputs = [
        AnimateInput(Path(path), transcripts[index] if transcripts else None)
        for index, path in enumerate(audio)
    ]
    repeated = [name for name, count in Counter(i.name for i in inputs).items() if count > 1]
    if repeated:
        raise InputError(
            None,
            f"several inputs would write the same outputs ({', '.join(repeated)}.*): "
            "rename them or animate them in separate calls",
        )
    metadata = read_model_metadata(model)
    checked = Preflight([], metadata=metadata)
    checked.fps = output_fps(fps, metadata.corpus_fps)
    checked.speaker = metadata.speaker_id(speaker)
    check_output_folder(out_dir)
    for item in inputs:
        try:
            probe_audio(item.audio)
            if item.transcript is not None:
                read_transcript_argument(item.transcript)
        except InputError as error:
            checked.failures.append(error)
        else:
            checked.inputs.append(item)
    return checked
