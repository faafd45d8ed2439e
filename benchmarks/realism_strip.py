"""A still strip for the README: real motion beside generated motion for the same speech, at
evenly spaced times (issue 15). Rows are the systems, columns the times.

    PYTHONPATH=src .venv/bin/python benchmarks/realism_strip.py REAL.npy GENERATED.npy [MORE.npy]
        --title real --title "shipped model" ... --fps 30 -o docs/images/realism_strip.png

Each take's fps comes from NAME.json / NAME.wav beside it (``--fps`` otherwise); all are shown
at the first take's times. The real take is read where it lies, never copied.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from llavataros.errors import InputError
from llavataros.motion.resample import resample
from llavataros.motion.take import load_take
from llavataros.render import render_frame, save_png


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("takes", nargs="+", help="NAME.npy takes, one row each")
    parser.add_argument("--title", action="append", help="row titles, one per take")
    parser.add_argument("--fps", type=float, help="frame rate where none is found beside a take")
    parser.add_argument("--stills", type=int, default=6, help="columns (default 6)")
    parser.add_argument("--size", type=int, default=200, help="panel size in px (default 200)")
    parser.add_argument("-o", "--out", required=True, help="PNG to write")
    args = parser.parse_args(argv)
    titles = args.title or [str(index) for index in range(len(args.takes))]
    try:
        if len(titles) != len(args.takes):
            raise InputError(None, "give one --title per take")
        motions = [load_take(path, fps=args.fps) for path in args.takes]
        fps = motions[0].fps
        motions = [resample(motion, fps) for motion in motions]
        frames = min(motion.num_frames for motion in motions)
        times = np.linspace(0, frames - 1, args.stills + 2)[1:-1].astype(int)
        rows = [
            np.concatenate(
                [
                    render_frame(motion, int(index), (args.size, args.size), [title])
                    for index in times
                ],
                axis=1,
            )
            for motion, title in zip(motions, titles, strict=True)
        ]
        path = save_png(np.concatenate(rows, axis=0), args.out)
    except InputError as error:
        print(f"realism_strip: error: {error}", file=sys.stderr)
        return 2
    print(f"{path}: {len(motions)} rows at {', '.join(f'{t / fps:.1f} s' for t in times)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
