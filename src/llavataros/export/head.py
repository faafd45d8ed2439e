"""A stylised head with the 52 ARKit blendshapes as procedural morph targets.

Head-local frame: origin at the head centre, metres, +Y up, the face looks along +Z, the
character's left is +X (so ARKit's ``...Left`` shapes move the +X side). The skin has a
hole at the mouth, covered by two lip tubes; a dark mouth cavity and a tongue sit behind it,
so ``jawOpen`` (the lower face rotating about a hinge below the ears) shows an open mouth.
Eyelids are spherical wedges that rotate over the eyeballs (``eyeBlink*``); irises rotate about
the eye centres (``eyeLook*``). Displacements are plausible, not anatomical.
"""

from __future__ import annotations

import numpy as np

from llavataros.export.geometry import (
    Part,
    bump,
    circle,
    ellipsoid,
    orient_outward,
    rotation_displacement,
    smoothstep,
    sweep,
)
from llavataros.face.arkit import ARKIT_NAMES

RADII = np.array([0.082, 0.112, 0.098])  # head semi-axes
MOUTH_Y = -0.055  # height of the lip line
MOUTH_HALF_WIDTH = 0.024
EYE_Y, EYE_X, EYE_RADIUS = 0.015, 0.032, 0.0155
BROW_Y = 0.045
JAW_PIVOT = np.array([0.0, -0.005, -0.01])
JAW_OPEN_ANGLE = 0.32  # radians at jawOpen = 1

# Material of each part tag.
MATERIAL_OF_TAG = {
    "skin": "skin", "nose": "skin", "ear": "skin", "lid_upper": "skin", "lid_lower": "skin",
    "lip_upper": "lips", "lip_lower": "lips", "eye": "eye", "iris": "iris", "brow": "hair",
    "hair": "hair", "mouth": "mouth", "tongue": "tongue",
}  # fmt: skip


def surface_z(x: np.ndarray | float, y: np.ndarray | float) -> np.ndarray:
    """Front surface depth of the head ellipsoid at ``(x, y)``."""
    inside = 1.0 - (np.asarray(x) / RADII[0]) ** 2 - (np.asarray(y) / RADII[1]) ** 2
    return RADII[2] * np.sqrt(np.clip(inside, 0.0, None))


def _skin(rings: int = 44, segments: int = 60) -> Part:
    head = ellipsoid("skin", [0, 0, 0], RADII, rings=rings, segments=segments)
    centroids = head.vertices[head.triangles].mean(axis=1)
    in_mouth = (
        (centroids[:, 0] / MOUTH_HALF_WIDTH) ** 2 + ((centroids[:, 1] - MOUTH_Y) / 0.007) ** 2 < 1.0
    ) & (centroids[:, 2] > 0)
    return Part("skin", head.vertices, head.triangles[~in_mouth])


def _lip(tag: str, sign: float, thickness: float) -> Part:
    x = MOUTH_HALF_WIDTH * 1.08 * np.cos(np.linspace(np.pi, 0.0, 17))
    profile = np.sqrt(np.clip(1.0 - (x / (MOUTH_HALF_WIDTH * 1.08)) ** 2, 0.0, 1.0))
    y = MOUTH_Y + sign * 0.0052 * profile
    centres = np.stack([x, y, surface_z(x, y) + 0.001], axis=-1)
    scales = np.stack([thickness * profile, thickness * profile * 0.8], axis=-1)
    scales[[0, -1]] = 0.0
    return sweep(tag, centres, [0, 1.0, 0], [0, 0, 1.0], scales, circle(10))


def _lid(tag: str, side: float, start: float, stop: float) -> Part:
    """A spherical wedge over the eye: elevations ``start..stop`` (radians, from +Z to +Y)."""
    centre = np.array([side * EYE_X, EYE_Y, surface_z(EYE_X, EYE_Y) - 0.6 * EYE_RADIUS])
    angles = np.linspace(start, stop, 12)
    shape = np.concatenate([[[0.0, 0.0]], np.stack([np.cos(angles), np.sin(angles)], -1)])
    u = np.linspace(-1.0, 1.0, 9)
    radius = EYE_RADIUS * 1.12 * np.sqrt(1.0 - u**2)
    centres = centre + np.outer(u * EYE_RADIUS * 1.12, [1.0, 0, 0])
    part = sweep(tag, centres, [0, 0, 1.0], [0, 1.0, 0], np.stack([radius, radius], -1), shape)
    return orient_outward(part)


def eye_centre(side: float) -> np.ndarray:
    return np.array([side * EYE_X, EYE_Y, surface_z(EYE_X, EYE_Y) - 0.6 * EYE_RADIUS])


def head_parts() -> list[Part]:
    """All parts of the head in head-local coordinates."""
    parts = [_skin(), _lip("lip_upper", 1.0, 0.0058), _lip("lip_lower", -1.0, 0.0068)]
    mouth_z = surface_z(0.0, MOUTH_Y)
    parts.append(ellipsoid("mouth", [0, MOUTH_Y - 0.004, mouth_z - 0.036], [0.024, 0.018, 0.028]))
    parts.append(ellipsoid("tongue", [0, MOUTH_Y - 0.01, mouth_z - 0.032], [0.015, 0.006, 0.018]))
    nose_y = -0.012
    nose = [0, nose_y, surface_z(0, nose_y) - 0.002]
    parts.append(ellipsoid("nose", nose, [0.011, 0.022, 0.016]))
    for side in (-1.0, 1.0):
        centre = eye_centre(side)
        parts.append(ellipsoid("eye", centre, [EYE_RADIUS] * 3, rings=10, segments=14))
        iris = centre + [0, 0, EYE_RADIUS * 0.93]
        parts.append(ellipsoid("iris", iris, [0.0075, 0.0075, 0.0025], 6, 12, axis=2))
        parts.append(_lid("lid_upper", side, np.radians(28.0), np.radians(170.0)))
        parts.append(_lid("lid_lower", side, np.radians(-150.0), np.radians(-30.0)))
        brow = np.array([side * 0.033, BROW_Y, surface_z(0.033, BROW_Y) + 0.001])
        parts.append(ellipsoid("brow", brow, [0.017, 0.0035, 0.004], 6, 10, axis=0))
        parts.append(ellipsoid("ear", [side * 0.081, 0.0, -0.005], [0.012, 0.03, 0.018], 8, 10))
    hair = ellipsoid("hair", [0, 0.018, -0.012], RADII * [1.06, 0.96, 1.02], 16, 28)
    keep = ~(
        (hair.vertices[hair.triangles].mean(axis=1)[:, 2] > 0.045)
        & (hair.vertices[hair.triangles].mean(axis=1)[:, 1] < 0.085)
    )
    parts.append(Part("hair", hair.vertices, hair.triangles[keep]))  # open at the face
    return parts


def _masks(p: np.ndarray, tag: str) -> dict[str, np.ndarray]:
    """Region masks ``(n,)`` for one part's vertices."""
    x, y = p[:, 0], p[:, 1]
    ones, zeros = np.ones(len(p)), np.zeros(len(p))
    mouth_tags = ("skin", "lip_upper", "lip_lower", "mouth", "tongue")
    near_mouth = bump(p, [0, MOUTH_Y, surface_z(0, MOUTH_Y)], [0.05, 0.032, 0.07])
    upper = smoothstep(MOUTH_Y - 0.003, MOUTH_Y + 0.003, y)
    if tag == "lip_upper":
        upper = ones
    elif tag in ("lip_lower", "tongue"):
        upper = zeros
    jaw = (
        smoothstep(MOUTH_Y + 0.001, MOUTH_Y - 0.004, y)
        * smoothstep(-0.05, 0.02, p[:, 2])
        * smoothstep(0.085, 0.06, np.abs(x))
    )
    if tag in ("lip_lower", "tongue"):
        jaw = ones
    elif tag == "lip_upper":
        jaw = zeros
    elif tag not in mouth_tags:
        jaw = zeros
    lips = near_mouth if tag in mouth_tags else zeros
    return {
        "lips": lips,
        "upper": upper,
        "lower": 1.0 - upper,
        "jaw": jaw,
        "left": smoothstep(-0.01, 0.01, x),
        "right": smoothstep(0.01, -0.01, x),
        "face_skin": ones if tag in ("skin", "nose", "brow", "lid_lower") else zeros,
    }


def _corner(p: np.ndarray, side: float, masks: dict) -> np.ndarray:
    x = side * MOUTH_HALF_WIDTH
    centre = [x, MOUTH_Y, surface_z(x, MOUTH_Y)]
    return bump(p, centre, [0.024, 0.024, 0.05]) * (masks["lips"] > 0)


def _eye_targets(p: np.ndarray, tag: str, side: float) -> dict[str, np.ndarray]:
    """Eye shapes of one side (``side`` +1 is the character's left, ARKit ``Left``)."""
    suffix = "Left" if side > 0 else "Right"
    zero = np.zeros_like(p)
    on_side = (np.sign(p[:, 0]) == side)[:, None]
    centre = eye_centre(side)
    out = {name + suffix: zero for name in ("eyeBlink", "eyeSquint", "eyeWide")}
    for name in ("eyeLookDown", "eyeLookUp", "eyeLookIn", "eyeLookOut"):
        out[name + suffix] = zero
    x_axis, y_axis = [1.0, 0, 0], [0, 1.0, 0]
    if tag == "lid_upper":
        out["eyeBlink" + suffix] = on_side * rotation_displacement(p, centre, x_axis, 1.0)
        out["eyeSquint" + suffix] = on_side * rotation_displacement(p, centre, x_axis, 0.25)
        out["eyeWide" + suffix] = on_side * rotation_displacement(p, centre, x_axis, -0.3)
    elif tag == "lid_lower":
        out["eyeBlink" + suffix] = on_side * rotation_displacement(p, centre, x_axis, -0.12)
        out["eyeSquint" + suffix] = on_side * rotation_displacement(p, centre, x_axis, -0.35)
    elif tag == "iris":
        look = {"eyeLookDown": (x_axis, 0.35), "eyeLookUp": (x_axis, -0.35)}
        look["eyeLookOut"] = (y_axis, 0.45 * side)
        look["eyeLookIn"] = (y_axis, -0.45 * side)
        for name, (axis, angle) in look.items():
            out[name + suffix] = on_side * rotation_displacement(p, centre, axis, angle)
    if tag in ("skin", "lid_lower"):  # squint lifts the cheek under the eye
        cheek = bump(p, [side * 0.036, -0.012, surface_z(0.036, -0.012)], [0.02, 0.018, 0.03])
        out["eyeSquint" + suffix] = out["eyeSquint" + suffix] + np.outer(cheek, [0, 0.003, 0])
    return out


def part_targets(part: Part) -> dict[str, np.ndarray]:
    """Displacements ``(n, 3)`` of one part for each of the 52 ARKit shapes."""
    p, tag = part.vertices, part.tag
    m = _masks(p, tag)
    lips, upper, lower, jaw = m["lips"], m["upper"], m["lower"], m["jaw"]

    def vec(weight: np.ndarray, dx: float, dy: float, dz: float) -> np.ndarray:
        return np.outer(weight, [dx, dy, dz])

    targets: dict[str, np.ndarray] = {}
    for side in (1.0, -1.0):
        targets.update(_eye_targets(p, tag, side))
    targets["jawOpen"] = jaw[:, None] * rotation_displacement(
        p, JAW_PIVOT, [1.0, 0, 0], JAW_OPEN_ANGLE
    )
    targets["jawForward"] = vec(jaw, 0, 0, 0.01)
    targets["jawLeft"] = vec(jaw, 0.01, 0, 0)
    targets["jawRight"] = vec(jaw, -0.01, 0, 0)
    targets["mouthClose"] = vec(lips * lower, 0, 0.026, 0.004) + vec(lips * upper, 0, -0.004, 0)
    targets["mouthFunnel"] = (
        vec(lips, 0, 0, 0.009)
        + np.outer(lips, [1, 0, 0]) * (-0.3 * p[:, :1])
        + vec(lips * (upper - lower), 0, 0.004, 0)
    )
    targets["mouthPucker"] = (
        vec(lips, 0, 0, 0.013)
        + np.outer(lips, [1, 0, 0]) * (-0.45 * p[:, :1])
        + vec(lips * (lower - upper), 0, 0.0015, 0)
    )
    targets["mouthLeft"] = vec(lips, 0.011, 0, 0)
    targets["mouthRight"] = vec(lips, -0.011, 0, 0)
    for side, suffix in ((1.0, "Left"), (-1.0, "Right")):
        corner = _corner(p, side, m)
        half = lips * m["left" if side > 0 else "right"]
        targets["mouthSmile" + suffix] = vec(corner, side * 0.006, 0.009, -0.004)
        targets["mouthFrown" + suffix] = vec(corner, side * 0.002, -0.008, 0)
        targets["mouthDimple" + suffix] = vec(corner, side * 0.004, 0.001, -0.006)
        targets["mouthStretch" + suffix] = vec(corner, side * 0.01, -0.004, -0.002)
        targets["mouthPress" + suffix] = vec(half * (lower - upper), 0, 0.003, -0.001)
        targets["mouthLowerDown" + suffix] = vec(half * lower, 0, -0.008, 0.001)
        targets["mouthUpperUp" + suffix] = vec(half * upper, 0, 0.007, 0.001)
    near_lips = lips * bump(p, [0, MOUTH_Y, surface_z(0, MOUTH_Y)], [0.035, 0.014, 0.07])
    targets["mouthRollLower"] = vec(near_lips * lower, 0, 0.003, -0.006)
    targets["mouthRollUpper"] = vec(near_lips * upper, 0, -0.003, -0.006)
    targets["mouthShrugLower"] = vec(lips * lower, 0, 0.006, 0.003)
    targets["mouthShrugUpper"] = vec(lips * upper, 0, 0.004, 0.002)
    brow_like = m["face_skin"] + (tag == "brow")
    brow_like = np.clip(brow_like, 0, 1)
    for side, suffix in ((1.0, "Left"), (-1.0, "Right")):
        z = surface_z(0.033, BROW_Y)
        whole = brow_like * bump(p, [side * 0.033, BROW_Y, z], [0.03, 0.018, 0.04])
        outer = brow_like * bump(p, [side * 0.05, BROW_Y, z - 0.01], [0.022, 0.018, 0.04])
        targets["browDown" + suffix] = vec(whole, -side * 0.003, -0.006, 0.001)
        targets["browOuterUp" + suffix] = vec(outer, 0, 0.008, 0)
        cheek = m["face_skin"] * bump(
            p, [side * 0.04, -0.02, surface_z(0.04, -0.02)], [0.025, 0.02, 0.04]
        )
        targets["cheekSquint" + suffix] = vec(cheek, 0, 0.006, 0)
        nose = np.clip(m["face_skin"], 0, 1) * bump(
            p, [side * 0.012, -0.018, surface_z(0.012, -0.018) + 0.005], [0.016, 0.02, 0.04]
        )
        targets["noseSneer" + suffix] = vec(nose, 0, 0.005, -0.001)
    inner = brow_like * (
        bump(p, [0.016, BROW_Y, surface_z(0.016, BROW_Y)], [0.022, 0.018, 0.04])
        + bump(p, [-0.016, BROW_Y, surface_z(0.016, BROW_Y)], [0.022, 0.018, 0.04])
    )
    targets["browInnerUp"] = vec(inner, 0, 0.008, 0)
    puff = (tag == "skin") * (
        bump(p, [0.045, MOUTH_Y + 0.005, surface_z(0.045, MOUTH_Y)], [0.035, 0.035, 0.06])
        + bump(p, [-0.045, MOUTH_Y + 0.005, surface_z(0.045, MOUTH_Y)], [0.035, 0.035, 0.06])
    )
    outward = p * [1.0, 0.0, 1.0]
    outward /= np.maximum(np.linalg.norm(outward, axis=-1, keepdims=True), 1e-9)
    targets["cheekPuff"] = puff[:, None] * 0.013 * outward
    targets["tongueOut"] = vec(np.full(len(p), tag == "tongue", dtype=float), 0, -0.004, 0.03)
    return {name: targets[name] for name in ARKIT_NAMES}
