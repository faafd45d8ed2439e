"""Metrics, gesture detectors and evaluation (SPEC sections 4 and 5)."""

# Modules that need torch are imported on demand: the FGD extractor
# (``from llavataros.eval.fgd import ...``) and the evaluation of models, motion folders and
# baselines (``from llavataros.eval.evaluate import evaluate``; stages in context, sources,
# scoring).
from llavataros.eval.baselines import (
    mean_pose_baseline,
    nearest_neighbour_baseline,
    random_segment_baseline,
)
from llavataros.eval.metrics import (
    beat_alignment,
    fgd,
    frechet_distance,
    hellinger_distance,
    l1_diversity,
    mean_jerk,
    speed_hellinger,
    training_mean_speed,
    wrist_speed_histogram,
)
from llavataros.eval.onsets import audio_onsets, detect_onsets, onset_strength
from llavataros.eval.report import metrics_table, report_markdown, semantic_table, speed_table

__all__ = [
    "audio_onsets",
    "beat_alignment",
    "detect_onsets",
    "fgd",
    "frechet_distance",
    "hellinger_distance",
    "l1_diversity",
    "mean_jerk",
    "mean_pose_baseline",
    "metrics_table",
    "nearest_neighbour_baseline",
    "onset_strength",
    "random_segment_baseline",
    "report_markdown",
    "semantic_table",
    "speed_hellinger",
    "speed_table",
    "training_mean_speed",
    "wrist_speed_histogram",
]
