"""AvatarOS motion data: skeleton, rotations, kinematics, take I/O and processing."""

from llavataros.motion.kinematics import bone_lengths, estimate_offsets, forward_kinematics
from llavataros.motion.skeleton import AVATAROS, JOINT_NAMES, NUM_JOINTS, PARENTS, Skeleton
from llavataros.motion.take import Motion, load_take, save_take

__all__ = [
    "AVATAROS",
    "JOINT_NAMES",
    "NUM_JOINTS",
    "PARENTS",
    "Motion",
    "Skeleton",
    "bone_lengths",
    "estimate_offsets",
    "forward_kinematics",
    "load_take",
    "save_take",
]
