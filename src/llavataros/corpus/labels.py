"""Ground-truth labels of a synthetic take (SPEC section 4): every semantic gesture with its
trigger word and peak, and every beat, as written to ``NAME.gestures.json``."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

MIRRORED_HAND = {"right": "left", "left": "right", "both": "both"}


@dataclass(frozen=True)
class GestureLabel:
    """A semantic gesture: class, trigger word (index into the transcript words), the word's
    start / end and the gesture's peak (s), the hand(s) and the movement's start / end (s)."""

    gesture: str
    word: str
    word_index: int
    word_start: float
    word_end: float
    peak: float
    hand: str  # "right", "left" or "both"
    start: float
    end: float


@dataclass(frozen=True)
class BeatLabel:
    """A beat: the time (s) the down-stroke lands, its depth (m), the audio loudness there
    (normalised, 0-1), and the hand(s)."""

    time: float
    amplitude: float
    loudness: float
    hand: str


@dataclass(frozen=True)
class GestureLabels:
    """All labels of one take."""

    gestures: tuple[GestureLabel, ...] = ()
    beats: tuple[BeatLabel, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict:
        def rounded(item) -> dict:
            return {k: round(v, 4) if isinstance(v, float) else v for k, v in asdict(item).items()}

        return {
            "gestures": [rounded(g) for g in self.gestures],
            "beats": [rounded(b) for b in self.beats],
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, data: dict) -> GestureLabels:
        return cls(
            gestures=tuple(GestureLabel(**g) for g in data.get("gestures", [])),
            beats=tuple(BeatLabel(**b) for b in data.get("beats", [])),
            notes=tuple(data.get("notes", [])),
        )

    def mirrored(self) -> GestureLabels:
        """Labels of the left/right mirrored take: hands swapped."""
        return GestureLabels(
            gestures=tuple(replace(g, hand=MIRRORED_HAND[g.hand]) for g in self.gestures),
            beats=tuple(replace(b, hand=MIRRORED_HAND[b.hand]) for b in self.beats),
            notes=self.notes,
        )
