"""Frame-rate conversion of a :class:`Motion` (SPEC section 2: output at any requested fps).

The output has ``T_out = round(duration * fps)`` frames sampled at ``k / fps`` seconds. The root
position is interpolated linearly and every global quaternion by slerp (after making signs
continuous); the other joint positions are then **recomputed by forward kinematics** with the
motion's skeleton, so bone lengths stay exactly constant (a kinematically consistent output,
SPEC section 2). For a take whose positions deviate from its skeleton (the AvatarOS sample: a
few mm at joints 1, 3, 6) the result therefore differs from plain position interpolation by that
FK error. Output times past the last input frame hold the last frame.
"""

from __future__ import annotations

import numpy as np

from llavataros.errors import InputError
from llavataros.motion import rotations
from llavataros.motion.take import Motion
from llavataros.motion.timing import frame_count


def output_frame_count(num_frames: int, fps_in: float, fps_out: float) -> int:
    """``round(duration * fps_out)`` (at least one frame) for ``num_frames`` at ``fps_in``."""
    return frame_count(num_frames / fps_in, fps_out)


def resample(motion: Motion, fps: float, num_frames: int | None = None) -> Motion:
    """``motion`` at ``fps`` frames per second: positions ``(T_out, j, 3)``, quaternions
    ``(T_out, j, 4)`` with ``T_out = round(motion.duration * fps)`` unless ``num_frames`` is
    given (e.g. ``round(audio duration * fps)``). Works up and down."""
    if not (np.isfinite(fps) and fps > 0):
        raise InputError(None, f"target frame rate must be a positive number, got {fps}")
    count = num_frames
    num_frames = motion.num_frames
    if num_frames == 0:
        raise InputError(None, "cannot resample a motion with no frames")
    if count is None:
        count = output_frame_count(num_frames, motion.fps, fps)
    source_index = np.arange(count) * (motion.fps / fps)  # fractional input frame per output
    source_index = np.clip(source_index, 0.0, num_frames - 1)
    before = np.floor(source_index).astype(int)
    after = np.minimum(before + 1, num_frames - 1)
    fraction = source_index - before  # (T_out,)

    root = motion.positions[:, 0]  # (t, 3)
    root_out = root[before] + fraction[:, None] * (root[after] - root[before])

    quats = rotations.make_continuous(rotations.normalize(motion.rotations))  # (t, j, 4)
    quats_out = rotations.slerp(quats[before], quats[after], fraction[:, None])  # (T_out, j, 4)
    return Motion.from_root_and_rotations(root_out, quats_out, float(fps), motion.skeleton)
