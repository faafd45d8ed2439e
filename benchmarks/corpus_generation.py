"""Speed of synthetic corpus generation (SPEC section 4; target: one hour of corpus in well
under 15 minutes on 2 cores).

Generates ``--minutes`` of corpus with ``--workers`` processes into a temporary folder and
prints the wall time, the real-time factor and the extrapolation to one hour; then times the
motion stage alone (``generate_motion`` on ``quick_take`` speech, one core) and the detector
check. Figures go to stdout only.

    .venv/bin/python benchmarks/corpus_generation.py [--minutes 5] [--workers 2] [--mirror]
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np

from llavataros.corpus.generate import generate_corpus
from llavataros.corpus.procedural_motion import generate_motion
from llavataros.corpus.quick_speech import quick_take
from llavataros.corpus.script import generate_script
from llavataros.corpus.styles import make_speakers
from llavataros.gestures.detectors import detect_gestures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--speakers", type=int, default=4)
    parser.add_argument("--mirror", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        summary = generate_corpus(
            folder,
            args.minutes,
            args.speakers,
            seed=0,
            mirror=args.mirror,
            workers=args.workers,
            progress=False,
        )
        wall = time.perf_counter() - start
    speech = sum(t["seconds"] for t in summary["takes"] if not t["mirror"])
    print(
        f"corpus: {len(summary['takes'])} takes, {speech:.0f} s of speech "
        f"({summary['seconds']:.0f} s with mirrors), {args.workers} workers"
    )
    print(f"wall time {wall:.1f} s  ->  {wall / speech:.4f} s per second of speech")
    print(
        f"extrapolated: one hour of speech in {3600 * wall / speech / 60:.1f} min "
        f"(includes ~5 s of voice loading per worker)"
    )
    check = summary["detector_check"]
    print(
        "detector check (recall / precision): "
        + ", ".join(f"{name} {c['recall']}/{c['precision']}" for name, c in check.items())
    )

    speakers = make_speakers(4, np.random.default_rng(0))
    motion_seconds = motion_time = detect_time = 0.0
    for index in range(8):
        rng = np.random.default_rng([1, index])
        take = quick_take(generate_script(rng, 130), rng)
        start = time.perf_counter()
        motion, _ = generate_motion(take, speakers[index % 4], 60.0, rng)
        motion_time += time.perf_counter() - start
        start = time.perf_counter()
        detect_gestures(motion.positions, motion.fps)
        detect_time += time.perf_counter() - start
        motion_seconds += motion.duration
    print(
        f"motion stage: {motion_time / motion_seconds:.5f} s per second "
        f"({motion_seconds:.0f} s of motion, one core); detectors: "
        f"{detect_time / motion_seconds:.5f} s per second"
    )


if __name__ == "__main__":
    main()
