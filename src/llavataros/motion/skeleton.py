"""The AvatarOS upper-body skeleton (SPEC section 1).

Nine joints, global (world) quaternions, metres, +Y up, facing +Z, the character's
right side is -X. Each joint sits at ``pos[parent] + rotate(q[parent], offset)`` with a
constant ``offset`` expressed in the parent's local frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

JOINT_NAMES: tuple[str, ...] = (
    "Spine",
    "Spine1",
    "Spine2",
    "RightShoulder",
    "RightArm",
    "RightForeArm",
    "LeftShoulder",
    "LeftArm",
    "LeftForeArm",
)
PARENTS: tuple[int, ...] = (-1, 0, 1, 2, 3, 4, 2, 6, 7)
NUM_JOINTS = len(JOINT_NAMES)
JOINT_INDEX = {name: index for index, name in enumerate(JOINT_NAMES)}

# Named joints used across the code base (positions sit at shoulder, elbow, wrist).
ROOT, SPINE1, SPINE2 = 0, 1, 2
RIGHT_SHOULDER, RIGHT_ELBOW, RIGHT_WRIST = 3, 4, 5
LEFT_SHOULDER, LEFT_ELBOW, LEFT_WRIST = 6, 7, 8
WRISTS = (RIGHT_WRIST, LEFT_WRIST)

# Left/right partner of each joint, used for mirroring.
MIRROR_PARTNER: tuple[int, ...] = (0, 1, 2, 6, 7, 8, 3, 4, 5)

# Offsets (metres, parent-local frame) measured on the AvatarOS sample take as the mean
# of inverse-rotated parent-to-child vectors. Row 0 (root) is unused.
AVATAROS_OFFSETS = np.array(
    [
        [0.0, 0.0, 0.0],
        [0.0008, 0.2912, 0.0086],
        [0.0, 0.1175, 0.0],
        [-0.1298, 0.1123, 0.0114],
        [0.0, 0.2963, 0.0],
        [0.0, 0.2286, 0.0],
        [0.1324, 0.1099, 0.0201],
        [0.0, 0.2872, 0.0],
        [0.0064, 0.2572, -0.0033],
    ]
)


@dataclass(frozen=True)
class Skeleton:
    """Joint names, parents and constant parent-local offsets ``(j, 3)`` in metres."""

    offsets: np.ndarray
    names: tuple[str, ...] = JOINT_NAMES
    parents: tuple[int, ...] = PARENTS

    def __post_init__(self):
        offsets = np.asarray(self.offsets, dtype=np.float64)
        if offsets.shape != (len(self.names), 3):
            raise ValueError(f"offsets must be ({len(self.names)}, 3), got {offsets.shape}")
        object.__setattr__(self, "offsets", offsets)

    @property
    def num_joints(self) -> int:
        return len(self.names)

    @property
    def bone_lengths(self) -> np.ndarray:
        """``(j-1,)`` lengths of the bones to joints 1..j-1, in metres."""
        return np.linalg.norm(self.offsets[1:], axis=-1)

    def to_dict(self) -> dict:
        return {
            "names": list(self.names),
            "parents": list(self.parents),
            "offsets": self.offsets.round(6).tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict) -> Skeleton:
        return cls(
            offsets=np.asarray(data["offsets"], dtype=np.float64),
            names=tuple(data["names"]),
            parents=tuple(int(p) for p in data["parents"]),
        )


AVATAROS = Skeleton(offsets=AVATAROS_OFFSETS)
