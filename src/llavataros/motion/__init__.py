"""AvatarOS motion data: skeleton, rotations, kinematics, take I/O and processing."""

from llavataros.motion.bvh import read_bvh, write_bvh
from llavataros.motion.info import describe, describe_array
from llavataros.motion.kinematics import bone_lengths, estimate_offsets, forward_kinematics
from llavataros.motion.mirror import mirror, mirror_name
from llavataros.motion.resample import resample
from llavataros.motion.skeleton import AVATAROS, JOINT_NAMES, NUM_JOINTS, PARENTS, Skeleton
from llavataros.motion.smoothing import smooth
from llavataros.motion.take import Motion, load_take, save_take

__all__ = [
    "AVATAROS",
    "JOINT_NAMES",
    "NUM_JOINTS",
    "PARENTS",
    "Motion",
    "Skeleton",
    "bone_lengths",
    "describe",
    "describe_array",
    "estimate_offsets",
    "forward_kinematics",
    "load_take",
    "mirror",
    "mirror_name",
    "read_bvh",
    "resample",
    "save_take",
    "smooth",
    "write_bvh",
]
