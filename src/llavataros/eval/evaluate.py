"""Score a gesture model, a folder of motions from any system, or a baseline on a corpus split
(SPEC section 5; the evaluation study of LLAniMAtion, arXiv 2405.08042, section 5).

Every system goes through the same stages: :mod:`.context` (the split's takes, ground truth,
training statistics, FGD extractor), :mod:`.sources` (model, motion folder or baseline, each a
take -> motion function), :mod:`.scoring` (per-take and summary figures); this module runs
them and writes the JSON report.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import time
from pathlib import Path

import numpy as np

from llavataros.errors import InputError
from llavataros.eval.context import EvaluationContext, build_context
from llavataros.eval.scoring import score_system
from llavataros.eval.sources import baseline_source, model_source, motions_source


def evaluate_model(
    context: EvaluationContext,
    model: str | Path | None,
    name: str | None = None,
    animator=None,
    load_seconds: float | None = None,
) -> dict:
    """Score a model (run folder, checkpoint or None for the shipped one; or an already
    loaded ``animator`` with the ``load_seconds`` it took) on ``context``."""
    from llavataros.pipeline.animate import Animator

    if animator is None:
        start = time.perf_counter()
        animator = Animator.load(model)
        load_seconds = time.perf_counter() - start
    notes: list[str] = []
    system = name or f"model {model or 'shipped'}"
    report = score_system(context, system, model_source(animator, notes))
    report["summary"]["load_seconds"] = load_seconds
    report["summary"]["notes"] += notes
    return report


def evaluate_baseline(
    context: EvaluationContext, baseline: str, seed: int = 0, animator=None
) -> dict:
    """Score one of :data:`BASELINES` with the same code as a model."""
    return score_system(context, baseline, baseline_source(context, baseline, seed, animator))


def evaluate(
    data_dir: str | Path,
    model: str | Path | None = None,
    motions_dir: str | Path | None = None,
    split: str = "test",
    fgd_extractor: str | Path | None = None,
    output: str | Path | None = None,
    real_dir: str | Path | None = None,
    sampling: dict | None = None,
) -> dict:
    """``llavataros evaluate``: score ``model`` (default: the shipped one) or the motion files
    in ``motions_dir`` on ``split`` of ``data_dir``; writes the report to ``output`` (default
    ``metrics.json`` in the current folder) and returns it (``summary`` and ``takes``).
    ``sampling`` (``steps``, ``guidance``, ``seed``, ``temperature``, ``eta``) goes to a model
    that samples (:meth:`~llavataros.pipeline.animate.Animator.set_sampling`)."""
    if model is not None and motions_dir is not None:
        raise InputError(None, "give either a model or a motions folder, not both")
    sampling = {name: value for name, value in (sampling or {}).items() if value is not None}
    if sampling and motions_dir is not None:
        raise InputError(None, "sampling options apply to a model, not to a motions folder")
    output = Path(output) if output is not None else Path("metrics.json")
    animator, metadata, load_seconds = None, None, None
    if motions_dir is None:
        from llavataros.pipeline.animate import Animator

        start = time.perf_counter()
        animator = Animator.load(model)
        load_seconds = time.perf_counter() - start
        animator.set_sampling(**sampling)
        metadata = animator.metadata
    context = build_context(data_dir, split, model, fgd_extractor, metadata=metadata)
    if real_dir is not None:
        from llavataros.eval.realism import load_motions

        context.real_motions = load_motions(real_dir)
        context.notes.append(f"realism against the real takes in {real_dir}")
    if animator is not None:
        report = evaluate_model(context, model, animator=animator, load_seconds=load_seconds)
        sampler = getattr(animator.model, "sampler", None)
        if sampler is not None:
            report["summary"]["sampling"] = dataclasses.asdict(sampler)
    else:
        source = motions_source(motions_dir, context.takes)
        report = score_system(context, f"motions {motions_dir}", source)
    write_metrics(report, output)
    return report


def write_metrics(report: dict, path: str | Path) -> Path:
    """Write ``report`` as JSON (NaN as null) to ``path`` via a temporary file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.part")
    try:
        temporary.write_text(json.dumps(plain(report), indent=1) + "\n")
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path


def plain(value):
    """``value`` with NumPy scalars as Python numbers and non-finite floats as None."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
