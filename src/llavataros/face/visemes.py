"""Phonemes to visemes: the mouth shapes of Rhubarb Lip Sync (D. Wolf) and their ARKit poses.

Rhubarb's nine shapes, named by letter: ``A`` closed lips (p, b, m), ``B`` slightly open with
clenched teeth (most consonants, ``iy``), ``C`` open (``eh``, ``ae``, ``ah``), ``D`` wide open
(``aa``, ``ay``), ``E`` slightly rounded (``ao``, ``er``), ``F`` puckered (``uw``, ``ow``,
``w``), ``G`` upper teeth on the lower lip (f, v), ``H`` tongue raised (l), ``X`` rest.

Phonemes may be ARPAbet (CMUdict, Montreal Forced Aligner; stress digits are ignored) or IPA
as espeak-ng / Piper writes it (stress and length marks are ignored; a multi-letter symbol
takes the shape of its first letter that has one). Unknown symbols count as ``B`` (a neutral
half-open consonant); silence and pauses are ``X``.

Viseme ids (the face model's optional "phoneme" input): 0 unknown / no transcript, 1 ``X``,
2..9 ``A``..``H``.
"""

from __future__ import annotations

import numpy as np

from llavataros.face.arkit import NUM_BLENDSHAPES, index

SHAPES: tuple[str, ...] = ("X", "A", "B", "C", "D", "E", "F", "G", "H")
NUM_VISEME_IDS = len(SHAPES) + 1  # 0 = unknown
UNKNOWN_ID = 0
SILENCE = {"", "sil", "sp", "spn", "pau", "<eps>", " ", ".", ",", "!", "?", ";", ":", "-", "_"}

_ARPABET = {
    **dict.fromkeys(["P", "B", "M", "EM"], "A"),
    **dict.fromkeys(["F", "V"], "G"),
    **dict.fromkeys(["L", "EL"], "H"),
    **dict.fromkeys(["UW", "OW", "W", "UH", "OY"], "F"),
    **dict.fromkeys(["AO", "ER", "AXR"], "E"),
    **dict.fromkeys(["AA", "AY", "AW"], "D"),
    **dict.fromkeys(["EH", "AE", "AH", "AX", "EY", "IH"], "C"),
    **dict.fromkeys("IY T D S Z K G NG N TH DH SH ZH CH JH R Y HH DX NX EN Q".split(), "B"),
}
_IPA = {
    **dict.fromkeys("pbm", "A"),
    **dict.fromkeys("fvɱ", "G"),
    **dict.fromkeys("lɫɭʎ", "H"),
    **dict.fromkeys("uʊowɥʉɵy", "F"),
    **dict.fromkeys("ɔɜɚɝœøɒ", "E"),
    **dict.fromkeys("ɑaɐɶ", "D"),
    **dict.fromkeys("ɛæʌəeɪɘɤ", "C"),
    **dict.fromkeys("itdszkgŋnθðʃʒɹrɾjhçxʔcɟɡʂʐɕʑʁχɲqɣʝβ", "B"),
}
_MARKS = set("ˈˌːˑ̩̯̃͡‿'")
BILABIAL_IPA = set("pbm")
BILABIAL_ARPABET = {"P", "B", "M", "EM"}

# ARKit pose of each shape (weights not listed are 0).
_POSES: dict[str, dict[str, float]] = {
    "X": {},
    "A": {"mouthPressLeft": 0.3, "mouthPressRight": 0.3, "mouthRollLower": 0.1},
    "B": {
        "jawOpen": 0.1,
        "mouthStretchLeft": 0.2,
        "mouthStretchRight": 0.2,
        "mouthLowerDownLeft": 0.1,
        "mouthLowerDownRight": 0.1,
    },
    "C": {
        "jawOpen": 0.3,
        "mouthLowerDownLeft": 0.2,
        "mouthLowerDownRight": 0.2,
        "mouthUpperUpLeft": 0.1,
        "mouthUpperUpRight": 0.1,
    },
    "D": {
        "jawOpen": 0.55,
        "mouthLowerDownLeft": 0.3,
        "mouthLowerDownRight": 0.3,
        "mouthUpperUpLeft": 0.15,
        "mouthUpperUpRight": 0.15,
    },
    "E": {"jawOpen": 0.3, "mouthFunnel": 0.35, "mouthPucker": 0.2},
    "F": {"jawOpen": 0.12, "mouthPucker": 0.6, "mouthFunnel": 0.4},
    "G": {
        "jawOpen": 0.08,
        "mouthRollLower": 0.5,
        "mouthUpperUpLeft": 0.2,
        "mouthUpperUpRight": 0.2,
    },
    "H": {"jawOpen": 0.25, "mouthLowerDownLeft": 0.1, "mouthLowerDownRight": 0.1},
}


def _pose_table() -> np.ndarray:
    table = np.zeros((len(SHAPES), NUM_BLENDSHAPES), dtype=np.float32)
    for k, shape in enumerate(SHAPES):
        for name, value in _POSES[shape].items():
            table[k, index(name)] = value
    return table


POSES = _pose_table()  # (9, 52) in SHAPES order


def viseme(phoneme: str) -> str:
    """Rhubarb shape letter of an ARPAbet or IPA phoneme (see the module docstring)."""
    text = phoneme.strip()
    if text.lower() in SILENCE:
        return "X"
    upper = text.rstrip("012").upper()
    if upper in _ARPABET:
        return _ARPABET[upper]
    for char in text:
        if char in _MARKS:
            continue
        if char in _IPA:
            return _IPA[char]
    return "B"


def is_bilabial(phoneme: str) -> bool:
    """Whether ``phoneme`` (ARPAbet or IPA) is p, b or m."""
    text = "".join(char for char in phoneme.strip() if char not in _MARKS)
    return text.rstrip("012").upper() in BILABIAL_ARPABET or (
        len(text) == 1 and text in BILABIAL_IPA
    )


def viseme_id(phoneme: str) -> int:
    """Model input id of a phoneme: 1 + index of its shape in :data:`SHAPES`."""
    return 1 + SHAPES.index(viseme(phoneme))


Phonemes = list[tuple[str, float, float]]  # (symbol, start s, end s)


def viseme_ids(phonemes: Phonemes, num_frames: int, fps: float) -> np.ndarray:
    """``(num_frames,)`` int64 viseme id of the phoneme covering each frame time ``i / fps``
    (1 = silence where none does)."""
    ids = np.ones(num_frames, dtype=np.int64)
    times = np.arange(num_frames) / fps
    for symbol, start, end in phonemes:
        ids[(times >= start) & (times < end)] = viseme_id(symbol)
    return ids


def bilabial_intervals(phonemes: Phonemes) -> list[tuple[float, float]]:
    """``(start, end)`` seconds of every p, b, m."""
    return [(start, end) for symbol, start, end in phonemes if is_bilabial(symbol)]


def with_rests(phonemes: Phonemes, min_gap: float = 0.06) -> Phonemes:
    """``phonemes`` with a silence (shape ``X``) in every gap of at least ``min_gap`` s, before
    the first and after the last, so the mouth relaxes in pauses instead of holding the pose
    of the nearest phoneme (as Rhubarb rests between words)."""
    result: Phonemes = []
    previous_end = 0.0
    for symbol, start, end in phonemes:
        if start - previous_end >= min_gap:
            result.append(("sil", previous_end, start))
        result.append((symbol, start, end))
        previous_end = max(previous_end, end)
    if phonemes:
        result.append(("sil", previous_end, previous_end + 10.0))
    return result
