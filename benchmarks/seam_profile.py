"""How a windowed diffusion model moves around its window joins (issue 11, seams).

Animates the test takes of a corpus (each with its speaker, at the model's frame rate, with the
pipeline's smoothing unless ``--raw``) once per ``--discard`` value (``diffusion.discard_frames``:
the frames at each window's end that the next window samples again) and prints the mean joint
speed at each frame offset from the window joins (0: the step into a window's first new frame),
as a share of the takes' mean speed. A seamless sampler gives about 1 everywhere; the truth at
the same frames shows the spread to expect from 24 takes.

    .venv/bin/python benchmarks/seam_profile.py --data CORPUS [--model diffusion]
        [--discard 0 10] [--raw] [--json F]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import numpy as np

import common

OFFSETS = range(-8, 16)


def step_speed(positions: np.ndarray, fps: float) -> np.ndarray:
    """``(T - 1,)`` mean joint speed (m/s) from frame ``i`` to ``i + 1`` of ``(T, j, 3)``:
    forward differences, so that a jump lands on one step (``eval.metrics.joint_speed``'s
    central differences would split it over two)."""
    return np.linalg.norm(np.diff(positions, axis=0), axis=-1).mean(axis=-1) * fps


def profile(speeds: list[np.ndarray], joins: list[list[int]]) -> dict[int, float]:
    """Mean speed at each offset from the joins (step ``join + offset - 1 -> join + offset``),
    over the mean speed of all steps."""
    overall = np.mean(np.concatenate(speeds))
    rows = {}
    for offset in OFFSETS:
        values = [
            speed[join + offset - 1]
            for speed, frames in zip(speeds, joins, strict=True)
            for join in frames
            if 0 <= join + offset - 1 < len(speed)
        ]
        rows[offset] = float(np.mean(values) / overall)
    return rows


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="corpus folder")
    parser.add_argument("--model", default="diffusion", help="shipped family or run folder")
    parser.add_argument("--discard", type=int, nargs="+", default=[0, 10])
    parser.add_argument("--raw", action="store_true", help="without the output smoothing")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)

    from llavataros.eval.context import resolve_splits
    from llavataros.eval.metrics import resample_positions
    from llavataros.models.diffusion.windows import join_frames
    from llavataros.motion.timing import CORPUS_FPS
    from llavataros.pipeline.animate import Animator

    takes = resolve_splits(args.data)[0]["test"]
    animator = Animator.load(args.model)
    network = animator.model
    shipped = network.config
    fps = shipped.fps
    truth = [np.load(take.motion_path)[..., :3] for take in takes]
    figures: dict = {"machine": common.machine(), "model": args.model, "raw": args.raw}
    rows = []
    for discard in args.discard:
        network.config = dataclasses.replace(shipped, discard_frames=discard)
        speeds, joins = [], []
        for take in takes:
            result = animator.animate(
                take.audio_path, take.words_path, fps, take.style, smooth=not args.raw, face=False
            )
            positions = result.motion.positions
            speeds.append(step_speed(positions, fps))
            c = network.config
            joins.append(join_frames(len(positions), c.window, c.overlap, c.discard_frames))
        rows.append({"discard": discard, "profile": profile(speeds, joins)})
        if discard == args.discard[0]:  # the truth at the frames of the first setting's joins
            true_speeds = [
                step_speed(resample_positions(motion, CORPUS_FPS, fps), fps) for motion in truth
            ]
            figures["truth"] = profile(true_speeds, joins)
    network.config = shipped
    figures["rows"] = rows
    header = ["offset", *(f"discard {row['discard']}" for row in rows), "truth"]
    table = [
        [offset, *(row["profile"][offset] for row in rows), figures["truth"][offset]]
        for offset in OFFSETS
    ]
    common.print_table(table, header)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return figures


if __name__ == "__main__":
    main()
