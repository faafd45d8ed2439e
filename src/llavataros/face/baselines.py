"""Two face baselines that every learned face model must beat (issue 12).

- :func:`loudness_jaw`: ``jawOpen`` follows the loudness envelope (RMS in dB relative to the
  clip's loud level), the trick of many real-time avatars; every other channel stays 0.
- :func:`viseme_face`: rule-based visemes from aligned phonemes in the manner of Rhubarb Lip
  Sync: phoneme -> mouth shape (:mod:`~llavataros.face.visemes`) -> ARKit pose, blended with
  dominance functions (Cohen & Massaro 1993): each phoneme pulls the face towards its pose
  with full strength inside its interval and a strength that decays exponentially outside it;
  lip closures (p, b, m) and f/v dominate strongly, vowels moderately, other consonants
  weakly (they take the shape of their neighbours), which is the coarticulation. As in
  Rhubarb, the lips are held closed through every p, b, m.

Both are pure functions returning ``(T, 52)`` float32 in [0, 1] at ``fps``.
"""

from __future__ import annotations

import numpy as np

from llavataros.face.arkit import NUM_BLENDSHAPES, index
from llavataros.face.visemes import POSES, SHAPES, Phonemes, viseme

JAW_OPEN = index("jawOpen")
DOMINANCE = {"X": 0.5, "A": 1.0, "G": 1.0, "F": 0.8, "B": 0.25, "H": 0.4}  # others 0.6


def rms_db(audio: np.ndarray, sample_rate: int, num_frames: int, fps: float) -> np.ndarray:
    """Loudness per frame ``(num_frames,)`` in dBFS: RMS of the ``2 / fps`` s centred on each
    frame time (floor -120 dB)."""
    audio = np.asarray(audio, dtype=np.float64)
    half = max(1, int(round(sample_rate / fps)))
    power = np.concatenate([[0.0], np.cumsum(audio**2)])
    centres = np.round(np.arange(num_frames) * sample_rate / fps).astype(np.int64)
    low = np.clip(centres - half, 0, len(audio))
    high = np.clip(centres + half, 0, len(audio))
    mean = (power[high] - power[low]) / np.maximum(high - low, 1)
    return 10.0 * np.log10(np.maximum(mean, 1e-12))


def loudness_jaw(
    audio: np.ndarray,
    sample_rate: int,
    num_frames: int,
    fps: float,
    max_open: float = 0.45,
    range_db: float = 30.0,
    reference_percentile: float = 95.0,
) -> np.ndarray:
    """``(num_frames, 52)`` with ``jawOpen = max_open * clip((L - (R - range_db)) / range_db,
    0, 1)``, ``L`` the frame loudness (:func:`rms_db`) and ``R`` its ``reference_percentile``
    over the clip (so the level of the recording does not matter)."""
    level = rms_db(audio, sample_rate, num_frames, fps)
    reference = np.percentile(level, reference_percentile) if len(level) else 0.0
    openness = np.clip((level - (reference - range_db)) / range_db, 0.0, 1.0)
    weights = np.zeros((num_frames, NUM_BLENDSHAPES), dtype=np.float32)
    weights[:, JAW_OPEN] = max_open * openness
    return weights


def viseme_face(
    phonemes: Phonemes,
    num_frames: int,
    fps: float,
    spread: float = 0.06,
    first_frame: int = 0,
    cutoff: float | None = None,
) -> np.ndarray:
    """``(num_frames, 52)`` rule-based visemes from ``phonemes`` ``[(symbol, start_s, end_s)]``
    (ARPAbet or IPA) for frames ``first_frame ...``. ``spread`` (s) is the decay time of a
    phoneme's dominance outside its interval; frames far from any phoneme rest (shape ``X``).
    With ``cutoff`` (s) a phoneme farther than that from a frame does not touch it, so a frame
    depends only on the phonemes near it (the stream computes it from those alone)."""
    times = (first_frame + np.arange(num_frames)) / fps  # (t,)
    rest = 1e-3  # a weak pull to the rest pose everywhere
    total = np.full((num_frames, 1), rest)
    blend = np.zeros((num_frames, NUM_BLENDSHAPES))
    for symbol, start, end in phonemes:
        shape = viseme(symbol)
        strength = DOMINANCE.get(shape, 0.6)
        distance = np.maximum(np.maximum(start - times, times - end), 0.0)  # 0 inside
        # frames inside an interval shorter than a frame still see it at full strength
        distance = np.maximum(distance - 0.5 / fps, 0.0)
        dominance = strength * np.exp(-distance / spread)[:, None]  # (t, 1)
        if cutoff is not None:
            dominance[distance > cutoff] = 0.0
        total += dominance
        blend += dominance * POSES[SHAPES.index(shape)]
    weights = blend / total
    # Rhubarb holds closures: frames inside a p/b/m (or the frame nearest its middle when it is
    # shorter than a frame) take the closed pose outright.
    closed = POSES[SHAPES.index("A")]
    for symbol, start, end in phonemes:
        if viseme(symbol) == "A" and num_frames:
            inside = (times >= start) & (times <= end)
            nearest = int(round(0.5 * (start + end) * fps)) - first_frame
            if not inside.any() and 0 <= nearest < num_frames:
                inside[nearest] = True
            weights[inside] = closed
    return np.clip(weights, 0.0, 1.0).astype(np.float32)
