"""Realism of a folder of motions against real takes (issue 15): posture, speed, bandwidth.

Scores (a) a synthetic corpus folder or (b) any folder of motions (a model's outputs, one
``NAME.npy`` per take with ``NAME.json`` or ``NAME.wav`` giving the fps, or ``--fps``) against
a folder of real takes with :func:`llavataros.eval.realism.score_realism`, and prints the
Hellinger distances per feature beside the real takes' distances to each other, then the
scalar figures (power above 3 Hz, stillness, posture, peaks) of both sets.

    PYTHONPATH=src .venv/bin/python benchmarks/realism.py FOLDER [FOLDER ...]
        [--reference ../shared/data/avataros-sample] [--fps 30] [--json out.json]

The reference is measured only: it is read from the shared data folder, never copied.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from llavataros.errors import InputError
from llavataros.eval.realism import load_motions, score_realism

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_REFERENCE = ROOT.parent / "shared" / "data" / "avataros-sample"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", help="folders of takes to score")
    parser.add_argument("--reference", default=str(DEFAULT_REFERENCE), help="real takes")
    parser.add_argument("--fps", type=float, help="frame rate of the scored takes if not found")
    parser.add_argument("--json", help="also write the reports here")
    args = parser.parse_args(argv)
    try:
        reference = load_motions(args.reference)
        reports = {}
        for folder in args.folders:
            report = score_realism(load_motions(folder, fps=args.fps), reference)
            reports[folder] = report.to_dict()
            print(f"## {folder} against {args.reference}\n\n{report.table()}\n")
    except InputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.json:
        Path(args.json).write_text(json.dumps(reports, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
