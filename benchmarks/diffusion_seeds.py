"""Diversity of the diffusion gesture model between seeds (issue 11): the same speech and words
sampled with two seeds, on the held-out takes of a corpus.

For each take: L1 between the two samples (mean absolute difference of joint coordinates,
metres), and each sample's L1 diversity within the take (mean absolute deviation from its own
mean pose, as ``evaluate``'s ``l1_diversity``; the truth's is printed beside it). Two samples
that differ about as much as each varies within itself are two equally free performances; a
between-seed L1 near 0 is a model that ignores its noise.

Usage: ``.venv/bin/python benchmarks/diffusion_seeds.py --data CORPUS --model RUN [--split test]
[--seeds 0 1] [--steps 8] [--temperature 1] [--json F]``
"""

from __future__ import annotations

import argparse

import numpy as np

import common


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    common.add_common_arguments(parser)
    parser.add_argument("--data", required=True, help="corpus folder")
    parser.add_argument("--split", default="test")
    parser.add_argument("--seeds", type=int, nargs=2, default=[0, 1])
    parser.add_argument("--steps", type=int, help="DDIM steps (default: the model's)")
    parser.add_argument("--temperature", type=float, help="initial noise scale (default: 1)")
    args = parser.parse_args(argv)
    common.set_threads(args.threads)

    from llavataros.eval.context import build_context
    from llavataros.eval.metrics import l1_diversity
    from llavataros.eval.sources import model_source
    from llavataros.pipeline.animate import Animator

    common.print_machine(common.machine())
    animator = Animator.load(common.model_path(args.model))
    context = build_context(args.data, args.split, common.model_path(args.model))
    generate = model_source(animator)
    samples = []
    for seed in args.seeds:
        animator.set_sampling(steps=args.steps, seed=seed, temperature=args.temperature)
        samples.append([generate(take)[0].positions for take in context.takes])
    between = [float(np.mean(np.abs(a - b))) for a, b in zip(*samples, strict=True)]
    within = [[l1_diversity(p) for p in takes] for takes in samples]
    truth = [l1_diversity(take.motion) for take in context.takes]
    figures = {
        "takes": len(context.takes),
        "seeds": args.seeds,
        "steps": args.steps,
        "temperature": args.temperature,
        "l1_between_seeds": float(np.mean(between)),
        "l1_diversity_per_seed": [float(np.mean(w)) for w in within],
        "l1_diversity_truth": float(np.mean(truth)),
    }
    common.print_table(
        [
            ("between the two seeds (same take)", f"{figures['l1_between_seeds']:.4f}"),
            *(
                (f"within a take, seed {seed}", f"{value:.4f}")
                for seed, value in zip(args.seeds, figures["l1_diversity_per_seed"], strict=True)
            ),
            ("within a take, truth", f"{figures['l1_diversity_truth']:.4f}"),
        ],
        ["L1 (m)", f"{len(context.takes)} {args.split} takes"],
    )
    common.save_json(figures, args.json)
    return figures


if __name__ == "__main__":
    main()
