"""How close can any deterministic model come on a synthetic corpus? (Issue 5, targets.)

The synthetic motion of a take is a function of its speech, its speaker and random draws (gesture
timing and shape, beat choices, breathing, sway, idle drift). A deterministic model can at best
predict the conditional mean of the motion given speech and speaker; what the draws add is
unpredictable. This script regenerates the motion of every scored take with ``--seeds`` other
random draws (same speech, same speaker) and scores, against the real takes:

- ``other draw``: one regenerated take per real take (a perfect *sampler* of the generator);
- ``mean of N draws``: the joint positions averaged over the N draws, close to the best that a
  deterministic regressor of positions can do (FGD, BA and diversity of the conditional mean).

Before that it regenerates each take with its own seed and checks the result equals the stored
motion, so the scored takes are known to come from the generator as it is now.

Usage: ``.venv/bin/python benchmarks/deterministic_bound.py --corpus DIR [--run RUN]
[--seeds 8]`` (``--run``: score the split a training run used; default: the corpus split as
training makes it). Runs in about 35 s for 8 test takes and 8 draws on the 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, print_table, save_json  # noqa: E402
from llavataros.corpus.generate import FPS, SPEAKER_SEED, take_plan  # noqa: E402
from llavataros.corpus.procedural_motion import generate_motion  # noqa: E402
from llavataros.corpus.speech_takes import generate_take  # noqa: E402
from llavataros.corpus.styles import make_speakers  # noqa: E402
from llavataros.eval import metrics  # noqa: E402
from llavataros.eval.context import build_context  # noqa: E402
from llavataros.motion.take import Motion  # noqa: E402
from llavataros.speech.tts import Synthesizer  # noqa: E402

STORED_TOLERANCE = 1e-4  # metres/quaternion units: the takes are stored as float32


def positions_motion(positions: np.ndarray, like: Motion) -> Motion:
    """A Motion with ``positions (t, j, 3)`` and the rotations of ``like`` (FGD and BA use
    positions only)."""
    return Motion(positions, like.rotations, like.fps, like.skeleton)


def corpus_plan(corpus: dict) -> list:
    """The ``(name, speaker style, words)`` take plan that made a ``corpus.json``."""
    seed = int(corpus["seed"])
    styles = make_speakers(len(corpus["speakers"]), np.random.default_rng([seed, SPEAKER_SEED]))
    # Corpora written before corpus.json recorded take_seconds used the default (30, 60).
    low, high = corpus.get("take_seconds", (30.0, 60.0))
    return take_plan(float(corpus["minutes"]), styles, seed, (float(low), float(high)))


def regenerate(corpus: dict, plan: list, name: str, seeds: int, synthesizer, stored: Motion):
    """``(other draw, mean over draws)`` of take ``name``; checks its own seed reproduces it."""
    seed = int(corpus["seed"])
    index = next((i for i, (planned, _, _) in enumerate(plan) if planned == name), None)
    if index is None:
        raise SystemExit(f"{name}: not in the take plan of this corpus.json (mirrored take?)")
    _, style, words = plan[index]
    _, speech = generate_take(
        np.random.default_rng([seed, index, 0]),
        synthesizer,
        style.voice,
        words,
        novel_contexts=bool(corpus.get("novel_contexts")),
    )
    own, _ = generate_motion(speech, style, FPS, np.random.default_rng([seed, index, 1]))
    error = np.abs(own.to_array(np.float32) - stored.to_array(np.float32)).max()
    if error > STORED_TOLERANCE:
        raise SystemExit(f"{name}: regenerated take differs from the stored one by {error:.3g}")
    draws = [
        generate_motion(speech, style, FPS, np.random.default_rng([seed, index, 1, 1000 + k]))[0]
        for k in range(seeds)
    ]
    mean = np.mean([draw.positions for draw in draws], axis=0)
    return draws[0], positions_motion(mean, draws[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--run", type=Path, help="training run whose split to score")
    parser.add_argument("--split", default="test")
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--fgd", type=Path, help="FGD extractor (default: as evaluate picks)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    corpus = json.loads((args.corpus / "corpus.json").read_text())
    context = build_context(args.corpus, args.split, model=args.run, fgd_extractor=args.fgd)
    synthesizer = Synthesizer(threads=1)
    plan = corpus_plan(corpus)
    systems: dict[str, list[Motion]] = {"ground truth": [], "other draw": []}
    systems[f"mean of {args.seeds} draws"] = []
    for take in context.takes:
        other, mean = regenerate(
            corpus, plan, take.record.name, args.seeds, synthesizer, take.motion
        )
        for key, motion in zip(systems, (take.motion, other, mean), strict=True):
            systems[key].append(motion)
        print(f"{take.record.name}: regenerated, own seed reproduces the stored take", flush=True)
    real = context.real_features()
    header = ("system", "FGD", "BA", "L1 div (m)", "jerk (m/s^3)")
    rows = []
    for system, motions in systems.items():
        ba = [
            metrics.beat_alignment(m, None, t.onsets, context.mean_training_speed)
            for m, t in zip(motions, context.takes, strict=True)
        ]
        rows.append(
            (
                system,
                round(metrics.fgd(real, context.extractor.features(motions)), 2),
                round(float(np.nanmean(ba)), 3),
                round(float(np.mean([metrics.l1_diversity(m) for m in motions])), 4),
                round(float(np.mean([metrics.mean_jerk(m) for m in motions])), 1),
            )
        )
    seconds = sum(t.seconds for t in context.takes)
    print(f"\n{args.corpus.name}, {args.split} split: {len(context.takes)} takes, {seconds:.0f} s")
    print(f"FGD extractor: {context.extractor_source}")
    print_table(rows, header)
    figures = {"machine": machine(), "header": header, "rows": rows, "notes": context.notes}
    save_json(figures, args.json)


if __name__ == "__main__":
    main()
