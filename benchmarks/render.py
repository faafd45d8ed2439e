"""Rendering speed: frames per second of drawing alone and of drawing + H.264 encoding.

Renders 60 s at 60 fps (3600 frames) of the AvatarOS sample take when it is present (with its
audio muxed in), else of a synthetic swinging-arms motion (silent), at 480 x 480 per panel,
one panel and two panels side by side.

    .venv/bin/python benchmarks/render.py [--seconds 60] [--size 480]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from llavataros.motion import rotations
from llavataros.motion.skeleton import AVATAROS, NUM_JOINTS
from llavataros.motion.take import Motion, load_take
from llavataros.render import render_frames, render_video

SAMPLE = Path("/work/shared/data/avataros-sample/001_Neutral_0_mirror_x_1_0.npy")


def synthetic_motion(seconds: float, fps: float) -> Motion:
    """Arms hanging and swinging sideways once per second (identity torso)."""
    t = np.arange(int(round(seconds * fps))) / fps
    angle = 0.6 + 0.5 * np.sin(2 * np.pi * t)  # (t,) radians away from hanging down
    up = np.broadcast_to([0.0, 1.0, 0.0], (len(t), 3))
    q = np.tile(rotations.IDENTITY, (len(t), NUM_JOINTS, 1))
    q[:, 3] = rotations.between(up, np.stack([-np.sin(angle), -np.cos(angle), 0 * t], 1))
    q[:, 6] = rotations.between(up, np.stack([np.sin(angle), -np.cos(angle), 0 * t], 1))
    q[:, [4, 7]] = rotations.between(up[0], np.array([0.0, -0.3, 1.0]))
    root = np.tile([0.0, 0.9, 0.0], (len(t), 1))
    return Motion.from_root_and_rotations(root, q, fps, AVATAROS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--size", type=int, default=480, help="panel width and height, px")
    args = parser.parse_args()
    size = (args.size, args.size)

    if SAMPLE.exists():
        take = load_take(SAMPLE)
        frames = int(round(args.seconds * take.fps))
        motion, audio, source = take.slice(0, frames), SAMPLE.with_suffix(".wav"), "sample"
        other = take.slice(frames, 2 * frames)  # a different minute, as a stand-in "generated"
    else:
        motion = synthetic_motion(args.seconds, 60.0)
        audio, source, other = None, "synthetic", synthetic_motion(args.seconds + 1, 60.0)
        other = other.slice(30, 30 + motion.num_frames)
    print(
        f"motion: {source}, {motion.num_frames} frames at {motion.fps:g} fps "
        f"({motion.duration:.1f} s), panel {size[0]}x{size[1]}, audio: {audio is not None}"
    )

    for label, motions in (("1 panel", [motion]), ("2 panels", [motion, other])):
        titles = None if len(motions) == 1 else ["real", "other"]
        start = time.perf_counter()
        count = sum(1 for _ in render_frames(motions, size, titles))
        drawing = time.perf_counter() - start
        with tempfile.TemporaryDirectory() as folder:
            start = time.perf_counter()
            out = render_video(motions, Path(folder) / "bench.mp4", audio, size, titles)
            encoding = time.perf_counter() - start
            megabytes = out.stat().st_size / 1e6
        print(
            f"{label}: draw only {count / drawing:7.1f} frames/s ({drawing:5.1f} s) | "
            f"draw + encode {count / encoding:7.1f} frames/s ({encoding:5.1f} s, "
            f"real-time factor {encoding / motion.duration:.3f}, {megabytes:.1f} MB)"
        )


if __name__ == "__main__":
    main()
