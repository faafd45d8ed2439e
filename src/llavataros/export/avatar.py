"""A procedurally generated stylised upper-body humanoid skinned to the AvatarOS skeleton.

The joint hierarchy is the skeleton's (SPEC section 1) plus a ``Head`` joint under ``Spine2``
(rigid: the corpus has no head joint). The mesh is built in a bind pose measured on the
AvatarOS sample take (the mean global orientation of each joint: arms hanging, forearms
forward), so typical motion stays close to it and linear blend skinning stays clean. Each
limb segment is a capsule driven by the joint whose rotation moves it (the upper arm by
``RightShoulder``, whose position is the shoulder); weights blend smoothly into the next
segment around elbows and wrists and up the spine. The head carries the 52 ARKit morph
targets of :mod:`llavataros.export.head`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from llavataros.export import head as head_module
from llavataros.export.geometry import (
    Part,
    capsule,
    circle,
    ellipsoid,
    smoothstep,
    sweep,
    vertex_normals,
)
from llavataros.motion import rotations
from llavataros.motion.skeleton import AVATAROS, Skeleton

HEAD = "Head"

# Mean global orientation of each joint on the AvatarOS sample take 001 (x, y, z, w).
BIND_ROTATIONS = np.array(
    [
        [-0.103, 0.002, -0.004, 0.995],
        [0.037, 0.002, 0.001, 0.999],
        [0.074, 0.001, 0.007, 0.997],
        [0.179, -0.049, 0.965, 0.187],
        [0.192, 0.422, 0.871, 0.162],
        [-0.013, 0.405, 0.913, -0.043],
        [-0.302, -0.075, 0.927, -0.207],
        [-0.269, 0.41, 0.863, -0.119],
        [-0.125, 0.369, 0.921, -0.005],
    ]
)
BIND_ROOT = np.array([0.0, 0.886, 0.0])  # mean root position on the sample take
HEAD_CENTRE_ABOVE_SPINE2 = np.array([0.0, 0.35, 0.035])  # upright (world) offset

MATERIALS: dict[str, tuple[float, float, float, float]] = {
    "skin": (0.80, 0.55, 0.42, 1.0),
    "shirt": (0.16, 0.30, 0.55, 1.0),
    "hair": (0.12, 0.08, 0.05, 1.0),
    "lips": (0.62, 0.28, 0.28, 1.0),
    "eye": (0.92, 0.92, 0.90, 1.0),
    "iris": (0.10, 0.14, 0.20, 1.0),
    "mouth": (0.22, 0.04, 0.06, 1.0),
    "tongue": (0.75, 0.35, 0.38, 1.0),
}


@dataclass(frozen=True)
class Primitive:
    """One material's triangles: positions/normals ``(n, 3)`` (bind pose, metres), triangle
    indices ``(m, 3)``, skin joints ``(n, 4)`` uint8 and weights ``(n, 4)`` summing to 1, and
    morph target displacements ``(k, n, 3)`` (``k = 0`` for the body)."""

    material: str
    positions: np.ndarray
    normals: np.ndarray
    indices: np.ndarray
    joints: np.ndarray
    weights: np.ndarray
    targets: np.ndarray


@dataclass(frozen=True)
class Avatar:
    """Joints (names, parents, bind-pose local translations ``(j, 3)`` and rotations ``(j, 4)``,
    global bind positions/rotations), the body and head primitives and the target names."""

    joint_names: tuple[str, ...]
    parents: tuple[int, ...]
    local_translations: np.ndarray
    local_rotations: np.ndarray
    bind_positions: np.ndarray
    bind_rotations: np.ndarray
    body: tuple[Primitive, ...]
    head: tuple[Primitive, ...]
    target_names: tuple[str, ...]

    @property
    def num_joints(self) -> int:
        return len(self.joint_names)


@dataclass
class _SkinnedPart:
    part: Part
    joints: np.ndarray  # (n, 4)
    weights: np.ndarray  # (n, 4)
    material: str


def _blend(part: Part, material: str, first: int, second: int, w2: np.ndarray) -> _SkinnedPart:
    n = len(part.vertices)
    joints = np.zeros((n, 4), dtype=np.uint8)
    weights = np.zeros((n, 4))
    joints[:, 0], joints[:, 1] = first, second
    weights[:, 0], weights[:, 1] = 1.0 - w2, w2
    return _SkinnedPart(part, joints, weights, material)


def _place(part: Part, rotation: np.ndarray, translation: np.ndarray) -> Part:
    return Part(part.tag, rotations.rotate(rotation, part.vertices) + translation, part.triangles)


def _limb(
    joint: int, child_offset: np.ndarray, radii: tuple[float, float], bind_q, bind_p, material
) -> tuple[Part, np.ndarray]:
    """A capsule from ``joint`` along ``child_offset`` (joint-local), in bind world space, and
    each vertex's distance along the bone (metres, 0 at the joint)."""
    length = float(np.linalg.norm(child_offset))
    local = capsule(material, length, radii[0], radii[1])
    align = rotations.between([0.0, 1.0, 0.0], child_offset)
    along = local.vertices[:, 1].copy()
    local = _place(local, align, np.zeros(3))
    return _place(local, bind_q[joint], bind_p[joint]), along


def _torso(bind_p: np.ndarray) -> _SkinnedPart:
    """Elliptic rings following the spine joints; weights blend Spine/Spine1/Spine2 by height."""
    root_y = bind_p[0, 1]
    shoulder_y = 0.5 * (bind_p[3, 1] + bind_p[6, 1])
    # height above the root, half width, half depth
    profile = np.array(
        [
            [-0.13, 0.0, 0.0],
            [-0.12, 0.09, 0.07],
            [-0.09, 0.14, 0.095],
            [0.0, 0.145, 0.10],
            [0.12, 0.13, 0.095],
            [0.24, 0.15, 0.105],
            [0.34, 0.165, 0.11],
            [shoulder_y - root_y - 0.02, 0.165, 0.10],
            [shoulder_y - root_y + 0.035, 0.135, 0.085],
            [shoulder_y - root_y + 0.07, 0.08, 0.065],
            [shoulder_y - root_y + 0.08, 0.0, 0.0],
        ]
    )
    heights = root_y + profile[:, 0]
    spine_y, spine_z = bind_p[[0, 1, 2], 1], bind_p[[0, 1, 2], 2]
    z = np.interp(heights, spine_y, spine_z) + 0.01
    centres = np.stack([np.zeros_like(heights), heights, z], axis=-1)
    part = sweep("torso", centres, [1.0, 0, 0], [0, 0, 1.0], profile[:, 1:], circle(24))
    y = part.vertices[:, 1]
    n = len(y)
    joints = np.zeros((n, 4), dtype=np.uint8)
    weights = np.zeros((n, 4))
    w1 = smoothstep(spine_y[1] - 0.06, spine_y[1] + 0.06, y)  # Spine -> Spine1
    w2 = smoothstep(spine_y[2] - 0.05, spine_y[2] + 0.05, y)  # Spine1 -> Spine2
    joints[:, :3] = [0, 1, 2]
    weights[:, 0] = 1.0 - w1
    weights[:, 1] = w1 * (1.0 - w2)
    weights[:, 2] = w1 * w2
    return _SkinnedPart(part, joints, weights, "shirt")


def _body_parts(skeleton: Skeleton, bind_q: np.ndarray, bind_p: np.ndarray, head_joint: int):
    parts = [_torso(bind_p)]
    for shoulder, elbow, wrist in ((3, 4, 5), (6, 7, 8)):
        upper, along = _limb(
            shoulder, skeleton.offsets[elbow], (0.05, 0.04), bind_q, bind_p, "shirt"
        )
        length = float(np.linalg.norm(skeleton.offsets[elbow]))
        parts.append(
            _blend(upper, "shirt", shoulder, elbow, smoothstep(length - 0.05, length + 0.05, along))
        )
        fore, along = _limb(elbow, skeleton.offsets[wrist], (0.04, 0.031), bind_q, bind_p, "shirt")
        length = float(np.linalg.norm(skeleton.offsets[wrist]))
        w_wrist = smoothstep(length - 0.03, length + 0.03, along)
        w_back = 1.0 - smoothstep(-0.05, 0.05, along)  # toward the upper arm at the elbow
        skinned = _blend(fore, "shirt", elbow, wrist, w_wrist)
        skinned.joints[:, 2] = shoulder
        skinned.weights[:, 2] = w_back
        skinned.weights[:, 0] -= w_back
        parts.append(skinned)
        hand = ellipsoid("hand", [0, 0.085, 0.0], [0.017, 0.085, 0.045], 10, 14)
        thumb = ellipsoid("hand", [0, 0.035, 0.045], [0.013, 0.04, 0.014], 8, 10)
        direction = skeleton.offsets[wrist]
        align = rotations.between([0.0, 1.0, 0.0], direction)
        for piece in (hand, thumb):
            local_y = piece.vertices[:, 1]
            placed = _place(_place(piece, align, np.zeros(3)), bind_q[wrist], bind_p[wrist])
            parts.append(_blend(placed, "skin", elbow, wrist, smoothstep(-0.02, 0.03, local_y)))
    # Neck: Spine2 to the head, upright.
    neck_base = bind_p[2] + [0.0, 0.1, 0.0]
    neck = capsule("neck", 0.16, 0.058, 0.05, segments=16)
    neck = _place(neck, rotations.IDENTITY, neck_base)
    w_head = smoothstep(0.1, 0.16, neck.vertices[:, 1] - neck_base[1])
    parts.append(_blend(neck, "skin", 2, head_joint, w_head))
    return parts


def _primitives(parts: list[_SkinnedPart], targets: list[np.ndarray] | None) -> tuple:
    """Merge parts by material into primitives (normals per part, so parts stay separate)."""
    order = list(dict.fromkeys(p.material for p in parts))
    result = []
    for material in order:
        chosen = [k for k, p in enumerate(parts) if p.material == material]
        positions, normals, indices, joints, weights, displacements = [], [], [], [], [], []
        count = 0
        for k in chosen:
            part = parts[k].part
            positions.append(part.vertices)
            normals.append(vertex_normals(part.vertices, part.triangles))
            indices.append(part.triangles + count)
            joints.append(parts[k].joints)
            weights.append(parts[k].weights)
            if targets is not None:
                displacements.append(targets[k])
            count += len(part.vertices)
        stacked = (
            np.concatenate(displacements, axis=1)
            if targets is not None
            else np.zeros((0, count, 3))
        )
        joints = np.concatenate(joints).astype(np.uint8)
        weights = np.concatenate(weights).astype(np.float32)
        weights[weights < 1e-6] = 0.0
        weights /= weights.sum(axis=1, keepdims=True)
        joints[weights == 0.0] = 0  # glTF: unused influences name joint 0
        result.append(
            Primitive(
                material=material,
                positions=np.concatenate(positions).astype(np.float32),
                normals=np.concatenate(normals).astype(np.float32),
                indices=np.concatenate(indices).astype(np.uint32),
                joints=joints,
                weights=weights,
                targets=stacked.astype(np.float32),
            )
        )
    return tuple(result)


def build_avatar(skeleton: Skeleton = AVATAROS) -> Avatar:
    """The avatar for ``skeleton`` (its bone offsets place the joints)."""
    num = skeleton.num_joints
    bind_q = rotations.normalize(BIND_ROTATIONS)
    bind_p = np.zeros((num, 3))
    bind_p[0] = BIND_ROOT
    for joint, parent in enumerate(skeleton.parents):
        if parent >= 0:
            offset = rotations.rotate(bind_q[parent], skeleton.offsets[joint])
            bind_p[joint] = bind_p[parent] + offset
    head_joint = num
    head_p = bind_p[2] + HEAD_CENTRE_ABOVE_SPINE2
    names = tuple(skeleton.names) + (HEAD,)
    parents = tuple(skeleton.parents) + (2,)
    all_q = np.concatenate([bind_q, [rotations.IDENTITY]])  # head stays upright in bind pose
    all_p = np.concatenate([bind_p, [head_p]])
    local_t = np.zeros((num + 1, 3))
    local_r = np.zeros((num + 1, 4))
    for joint, parent in enumerate(parents):
        if parent < 0:
            local_t[joint], local_r[joint] = all_p[joint], all_q[joint]
            continue
        inverse = rotations.conjugate(all_q[parent])
        local_t[joint] = rotations.rotate(inverse, all_p[joint] - all_p[parent])
        local_r[joint] = rotations.normalize(rotations.multiply(inverse, all_q[joint]))
    body = _primitives(_body_parts(skeleton, all_q, all_p, head_joint), None)

    head_parts = head_module.head_parts()
    skinned = []
    targets = []
    for part in head_parts:
        n = len(part.vertices)
        moved = Part(part.tag, part.vertices + head_p, part.triangles)
        joints = np.zeros((n, 4), dtype=np.uint8)
        joints[:, 0] = head_joint
        weights = np.zeros((n, 4))
        weights[:, 0] = 1.0
        skinned.append(_SkinnedPart(moved, joints, weights, head_module.MATERIAL_OF_TAG[part.tag]))
        shapes = head_module.part_targets(part)
        targets.append(np.stack([shapes[name] for name in head_module.ARKIT_NAMES]))
    head = _primitives(skinned, targets)
    return Avatar(
        joint_names=names,
        parents=parents,
        local_translations=local_t,
        local_rotations=local_r,
        bind_positions=all_p,
        bind_rotations=all_q,
        body=body,
        head=head,
        target_names=head_module.ARKIT_NAMES,
    )
