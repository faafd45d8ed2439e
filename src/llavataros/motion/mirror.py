"""Left/right mirroring of AvatarOS takes (SPEC section 1: every take has a ``mirror`` copy).

The reflection is across the YZ plane, ``M = diag(-1, 1, 1)`` (x -> -x; the character's right
side is -X, so right and left exchange). A global rotation ``R`` becomes ``M R M``, a proper
rotation whose quaternion is ``(qx, -qy, -qz, qw)``. Joint data moves to the partner joint
(``MIRROR_PARTNER``), and the skeleton's parent-local offsets become ``M @ offset`` of the
partner, so ``pos'[c] - pos'[p] = M R_p o = (M R_p M)(M o)``: forward kinematics with the
mirrored skeleton reproduces the mirrored positions exactly as well as the original did.
``mirror(mirror(m)) == m``.
"""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np

from llavataros.errors import InputError
from llavataros.motion.skeleton import JOINT_NAMES, MIRROR_PARTNER, Skeleton
from llavataros.motion.take import Motion

POSITION_SIGNS = np.array([-1.0, 1.0, 1.0])
QUATERNION_SIGNS = np.array([1.0, -1.0, -1.0, 1.0])
SIDES = (("Right", "Left"), ("Left", "Right"))
TAKE_NAME = re.compile(r"^(?P<take>\d+_[A-Za-z]+_\d+)_(?P<mirror>mirror_)?(?P<rest>x_\d+_\d+)$")


def partners(names: tuple[str, ...]) -> tuple[int, ...]:
    """Index of each joint's left/right partner: ``MIRROR_PARTNER`` for AvatarOS names, else by
    swapping a ``Right``/``Left`` prefix (joints without a partner map to themselves)."""
    if tuple(names) == JOINT_NAMES:
        return MIRROR_PARTNER
    index = {name: position for position, name in enumerate(names)}
    result = []
    for position, name in enumerate(names):
        partner = position
        for side, other in SIDES:
            if name.startswith(side) and other + name[len(side) :] in index:
                partner = index[other + name[len(side) :]]
                break
        result.append(partner)
    return tuple(result)


def mirror_positions(
    positions: np.ndarray, partner: tuple[int, ...] = MIRROR_PARTNER
) -> np.ndarray:
    """``(..., j, 3)`` positions reflected (x -> -x) and moved to partner joints."""
    return np.asarray(positions)[..., list(partner), :] * POSITION_SIGNS


def mirror_rotations(quats: np.ndarray, partner: tuple[int, ...] = MIRROR_PARTNER) -> np.ndarray:
    """``(..., j, 4)`` global quaternions ``R -> M R M`` and moved to partner joints."""
    return np.asarray(quats)[..., list(partner), :] * QUATERNION_SIGNS


def mirror_skeleton(skeleton: Skeleton) -> Skeleton:
    """The skeleton whose offsets are the partners' offsets with x negated."""
    partner = partners(skeleton.names)
    return replace(skeleton, offsets=mirror_positions(skeleton.offsets, partner))


def mirror(motion: Motion) -> Motion:
    """Left/right mirrored copy of ``motion`` (positions, quaternions and skeleton)."""
    partner = partners(motion.skeleton.names)
    return Motion(
        positions=mirror_positions(motion.positions, partner),
        rotations=mirror_rotations(motion.rotations, partner),
        fps=motion.fps,
        skeleton=mirror_skeleton(motion.skeleton),
    )


def is_mirrored(name: str) -> bool:
    """Whether a take name (``NNN_Style_k_mirror_x_1_0``) denotes a mirrored copy."""
    return _parse(name).group("mirror") is not None


def mirror_name(name: str) -> str:
    """``NNN_Style_k_x_1_0`` <-> ``NNN_Style_k_mirror_x_1_0`` (a file suffix is kept)."""
    stem, dot, suffix = name.partition(".")
    match = _parse(stem)
    mirrored = "" if match.group("mirror") else "mirror_"
    return f"{match.group('take')}_{mirrored}{match.group('rest')}{dot}{suffix}"


def _parse(name: str) -> re.Match:
    match = TAKE_NAME.match(name.partition(".")[0])
    if match is None:
        raise InputError(
            name, "not an AvatarOS take name (NNN_Style_k_x_1_0 or NNN_Style_k_mirror_x_1_0)"
        )
    return match
