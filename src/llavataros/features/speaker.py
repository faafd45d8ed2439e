"""Speaker / acting-style ids: the conditioning label of each take.

LLAniMAtion (arXiv 2405.08042) conditions the generator on a speaker identity. In
the AvatarOS corpus one actor performs 19 acting styles (SPEC section 1), so the style named in
the take (``NNN_Style_k[_mirror]_x_1_0``) plays the part of the speaker. The vocabulary mapping
names to ids is saved with a checkpoint (``to_dict`` / ``from_dict``) so ids stay stable.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from llavataros.errors import InputError

AVATAROS_STYLES: tuple[str, ...] = (
    "Neutral", "Sad", "Happy", "Relaxed", "Old", "Angry", "Agreement", "Disagreement", "Flirty",
    "Pensive", "Scared", "Distracted", "Sarcastic", "Threatening", "Still", "Laughing", "Sneaky",
    "Tired", "Speech",
)  # fmt: skip

_TAKE_NAME = re.compile(r"^\d+_([A-Za-z][A-Za-z0-9-]*)_")


def style_from_take_name(name: str) -> str:
    """``"001_Neutral_0_mirror_x_1_0"`` -> ``"Neutral"`` (the field after the take number)."""
    match = _TAKE_NAME.match(name)
    if not match:
        raise InputError(
            name,
            "cannot read a style from the take name (expected NNN_Style_k_..., e.g. "
            "001_Neutral_0_x_1_0, or a 'style' entry in NAME.json)",
        )
    return match.group(1)


@dataclass(frozen=True)
class SpeakerVocabulary:
    """An ordered list of speaker/style names; a name's id is its index."""

    names: tuple[str, ...] = AVATAROS_STYLES

    def __post_init__(self):
        if len(set(self.names)) != len(self.names):
            raise InputError(None, f"speaker names repeat: {list(self.names)}")

    def __len__(self) -> int:
        return len(self.names)

    def __contains__(self, name: str) -> bool:
        return name in self.names

    def id(self, name: str) -> int:
        """Id of ``name``; an unknown name is an InputError listing the known ones."""
        try:
            return self.names.index(name)
        except ValueError:
            raise InputError(
                None, f"unknown speaker {name!r}; known speakers: {', '.join(self.names)}"
            ) from None

    def name(self, speaker_id: int) -> str:
        """Name of ``speaker_id``; out of range is an InputError listing the known ones."""
        if not 0 <= int(speaker_id) < len(self.names):
            known = ", ".join(f"{i}={n}" for i, n in enumerate(self.names))
            raise InputError(None, f"unknown speaker id {speaker_id}; known speakers: {known}")
        return self.names[int(speaker_id)]

    def resolve(self, speaker: str | int) -> int:
        """Id for a name or an id (``"Happy"``, ``2`` and ``"2"`` all work)."""
        if isinstance(speaker, int) or (isinstance(speaker, str) and speaker.isdigit()):
            self.name(int(speaker))
            return int(speaker)
        return self.id(speaker)

    def extended(self, names: Iterable[str]) -> SpeakerVocabulary:
        """This vocabulary plus unseen ``names`` appended in sorted order (old ids kept)."""
        extra = sorted(set(names) - set(self.names))
        return SpeakerVocabulary(self.names + tuple(extra))

    def to_dict(self) -> dict:
        return {"names": list(self.names)}

    @classmethod
    def from_dict(cls, data: dict) -> SpeakerVocabulary:
        try:
            return cls(tuple(str(name) for name in data["names"]))
        except (KeyError, TypeError) as error:
            raise InputError(None, f"not a speaker vocabulary ({error!r})") from None
