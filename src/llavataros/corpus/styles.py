"""Synthetic speakers of the corpus (SPEC section 4: "Several synthetic speakers differ in style
(amplitude, tempo, dominant hand)").

A :class:`SpeakerStyle` holds the voice settings of the speech side and every motion trait of
the procedural animator: gesture size and speed, dominant hand, beat size, rest pose, idle
sway and breathing. :func:`make_speakers` draws ``k`` distinct styles deterministically from a
generator; the first speaker is right-handed, every third from the second on left-handed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from llavataros.errors import InputError

if TYPE_CHECKING:
    from llavataros.speech.tts import Voice

SPEAKER_NAMES = (
    "Ada",
    "Bruno",
    "Clara",
    "Dmitri",
    "Elena",
    "Felix",
    "Greta",
    "Hugo",
    "Ines",
    "Jonas",
    "Kira",
    "Leon",
    "Mira",
    "Nils",
    "Olga",
    "Pavel",
    "Quinn",
    "Rosa",
    "Sven",
    "Tara",
)


@dataclass(frozen=True)
class SpeakerStyle:
    """One synthetic speaker. Lengths in metres, angles in radians.

    - ``gesture_amplitude`` in [0, 1]: modest to wide semantic gestures (always inside the
      SPEC section 4 thresholds);
    - ``tempo``: factor on gesture phase durations (> 1 is slower);
    - ``beat_amplitude``: depth of the loudest beat down-stroke;
    - ``two_hand_beats``: probability that a run of beats uses both hands;
    - rest pose: ``arm_hang`` (sideways distance of the resting wrists from the body's
      midline), ``elbow_bend`` in [0, 1] (straight-hanging to bent forearms), ``slouch``
      (forward flexion of the upper spine; the skeleton fixes the shoulders to Spine2, so
      this is how shoulder height and carriage vary);
    - idle: ``sway`` (root drift amplitude) and ``breathing`` (chest pitch amplitude).
    """

    name: str
    voice: Voice
    dominant_hand: Literal["right", "left"] = "right"
    gesture_amplitude: float = 0.5
    tempo: float = 1.0
    beat_amplitude: float = 0.05
    two_hand_beats: float = 0.25
    arm_hang: float = 0.24
    elbow_bend: float = 0.5
    slouch: float = 0.03
    sway: float = 0.012
    breathing: float = 0.01

    def __post_init__(self):
        if not self.name.isalpha():
            raise InputError(None, f"speaker name must be letters only, got {self.name!r}")
        if self.dominant_hand not in ("right", "left"):
            raise InputError(
                None, f"dominant_hand must be 'right' or 'left', got {self.dominant_hand!r}"
            )
        checks = {
            "gesture_amplitude": (self.gesture_amplitude, 0.0, 1.0),
            "tempo": (self.tempo, 0.7, 1.3),
            "beat_amplitude": (self.beat_amplitude, 0.0, 0.08),
            "two_hand_beats": (self.two_hand_beats, 0.0, 1.0),
            "arm_hang": (self.arm_hang, 0.20, 0.27),
            "elbow_bend": (self.elbow_bend, 0.0, 1.0),
            "slouch": (self.slouch, 0.0, 0.12),
            "sway": (self.sway, 0.0, 0.03),
            "breathing": (self.breathing, 0.0, 0.03),
        }
        for key, (value, low, high) in checks.items():
            if not low <= value <= high:
                raise InputError(None, f"speaker style {key}={value} outside [{low}, {high}]")

    def to_dict(self) -> dict:
        """JSON-ready fields (floats rounded to 4 decimals), the voice as a nested dict."""

        def rounded(data: dict) -> dict:
            return {k: round(v, 4) if isinstance(v, float) else v for k, v in data.items()}

        data = rounded(asdict(self))
        data["voice"] = rounded(asdict(self.voice))
        return data


def make_speakers(k: int, rng: np.random.Generator) -> tuple[SpeakerStyle, ...]:
    """``k`` distinct speaker styles (``k <= 20``) drawn from ``rng``; same state, same styles."""
    from llavataros.speech.tts import Voice

    if not 1 <= k <= len(SPEAKER_NAMES):
        raise InputError(None, f"number of speakers must be in 1..{len(SPEAKER_NAMES)}, got {k}")
    speakers = []
    for index in range(k):
        u = rng.uniform(size=14)
        voice = Voice(
            length_scale=float(0.92 + 0.2 * u[0]),
            noise_scale=float(0.55 + 0.2 * u[1]),
            noise_w=float(0.6 + 0.25 * u[2]),
            pitch_semitones=float(-3.0 + 6.0 * u[3]),
            sentence_pause=float(0.3 + 0.3 * u[4]),
            seed=index,
        )
        speakers.append(
            SpeakerStyle(
                name=SPEAKER_NAMES[index],
                voice=voice,
                dominant_hand="left" if index % 3 == 1 else "right",
                gesture_amplitude=float(u[5]),
                tempo=float(0.85 + 0.3 * u[6]),
                beat_amplitude=float(0.04 + 0.035 * u[7]),
                two_hand_beats=float(0.5 * u[8]),
                arm_hang=float(0.21 + 0.05 * u[9]),
                elbow_bend=float(u[10]),
                slouch=float(0.08 * u[11]),
                sway=float(0.006 + 0.014 * u[12]),
                breathing=float(0.006 + 0.01 * u[13]),
            )
        )
    return tuple(speakers)
