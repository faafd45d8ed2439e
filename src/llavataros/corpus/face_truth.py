"""The known face of a synthetic take (issue 12): ``NAME.face.npy``, ``(T, 52)`` float32 at the
take's fps, from Piper's phoneme times.

- Mouth: rule-based visemes with coarticulation (:func:`llavataros.face.baselines.viseme_face`:
  dominance blending of neighbouring visemes, lips held closed through every p, b, m), with
  each bilabial closure anticipated by ``ANTICIPATION`` s (the lips close before the sound,
  as in speech) and the rest shape in pauses of 60 ms or more
  (:func:`llavataros.face.visemes.with_rests`).
- Upper face (:func:`llavataros.face.upper.upper_face`): blinks at the speaker's rate and brow
  raises on pitch accents: in each sentence the first and the last primary-stressed syllable
  (the onset and nuclear accents of a declarative sentence), when at least 0.6 s apart.

A pure function of the phonemes, stress times, sentence times and the seed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from llavataros.face.baselines import viseme_face
from llavataros.face.upper import combine, upper_face
from llavataros.face.visemes import Phonemes, is_bilabial, with_rests
from llavataros.speech.textgrid import read_tiers

ANTICIPATION = 0.03  # s: a bilabial closure starts this much before the phoneme
MIN_ACCENT_GAP = 0.6  # s between the two accents of one sentence


def pitch_accents(
    stress_times: tuple[float, ...] | list[float], sentence_times: tuple | list
) -> list[float]:
    """First and last primary stress of each sentence (one when they are close)."""
    accents: list[float] = []
    for start, end in sentence_times:
        inside = [t for t in stress_times if start <= t < end]
        if not inside:
            continue
        accents.append(inside[0])
        if inside[-1] - inside[0] >= MIN_ACCENT_GAP:
            accents.append(inside[-1])
    return accents


def anticipate_closures(phonemes: Phonemes) -> Phonemes:
    """Phonemes with each p, b, m starting ``ANTICIPATION`` s earlier (not before the
    previous phoneme's start)."""
    result = list(phonemes)
    for k, (symbol, start, end) in enumerate(result):
        if is_bilabial(symbol):
            floor = result[k - 1][1] if k else 0.0
            result[k] = (symbol, max(floor, start - ANTICIPATION), end)
    return result


def synthetic_face(
    phonemes: Phonemes,
    stress_times: tuple[float, ...] | list[float],
    sentence_times: tuple | list,
    num_frames: int,
    fps: float,
    seed: int,
    blinks_per_minute: float = 17.0,
) -> np.ndarray:
    """``(num_frames, 52)`` float32 in [0, 1]: visemes plus blinks and brow raises."""
    mouth = viseme_face(with_rests(anticipate_closures(phonemes)), num_frames, fps)
    accents = pitch_accents(stress_times, sentence_times)
    upper = upper_face(num_frames, fps, accents, seed, blinks_per_minute)
    return combine(mouth, upper)


def load_phonemes(textgrid: str | Path) -> Phonemes:
    """``(symbol, start, end)`` of the ``phones`` tier of a synthetic take's TextGrid (empty
    intervals left out; [] when the file has no such tier)."""
    for tier in read_tiers(textgrid):
        if tier.name == "phones":
            return [(i.text, i.start, i.end) for i in tier.intervals if i.text.strip()]
    return []
