"""One scoring code for every system (SPEC section 5).

Motions are compared with the take's ground truth at the ground truth's frame rate and frame
count (other rates are resampled; a length mismatch over 0.1 s or 2 % is an error). Per take:
BA of the motion and of the ground truth (audio onsets of the take's wav, motion speed
normalised by the training split's mean speed), L1 diversity, mean jerk (m/s^3), the
wrist-speed Hellinger distance to the take's ground truth and, where ``NAME.gestures.json``
labels exist, semantic recall / precision per class (detectors of SPEC section 4 run on the
motion); for a model, seconds of processing per second of audio per stage. Over the split:
FGD between the ground-truth and generated takes, the pooled Hellinger distance, pooled
semantic counts, means of the per-take figures and the real-time factor.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np

from llavataros.errors import InputError
from llavataros.eval import metrics
from llavataros.eval.context import EvaluationContext, EvaluationTake
from llavataros.eval.sources import MotionSource
from llavataros.gestures.classes import CLASS_NAMES
from llavataros.gestures.detectors import detect_gestures, match_gestures
from llavataros.motion.resample import resample
from llavataros.motion.take import Motion

LENGTH_TOLERANCE = 0.02  # relative motion/take length mismatch allowed
METRICS = (
    "fgd",
    "beat_alignment",
    "beat_alignment_ground_truth",
    "l1_diversity",
    "mean_jerk",
    "speed_hellinger",
    "semantic_recall",
    "semantic_precision",
    "real_time_factor",
)


def conform(motion: Motion, truth: Motion, source: str | Path) -> Motion:
    """``motion`` at the ground truth's fps and frame count (resampled only when they differ);
    a length mismatch over ``max(0.1 s, 2 %)`` is an InputError naming ``source``."""
    if abs(motion.duration - truth.duration) > max(0.1, LENGTH_TOLERANCE * truth.duration):
        raise InputError(
            source,
            f"motion lasts {motion.duration:.2f} s but the take lasts {truth.duration:.2f} s",
        )
    if abs(motion.fps - truth.fps) < 1e-9 and motion.num_frames == truth.num_frames:
        return motion
    return resample(motion, truth.fps, num_frames=truth.num_frames)


def score_take(context: EvaluationContext, take: EvaluationTake, motion: Motion) -> dict:
    """Per-take figures of SPEC section 5 for ``motion`` (already conformed to the take)."""
    row = {
        "name": take.record.name,
        "seconds": take.seconds,
        "beat_alignment": metrics.beat_alignment(
            motion, None, take.onsets, context.mean_training_speed
        ),
        "beat_alignment_ground_truth": take.ground_truth_beat_alignment,
        "l1_diversity": metrics.l1_diversity(motion),
        "mean_jerk": metrics.mean_jerk(motion),
        "speed_hellinger": metrics.speed_hellinger(motion, take.motion),
    }
    if take.triggers is not None:
        detected = detect_gestures(motion.positions, motion.fps)
        scores = match_gestures(detected, take.triggers)
        row["semantic"] = {
            name: _counts(score.triggers, score.detected, score.matched)
            for name, score in scores.per_class.items()
        }
    return row


def score_system(context: EvaluationContext, system: str, source: MotionSource) -> dict:
    """Score every take of ``context`` with motion from ``source``; returns ``{"summary":
    {...}, "takes": [...]}`` (see the module docstring for the figures)."""
    rows, generated, timings = [], [], {}
    for take in context.takes:
        start = time.perf_counter()
        motion, stages = source(take)
        elapsed = time.perf_counter() - start
        motion = conform(motion, take.motion, f"{system}: {take.record.name}")
        row = score_take(context, take, motion)
        if stages:
            row["processing_seconds"] = elapsed
            row["stages"] = stages
            for stage, seconds in stages.items():
                timings[stage] = timings.get(stage, 0.0) + seconds
            timings["total"] = timings.get("total", 0.0) + elapsed
        rows.append(row)
        generated.append(motion)
    return {"summary": _summary(context, system, rows, generated, timings), "takes": rows}


def _summary(
    context: EvaluationContext,
    system: str,
    rows: list[dict],
    generated: list[Motion],
    timings: dict[str, float],
) -> dict:
    from llavataros.eval.fgd import FGDExtractor

    assert isinstance(context.extractor, FGDExtractor)
    audio_seconds = float(sum(take.seconds for take in context.takes))
    truth = [take.motion for take in context.takes]
    summary = {
        "system": system,
        "split": context.split,
        "takes": len(rows),
        "audio_seconds": audio_seconds,
        "fgd": metrics.fgd(context.real_features(), context.extractor.features(generated)),
        "beat_alignment": _mean(rows, "beat_alignment"),
        "beat_alignment_ground_truth": _mean(rows, "beat_alignment_ground_truth"),
        "l1_diversity": _mean(rows, "l1_diversity"),
        "mean_jerk": _mean(rows, "mean_jerk"),
        "speed_hellinger": metrics.speed_hellinger(generated, truth),
        "semantic_recall": None,
        "semantic_precision": None,
        "semantic": None,
        "real_time_factor": None,
        "stage_real_time_factors": None,
        "ground_truth": {
            "l1_diversity": float(np.mean([metrics.l1_diversity(m) for m in truth])),
            "mean_jerk": float(np.mean([metrics.mean_jerk(m) for m in truth])),
        },
        "mean_training_speed": context.mean_training_speed,
        "fgd_extractor": context.extractor_source,
        "notes": list(context.notes),
    }
    if context.real_motions:
        from llavataros.eval.realism import score_realism

        summary["realism"] = score_realism(generated, context.real_motions).to_dict()
    labelled = [row["semantic"] for row in rows if "semantic" in row]
    if labelled:
        per_class = {}
        for name in CLASS_NAMES:
            counts = [sum(item[name][key] for item in labelled) for key in _COUNT_KEYS]
            per_class[name] = _counts(*counts)
        per_class["overall"] = _counts(
            *[sum(per_class[name][key] for name in CLASS_NAMES) for key in _COUNT_KEYS]
        )
        summary["semantic"] = per_class
        summary["semantic_recall"] = per_class["overall"]["recall"]
        summary["semantic_precision"] = per_class["overall"]["precision"]
        summary["semantic_takes"] = len(labelled)
    if timings:
        summary["real_time_factor"] = timings["total"] / audio_seconds
        summary["stage_real_time_factors"] = {
            stage: seconds / audio_seconds for stage, seconds in timings.items()
        }
    return summary


_COUNT_KEYS = ("triggers", "detected", "matched")


def _counts(triggers: int, detected: int, matched: int) -> dict:
    return {
        "triggers": int(triggers),
        "detected": int(detected),
        "matched": int(matched),
        "recall": matched / triggers if triggers else None,
        "precision": matched / detected if detected else None,
    }


def _mean(rows: list[dict], key: str) -> float | None:
    values = [row[key] for row in rows if row[key] is not None and math.isfinite(row[key])]
    return float(np.mean(values)) if values else None
