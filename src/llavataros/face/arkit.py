"""The 52 ARKit face blendshapes (Apple, ``ARFaceAnchor.BlendShapeLocation``).

:data:`ARKIT_NAMES` is Apple's documented order (left eye, right eye, jaw, mouth, brows,
cheeks, nose, tongue), which is also the column order of FACEGOOD's ARKit table and of every
face array in this project. The Live Link Face CSV uses a slightly different order (see
:mod:`~llavataros.face.livelink`); files are always matched by name, never by position.

Channel groups: ``jaw`` (4), ``mouth`` (23 and tongueOut), ``eyes`` (14), ``brows`` (5),
``cheeks_nose`` (5). :func:`channel_weights` gives per-channel loss weights with the jaw and
mouth heavier (lip-sync errors are the ones viewers see first).
"""

from __future__ import annotations

import numpy as np

ARKIT_NAMES: tuple[str, ...] = (
    "eyeBlinkLeft",
    "eyeLookDownLeft",
    "eyeLookInLeft",
    "eyeLookOutLeft",
    "eyeLookUpLeft",
    "eyeSquintLeft",
    "eyeWideLeft",
    "eyeBlinkRight",
    "eyeLookDownRight",
    "eyeLookInRight",
    "eyeLookOutRight",
    "eyeLookUpRight",
    "eyeSquintRight",
    "eyeWideRight",
    "jawForward",
    "jawLeft",
    "jawRight",
    "jawOpen",
    "mouthClose",
    "mouthFunnel",
    "mouthPucker",
    "mouthLeft",
    "mouthRight",
    "mouthSmileLeft",
    "mouthSmileRight",
    "mouthFrownLeft",
    "mouthFrownRight",
    "mouthDimpleLeft",
    "mouthDimpleRight",
    "mouthStretchLeft",
    "mouthStretchRight",
    "mouthRollLower",
    "mouthRollUpper",
    "mouthShrugLower",
    "mouthShrugUpper",
    "mouthPressLeft",
    "mouthPressRight",
    "mouthLowerDownLeft",
    "mouthLowerDownRight",
    "mouthUpperUpLeft",
    "mouthUpperUpRight",
    "browDownLeft",
    "browDownRight",
    "browInnerUp",
    "browOuterUpLeft",
    "browOuterUpRight",
    "cheekPuff",
    "cheekSquintLeft",
    "cheekSquintRight",
    "noseSneerLeft",
    "noseSneerRight",
    "tongueOut",
)
NUM_BLENDSHAPES = len(ARKIT_NAMES)  # 52

_LOWER = {name.lower(): k for k, name in enumerate(ARKIT_NAMES)}


def index(name: str) -> int:
    """Column of ``name`` (case-insensitive: ``JawOpen`` and ``jawOpen`` are the same)."""
    try:
        return _LOWER[name.lower()]
    except KeyError:
        raise KeyError(f"not an ARKit blendshape: {name!r}") from None


def _group(name: str) -> str:
    if name.startswith("eye"):
        return "eyes"
    if name.startswith("jaw"):
        return "jaw"
    if name.startswith("mouth") or name == "tongueOut":
        return "mouth"
    if name.startswith("brow"):
        return "brows"
    return "cheeks_nose"


GROUP_NAMES: tuple[str, ...] = ("jaw", "mouth", "eyes", "brows", "cheeks_nose")
GROUPS: dict[str, tuple[int, ...]] = {
    group: tuple(k for k, name in enumerate(ARKIT_NAMES) if _group(name) == group)
    for group in GROUP_NAMES
}
LOWER_FACE: tuple[int, ...] = tuple(sorted(GROUPS["jaw"] + GROUPS["mouth"]))

DEFAULT_GROUP_WEIGHTS: dict[str, float] = {
    "jaw": 3.0,
    "mouth": 2.0,
    "eyes": 1.0,
    "brows": 1.0,
    "cheeks_nose": 1.0,
}


def channel_weights(group_weights: dict[str, float] | None = None) -> np.ndarray:
    """Per-channel loss weights ``(52,)`` float32 from per-group weights (default: jaw 3,
    mouth 2, the rest 1), normalised to mean 1."""
    weights = dict(DEFAULT_GROUP_WEIGHTS, **(group_weights or {}))
    unknown = set(weights) - set(GROUP_NAMES)
    if unknown:
        raise KeyError(f"unknown channel groups {sorted(unknown)}; known: {list(GROUP_NAMES)}")
    result = np.zeros(NUM_BLENDSHAPES, dtype=np.float32)
    for group, columns in GROUPS.items():
        result[list(columns)] = weights[group]
    return result / result.mean()
