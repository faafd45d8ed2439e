"""Posing the AvatarOS skeleton for the synthetic corpus: spine angles and two-bone arm IK.

Conventions (SPEC section 1): metres, +Y up, the character faces +Z, its right side is -X;
quaternions are global, scalar-last. Forward kinematics places a child at
``pos[parent] + rotate(q[parent], offset[child])`` with the offset along the parent's local
+Y for the arm bones, so the global rotation of a joint orients the bone *leaving* it:

- Spine2's rotation (joint 2) places both shoulder points (joints 3 and 6, clavicle bones);
- joint 3 / 6 (RightShoulder / LeftShoulder, positioned at the shoulder) orients the upper arm;
- joint 4 / 7 (RightArm / LeftArm, positioned at the elbow) orients the forearm;
- joint 5 / 8 (RightForeArm / LeftForeArm, positioned at the wrist) is the hand, which has no
  child in the skeleton: it follows the forearm with a small flexion.

Bone frames: local +Y along the bone, local +X along the elbow hinge axis
(``upper x forearm``), local +Z = X x Y. The spine is driven by local pitch / roll / yaw
angles per joint, composed as ``yaw * roll * pitch``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from llavataros.motion import rotations
from llavataros.motion.skeleton import AVATAROS, Skeleton

# Local pitch of Spine, Spine1, Spine2 at rest (radians, + bends forward), measured on the
# AvatarOS sample take: global pitches -11.8, +4.2, +8.5 degrees.
REST_PITCH = np.radians([-11.8, 16.0, 4.3])
ROOT_HEIGHT = 0.886  # m, mean root (Spine) height in the sample take
LEAN_SHARE = np.array([0.5, 0.3, 0.2])  # how a whole-spine lean splits over the 3 joints
MAX_REACH = 0.985  # targets farther than this share of the arm length are pulled in
# Above this share of the arm length the reach saturates smoothly toward MAX_REACH (tanh): a
# hard clamp puts a kink in the distance, which the nearly straight elbow turns into a jerk.
SOFT_REACH = 0.92
X_AXIS, Y_AXIS, Z_AXIS = 0, 1, 2


@dataclass(frozen=True)
class ArmPose:
    """IK result for ``t`` frames: joint positions and bone rotations (world)."""

    elbow: np.ndarray  # (t, 3)
    wrist: np.ndarray  # (t, 3)
    upper: np.ndarray  # (t, 4) rotation of the shoulder joint (orients the upper arm)
    fore: np.ndarray  # (t, 4) rotation of the elbow joint (orients the forearm)
    reach: np.ndarray  # (t,) shoulder-target distance / arm length, before clamping


def axis_rotation(axis: int, angle: np.ndarray) -> np.ndarray:
    """Quaternions ``(..., 4)`` rotating by ``angle (...,)`` radians about world axis 0/1/2."""
    angle = np.asarray(angle, dtype=np.float64)
    q = np.zeros(angle.shape + (4,))
    q[..., axis] = np.sin(0.5 * angle)
    q[..., 3] = np.cos(0.5 * angle)
    return q


def spine_rotations(pitch: np.ndarray, roll: np.ndarray, yaw: np.ndarray) -> np.ndarray:
    """Global quaternions ``(t, 3, 4)`` of Spine, Spine1, Spine2 from local angles ``(t, 3)``.

    ``pitch`` about +X (+ leans forward), ``roll`` about +Z (+ leans toward -X, the
    character's right), ``yaw`` about +Y (+ turns toward +X, the character's left)."""
    local = rotations.multiply(
        axis_rotation(Y_AXIS, yaw),
        rotations.multiply(axis_rotation(Z_AXIS, roll), axis_rotation(X_AXIS, pitch)),
    )  # (t, 3, 4)
    out = np.empty_like(local)
    out[:, 0] = local[:, 0]
    for joint in (1, 2):
        out[:, joint] = rotations.multiply(out[:, joint - 1], local[:, joint])
    return out


def bone_rotation(direction: np.ndarray, hinge: np.ndarray) -> np.ndarray:
    """Quaternions ``(t, 4)`` whose local +Y is ``direction (t, 3)`` and local +X is the
    component of ``hinge (t, 3)`` orthogonal to it."""
    y = direction / np.linalg.norm(direction, axis=-1, keepdims=True)
    x = hinge - np.sum(hinge * y, axis=-1, keepdims=True) * y
    x = x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)
    z = np.cross(x, y)
    return rotations.from_matrix(np.stack([x, y, z], axis=-1))


def solve_arm(
    shoulder: np.ndarray, target: np.ndarray, pole: np.ndarray, upper: float, fore: float
) -> ArmPose:
    """Analytic two-bone IK: the wrist reaches ``target (t, 3)`` from ``shoulder (t, 3)``
    with the elbow bent toward ``pole (t, 3)`` (a direction); bone lengths in metres."""
    delta = target - shoulder
    distance = np.linalg.norm(delta, axis=-1)  # (t,)
    reach = distance / (upper + fore)
    along = delta / np.maximum(distance, 1e-9)[:, None]  # (t, 3) unit shoulder -> target
    distance = np.maximum(soft_reach(distance, upper + fore), abs(upper - fore) + 0.02)
    side = pole - np.sum(pole * along, axis=-1, keepdims=True) * along
    fallback = np.cross(along, np.array([1.0, 0.0, 0.0]))
    weak = np.linalg.norm(side, axis=-1) < 1e-6
    side = np.where(weak[:, None], fallback, side)
    side = side / np.linalg.norm(side, axis=-1, keepdims=True)
    # Law of cosines: the elbow's projection on the shoulder-target line, and its offset.
    projection = (upper**2 - fore**2 + distance**2) / (2.0 * distance)
    offset = np.sqrt(np.maximum(upper**2 - projection**2, 0.0))
    elbow = shoulder + projection[:, None] * along + offset[:, None] * side
    wrist = shoulder + distance[:, None] * along
    hinge = np.cross(side, along)  # parallel to upper x fore, defined even for a straight arm
    return ArmPose(
        elbow=elbow,
        wrist=wrist,
        upper=bone_rotation(elbow - shoulder, hinge),
        fore=bone_rotation(wrist - elbow, hinge),
        reach=reach,
    )


def soft_reach(distance: np.ndarray, length: float) -> np.ndarray:
    """Shoulder-wrist ``distance (t,)`` unchanged up to ``SOFT_REACH * length``, then
    saturating smoothly (C1) below ``MAX_REACH * length``."""
    knee, room = SOFT_REACH * length, (MAX_REACH - SOFT_REACH) * length
    return np.where(distance <= knee, distance, knee + room * np.tanh((distance - knee) / room))


def elbow_pole(target_body: np.ndarray, side: float) -> np.ndarray:
    """Natural elbow direction ``(t, 3)`` in the body frame for wrist targets ``(t, 3)``
    (relative to Spine2): down, out and slightly back with low hands, out and forward with
    hands raised toward the head. ``side`` is -1 for the right arm, +1 for the left."""
    raised = np.clip((target_body[:, 1] + 0.05) / 0.4, 0.0, 1.0)[:, None]
    raised = raised * raised * (3.0 - 2.0 * raised)  # smoothstep
    low = np.array([0.45 * side, -1.0, -0.15])
    high = np.array([1.0 * side, -0.35, 0.25])
    return (1.0 - raised) * low + raised * high


def arm_lengths(skeleton: Skeleton = AVATAROS) -> dict[str, tuple[float, float]]:
    """Upper-arm and forearm lengths (m) per side from the skeleton offsets."""
    lengths = np.linalg.norm(skeleton.offsets, axis=-1)
    return {
        "right": (float(lengths[4]), float(lengths[5])),
        "left": (float(lengths[7]), float(lengths[8])),
    }
