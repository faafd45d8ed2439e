"""BVH export and import (SPEC section 2: ``speech.bvh``, "a BVH that Blender imports").

Conventions written by :func:`write_bvh` (Blender's importer reads them as they are):

- Lengths in **metres** by default (``unit_scale`` BVH units per metre, e.g. 100 for cm), +Y up,
  facing +Z, so Blender's default import scale gives a correctly sized character.
- The hierarchy is the skeleton's: joint names as in ``JOINT_NAMES``; each ``OFFSET`` is the
  skeleton's parent-local offset. ``ROOT`` has ``OFFSET 0 0 0`` and six channels
  ``Xposition Yposition Zposition Zrotation Xrotation Yrotation`` holding the root's world
  position; other joints have three rotation channels. A leaf (the wrists) gets an
  ``End Site`` one short hand (``HAND_LENGTH``) further along its local +Y.
- Channel values are LOCAL rotations ``conj(q_parent) * q`` as Euler angles in degrees; the
  rotation of a channel list ``A B C`` is ``R_A(a) R_B(b) R_C(c)`` (the first listed axis is
  outermost), the usual BVH reading.
- ``Frame Time: 1/fps``.

:func:`read_bvh` accepts any rotation order per joint, position channels on any joint (their
values replace that joint's ``OFFSET``, as in Blender's importer), any whitespace and line
endings. It returns global quaternions and FK positions, in metres after ``unit_scale``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from llavataros.errors import InputError
from llavataros.motion import rotations
from llavataros.motion.skeleton import Skeleton
from llavataros.motion.take import Motion
from llavataros.motion.timing import COMMON_FRAME_RATES

HAND_LENGTH = 0.1  # metres, End Site beyond each wrist
AXES = {"X": 0, "Y": 1, "Z": 2}
ROTATION_CHANNELS = {"Xrotation": "X", "Yrotation": "Y", "Zrotation": "Z"}
POSITION_CHANNELS = {"Xposition": 0, "Yposition": 1, "Zposition": 2}


# --- Euler angles -------------------------------------------------------------------------


def euler_to_quat(angles: np.ndarray, order: str) -> np.ndarray:
    """Angles ``(..., 3)`` in radians about the axes named by ``order`` (e.g. ``"ZXY"``) to
    quaternions ``(..., 4)``: ``q = q_A(a) * q_B(b) * q_C(c)``."""
    angles = np.asarray(angles, dtype=np.float64)
    result = np.broadcast_to(rotations.IDENTITY, angles.shape[:-1] + (4,))
    for position, axis_name in enumerate(order):
        axis = np.zeros(3)
        axis[AXES[axis_name]] = 1.0
        result = rotations.multiply(result, rotations.from_axis_angle(axis, angles[..., position]))
    return result


def matrix_to_euler(matrix: np.ndarray, order: str) -> np.ndarray:
    """Rotation matrices ``(..., 3, 3)`` to angles ``(..., 3)`` in radians with
    ``matrix = R_A(a) R_B(b) R_C(c)`` for ``order = "ABC"`` (three distinct axes)."""
    i, j, k = (AXES[name] for name in order)
    if len({i, j, k}) != 3:
        raise ValueError(f"Euler order must name three distinct axes, got {order}")
    sign = 1.0 if (j - i) % 3 == 1 else -1.0  # +1 for cyclic orders XYZ, YZX, ZXY
    m = np.asarray(matrix, dtype=np.float64)
    sin_b = sign * m[..., i, k]
    cos_b = np.hypot(m[..., i, i], m[..., i, j])
    b = np.arctan2(sin_b, cos_b)
    a = np.arctan2(-sign * m[..., j, k], m[..., k, k])
    c = np.arctan2(-sign * m[..., i, j], m[..., i, i])
    # Gimbal lock (cos b ~ 0): only a +/- c is defined; put it all in a.
    locked = cos_b < 1e-9
    if np.any(locked):
        a_locked = np.arctan2(sign * m[..., k, j], m[..., j, j])
        a = np.where(locked, a_locked, a)
        c = np.where(locked, 0.0, c)
    return np.stack([a, b, c], axis=-1)


def quat_to_euler(q: np.ndarray, order: str) -> np.ndarray:
    """Quaternions ``(..., 4)`` to Euler angles ``(..., 3)`` in radians, as ``matrix_to_euler``."""
    return matrix_to_euler(rotations.to_matrix(q), order)


# --- writing ------------------------------------------------------------------------------


def _children(parents: tuple[int, ...]) -> list[list[int]]:
    children: list[list[int]] = [[] for _ in parents]
    for joint, parent in enumerate(parents):
        if parent >= 0:
            children[parent].append(joint)
    return children


def _depth_first(parents: tuple[int, ...]) -> list[int]:
    roots = [joint for joint, parent in enumerate(parents) if parent < 0]
    if len(roots) != 1:
        raise ValueError(f"a BVH needs exactly one root joint, the skeleton has {len(roots)}")
    children, order, stack = _children(parents), [], [roots[0]]
    while stack:
        joint = stack.pop()
        order.append(joint)
        stack.extend(reversed(children[joint]))
    return order


def local_rotations(global_rotations: np.ndarray, parents: tuple[int, ...]) -> np.ndarray:
    """Global quaternions ``(t, j, 4)`` to parent-local ``conj(q_parent) * q``."""
    local = np.array(global_rotations, dtype=np.float64)
    for joint, parent in enumerate(parents):
        if parent >= 0:
            local[:, joint] = rotations.multiply(
                rotations.conjugate(global_rotations[:, parent]), global_rotations[:, joint]
            )
    return local


def _number(value: float) -> str:
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def write_bvh(
    motion: Motion, path: str | Path, unit_scale: float = 1.0, order: str = "ZXY"
) -> Path:
    """Write ``motion`` as a BVH file (conventions in the module docstring); returns ``path``.

    ``unit_scale`` is BVH length units per metre (1 = metres, 100 = centimetres); ``order``
    is the rotation channel order of every joint."""
    path = Path(path)
    if sorted(order) != ["X", "Y", "Z"]:
        raise ValueError(f"rotation order must be a permutation of XYZ, got {order!r}")
    if not (np.all(np.isfinite(motion.positions)) and np.all(np.isfinite(motion.rotations))):
        raise ValueError("cannot write a BVH of a motion with NaN or infinite values")
    skeleton = motion.skeleton
    joints = _depth_first(skeleton.parents)
    children = _children(skeleton.parents)
    rotation_names = [f"{axis}rotation" for axis in order]
    lines = ["HIERARCHY"]

    def emit(joint: int, depth: int) -> None:
        pad = "  " * depth
        if skeleton.parents[joint] < 0:
            lines.append(f"ROOT {skeleton.names[joint]}")
            offset = np.zeros(3)
            channels = ["Xposition", "Yposition", "Zposition", *rotation_names]
        else:
            lines.append(f"{pad}JOINT {skeleton.names[joint]}")
            offset = skeleton.offsets[joint] * unit_scale
            channels = rotation_names
        lines.append(f"{pad}{{")
        lines.append(f"{pad}  OFFSET {' '.join(_number(v) for v in offset)}")
        lines.append(f"{pad}  CHANNELS {len(channels)} {' '.join(channels)}")
        for child in children[joint]:
            emit(child, depth + 1)
        if not children[joint]:
            end = _number(HAND_LENGTH * unit_scale)
            lines.extend(
                [f"{pad}  End Site", f"{pad}  {{", f"{pad}    OFFSET 0 {end} 0", f"{pad}  }}"]
            )
        lines.append(f"{pad}}}")

    emit(joints[0], 0)
    local = local_rotations(rotations.normalize(motion.rotations), skeleton.parents)
    angles = np.degrees(quat_to_euler(local[:, joints], order))  # (t, j, 3) in BVH joint order
    root = motion.positions[:, joints[0]] * unit_scale  # (t, 3)
    values = np.concatenate([root, angles.reshape(len(angles), -1)], axis=-1)  # (t, 3 + 3j)
    lines += ["MOTION", f"Frames: {motion.num_frames}", f"Frame Time: {1.0 / motion.fps:.8f}"]
    lines += [" ".join(_number(v) for v in frame) for frame in values]
    text = "\n".join(lines) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".partial")
    temporary.write_text(text)
    temporary.replace(path)
    return path


# --- reading ------------------------------------------------------------------------------


@dataclass
class _Joint:
    name: str
    parent: int
    offset: np.ndarray
    channels: list[str]


class _Tokens:
    """Whitespace-separated tokens with errors that name the file."""

    def __init__(self, text: str, source: Path):
        self.items = text.split()
        self.position = 0
        self.source = source

    def next(self, what: str) -> str:
        if self.position >= len(self.items):
            raise InputError(self.source, f"unexpected end of file (expected {what})")
        token = self.items[self.position]
        self.position += 1
        return token

    def expect(self, *words: str) -> str:
        token = self.next(" or ".join(words))
        if token not in words:
            raise InputError(self.source, f"expected {' or '.join(words)}, found {token!r}")
        return token

    def number(self, what: str) -> float:
        token = self.next(what)
        try:
            value = float(token)
        except ValueError:
            raise InputError(
                self.source, f"expected a number for {what}, found {token!r}"
            ) from None
        if not math.isfinite(value):
            raise InputError(self.source, f"{what} is not finite ({token})")
        return value


def _parse_joint(tokens: _Tokens, name: str, parent: int, joints: list[_Joint]) -> None:
    index = len(joints)
    tokens.expect("{")
    tokens.expect("OFFSET")
    offset = np.array([tokens.number(f"the OFFSET of {name}") for _ in range(3)])
    tokens.expect("CHANNELS")
    count_token = tokens.next(f"the channel count of {name}")
    if not count_token.isdigit():
        raise InputError(tokens.source, f"bad channel count {count_token!r} for joint {name}")
    channels = [tokens.next(f"a channel name of {name}") for _ in range(int(count_token))]
    for channel in channels:
        if channel not in ROTATION_CHANNELS and channel not in POSITION_CHANNELS:
            raise InputError(tokens.source, f"unknown channel {channel!r} on joint {name}")
    joints.append(_Joint(name, parent, offset, channels))
    while True:
        token = tokens.expect("JOINT", "End", "}")
        if token == "}":
            return
        if token == "JOINT":
            _parse_joint(tokens, tokens.next("a joint name"), index, joints)
        else:
            tokens.expect("Site")
            tokens.expect("{")
            tokens.expect("OFFSET")
            for _ in range(3):
                tokens.number(f"the End Site OFFSET of {name}")
            tokens.expect("}")


def _snap_fps(fps: float) -> float:
    for rate in COMMON_FRAME_RATES:
        if abs(rate - fps) / rate < 1e-4:
            return rate
    return fps


def read_bvh(path: str | Path, unit_scale: float = 1.0) -> Motion:
    """Read a BVH file into a :class:`Motion` (global quaternions, FK positions in metres).

    ``unit_scale`` is the file's length units per metre (100 for a centimetre file). The
    skeleton's names, parents and offsets come from the hierarchy in depth-first order."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "file not found")
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as error:
        raise InputError(path, f"unreadable BVH file ({error})") from None
    tokens = _Tokens(text, path)
    tokens.expect("HIERARCHY")
    tokens.expect("ROOT")
    joints: list[_Joint] = []
    _parse_joint(tokens, tokens.next("the root name"), -1, joints)
    tokens.expect("MOTION")
    tokens.expect("Frames:")
    frames_token = tokens.next("the frame count")
    if not frames_token.isdigit() or int(frames_token) == 0:
        raise InputError(path, f"bad frame count {frames_token!r}")
    num_frames = int(frames_token)
    tokens.expect("Frame")
    tokens.expect("Time:")
    frame_time = tokens.number("the frame time")
    if frame_time <= 0:
        raise InputError(path, f"frame time must be positive, got {frame_time}")

    width = sum(len(joint.channels) for joint in joints)
    data = tokens.items[tokens.position :]
    if len(data) != num_frames * width:
        raise InputError(
            path,
            f"expected {num_frames} frames of {width} values "
            f"({num_frames * width} numbers), found {len(data)}",
        )
    try:
        values = np.array(data, dtype=np.float64).reshape(num_frames, width)
    except ValueError:
        raise InputError(path, "the MOTION section contains a value that is not a number") from None
    if not np.all(np.isfinite(values)):
        raise InputError(path, "the MOTION section contains NaN or infinite values")
    return _to_motion(joints, values, 1.0 / frame_time, unit_scale)


def _to_motion(joints: list[_Joint], values: np.ndarray, fps: float, unit_scale: float) -> Motion:
    num_frames = len(values)
    parents = tuple(joint.parent for joint in joints)
    offsets = np.stack([joint.offset for joint in joints]) / unit_scale  # (j, 3)
    offsets[0] = 0.0
    global_rotations = np.empty((num_frames, len(joints), 4))
    positions = np.empty((num_frames, len(joints), 3))
    column = 0
    for index, joint in enumerate(joints):
        translation = np.broadcast_to(joint.offset / unit_scale, (num_frames, 3)).copy()
        axes, angle_columns = "", []
        for channel in joint.channels:
            if channel in POSITION_CHANNELS:
                translation[:, POSITION_CHANNELS[channel]] = values[:, column] / unit_scale
            else:
                axes += ROTATION_CHANNELS[channel]
                angle_columns.append(column)
            column += 1
        local = euler_to_quat(np.radians(values[:, angle_columns]), axes)  # (t, 4)
        if joint.parent < 0:
            global_rotations[:, index] = local
            positions[:, index] = translation
        else:
            parent_rotation = global_rotations[:, joint.parent]
            global_rotations[:, index] = rotations.multiply(parent_rotation, local)
            positions[:, index] = positions[:, joint.parent] + rotations.rotate(
                parent_rotation, translation
            )
    skeleton = Skeleton(offsets=offsets, names=tuple(j.name for j in joints), parents=parents)
    quats = rotations.make_continuous(rotations.normalize(global_rotations))
    return Motion(positions, quats, _snap_fps(fps), skeleton)
