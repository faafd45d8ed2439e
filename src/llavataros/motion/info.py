"""Summary statistics of a take, for ``llavataros info`` and data checks (SPEC section 1).

``describe`` reports frames, fps, duration, joints, per-bone length mean/std (keyed
``"Parent->Child"``), quaternion health
(largest ``| |q| - 1 |`` and the number of sign flips between consecutive frames), the forward
kinematics consistency error with offsets estimated from the take itself, and the mean wrist
speed. Lengths in metres, speeds in m/s. All values are plain Python types (JSON-ready).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from llavataros.motion import rotations
from llavataros.motion.kinematics import estimate_offsets, forward_kinematics
from llavataros.motion.skeleton import AVATAROS, Skeleton
from llavataros.motion.take import Motion, load_raw_array, load_take, validate_array

WRIST_NAMES = ("RightForeArm", "LeftForeArm")  # AvatarOS joints that sit at the wrists


def sign_flips(quats: np.ndarray) -> np.ndarray:
    """Per-joint count ``(j,)`` of consecutive frames whose quaternions have a negative dot."""
    quats = np.asarray(quats, dtype=np.float64)
    if len(quats) < 2:
        return np.zeros(quats.shape[1], dtype=int)
    return np.sum(np.sum(quats[1:] * quats[:-1], axis=-1) < 0, axis=0)


def describe(motion: Motion) -> dict:
    """Statistics of ``motion`` as it is (sign flips are counted in ``motion.rotations``)."""
    skeleton = motion.skeleton
    positions, quats = motion.positions, motion.rotations  # (t, j, 3), (t, j, 4)
    norms = np.linalg.norm(quats, axis=-1)
    unit = rotations.normalize(quats)
    flips = sign_flips(quats)

    children = [joint for joint, parent in enumerate(skeleton.parents) if parent >= 0]
    parent_of = [skeleton.parents[joint] for joint in children]
    lengths = np.linalg.norm(positions[:, children] - positions[:, parent_of], axis=-1)

    estimated = Skeleton(
        estimate_offsets(positions, unit, skeleton.parents), skeleton.names, skeleton.parents
    )
    fk_error = np.linalg.norm(
        forward_kinematics(positions[:, 0], unit, estimated) - positions, axis=-1
    )  # (t, j)

    wrists = [skeleton.names.index(name) for name in WRIST_NAMES if name in skeleton.names]
    speed = None
    if wrists and motion.num_frames > 1:
        velocity = np.diff(positions[:, wrists], axis=0) * motion.fps  # (t-1, w, 3)
        speed = float(np.linalg.norm(velocity, axis=-1).mean())

    return {
        "frames": motion.num_frames,
        "fps": float(motion.fps),
        "duration": float(motion.duration),
        "joints": list(skeleton.names),
        "bone_lengths": {
            f"{skeleton.names[parent_of[i]]}->{skeleton.names[joint]}": {
                "mean": float(lengths[:, i].mean()),
                "std": float(lengths[:, i].std()),
            }
            for i, joint in enumerate(children)
        },
        "quaternions": {
            "max_norm_error": float(np.abs(norms - 1.0).max()),
            "sign_flips": int(flips.sum()),
            "sign_flips_per_joint": {
                name: int(n) for name, n in zip(skeleton.names, flips, strict=True)
            },
        },
        "fk_error": {
            name: {"mean": float(fk_error[:, j].mean()), "max": float(fk_error[:, j].max())}
            for j, name in enumerate(skeleton.names)
        },
        "wrist_speed_mean": speed,
    }


def describe_array(
    array: np.ndarray, fps: float, skeleton: Skeleton = AVATAROS, source: str | Path = "array"
) -> dict:
    """Statistics of a raw ``(t, 9, 7)`` take array, sign flips counted before any fix-up."""
    array = validate_array(np.asarray(array), source)
    return describe(Motion.from_array(array, fps, skeleton))


def describe_take(path: str | Path, fps: float | None = None) -> dict:
    """Statistics of an AvatarOS ``.npy`` take on disk (fps as in :func:`load_take`)."""
    motion = load_take(path, fps=fps)  # validates the file and finds the frame rate
    return describe_array(load_raw_array(path), motion.fps, source=path)


def format_description(info: dict) -> str:
    """A short human-readable report of a :func:`describe` result."""
    lines = [
        f"frames {info['frames']} at {info['fps']:g} fps = {info['duration']:.2f} s, "
        f"{len(info['joints'])} joints",
        "bone lengths (m): "
        + ", ".join(
            f"{name} {stats['mean']:.3f}±{stats['std']:.4f}"
            for name, stats in info["bone_lengths"].items()
        ),
        f"quaternions: max |norm-1| {info['quaternions']['max_norm_error']:.2e}, "
        f"{info['quaternions']['sign_flips']} sign flips",
        "FK error mean/max (mm): "
        + ", ".join(
            f"{name} {1000 * stats['mean']:.1f}/{1000 * stats['max']:.1f}"
            for name, stats in info["fk_error"].items()
        ),
    ]
    if info["wrist_speed_mean"] is not None:
        lines.append(f"wrist speed mean: {info['wrist_speed_mean']:.3f} m/s")
    return "\n".join(lines)
