"""The systems an evaluation scores, each a :data:`MotionSource` (take -> motion, stage
seconds): a loaded model driven by each take's **own timed words** (never speech recognition,
so recognition errors do not enter the scores), a folder of motion files from any system, and
the baselines: ``mean_pose`` (training mean pose with idle noise), ``random_segment`` (random
training motion, audio ignored), ``nearest_neighbour`` (retrieval by audio features) and
``ground_truth``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from llavataros.data.index import read_transcript
from llavataros.errors import InputError
from llavataros.eval import baselines
from llavataros.eval.context import EvaluationContext, EvaluationTake
from llavataros.motion.take import Motion, detect_fps, load_raw_array, load_take
from llavataros.motion.timing import frame_count

BASELINES = ("mean_pose", "random_segment", "nearest_neighbour", "ground_truth")
NEIGHBOUR_WINDOW_SECONDS = 2.0  # retrieval window of the nearest-neighbour baseline

# A system turns an evaluation take into motion; it may report the seconds its stages took.
MotionSource = Callable[[EvaluationTake], tuple[Motion, dict[str, float]]]


def model_source(animator, notes: list[str] | None = None) -> MotionSource:
    """Motion from a loaded :class:`~llavataros.pipeline.animate.Animator`, driven by the take's own
    timed words, at the take's frame rate; timings per stage in seconds."""
    unknown: set[str] = set()

    def generate(take: EvaluationTake) -> tuple[Motion, dict[str, float]]:
        transcript = read_transcript(take.record)
        if transcript is None or not transcript.words:
            raise InputError(
                take.record.motion_path,
                "no timed words (NAME.TextGrid or NAME.words.json): evaluation drives the "
                "model with the take's own words, not with speech recognition",
            )
        speaker = take.record.style if take.record.style in animator.speakers else None
        if speaker is None and take.record.style not in unknown and notes is not None:
            unknown.add(take.record.style)
            notes.append(f"style {take.record.style!r} unknown to the model: default speaker")
        result = animator.animate(
            take.record.audio_path, transcript, fps=take.motion.fps, speaker=speaker
        )
        return result.motion, dict(result.timings)

    return generate


def motions_source(motions_dir: str | Path, takes: list[EvaluationTake]) -> MotionSource:
    """Motion files ``DIR/NAME.npy`` of any system; every take must have one (checked now).
    The frame rate comes from ``NAME.json``/``NAME.wav`` beside the file, else from the frame
    count and the take's audio length."""
    folder = Path(motions_dir)
    if not folder.is_dir():
        raise InputError(folder, "motions folder not found")
    missing = [t.record.name for t in takes if not (folder / f"{t.record.name}.npy").is_file()]
    if missing:
        shown = ", ".join(f"{name}.npy" for name in missing[:5])
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        raise InputError(folder, f"no motion for take(s) {shown}{more}")

    def load(take: EvaluationTake) -> tuple[Motion, dict[str, float]]:
        path = folder / f"{take.record.name}.npy"
        if path.with_suffix(".json").is_file() or path.with_suffix(".wav").is_file():
            return load_take(path), {}
        fps = detect_fps(len(load_raw_array(path)), take.seconds, path)
        return load_take(path, fps=fps), {}

    return load


def baseline_source(
    context: EvaluationContext, baseline: str, seed: int = 0, animator=None
) -> MotionSource:
    """One of :data:`BASELINES`; ``nearest_neighbour`` retrieves by the audio features of
    ``animator``'s extractor (default: prosody features at 30 fps), cached in DATA/.cache."""
    if baseline not in BASELINES:
        raise InputError(None, f"unknown baseline {baseline!r}; choose one of {list(BASELINES)}")
    rng = np.random.default_rng(seed)
    train = context.train_motions
    if baseline == "ground_truth":
        return lambda take: (take.motion, {})
    if baseline == "mean_pose":
        return lambda take: (
            baselines.mean_pose_baseline(train, take.motion.num_frames, take.motion.fps, rng),
            {},
        )
    if baseline == "random_segment":
        return lambda take: (
            baselines.random_segment_baseline(train, take.motion.num_frames, rng),
            {},
        )
    return _neighbour_source(context, animator)


def _neighbour_source(context: EvaluationContext, animator) -> MotionSource:
    """Retrieval at the training motions' own frame rate: the audio features are computed at
    that rate (no resampling of the motion, whose interpolation would add jerk)."""
    from llavataros.features.build import build_extractor
    from llavataros.features.cache import FeatureCache
    from llavataros.features.frames import FeatureExtractor

    cache = context.data_dir / ".cache"
    fps = float(context.train_motions[0].fps)
    if animator is None:
        extractor = build_extractor(fps, cache_dir=cache)
    else:
        extractor = FeatureExtractor(
            animator.extractor.text_encoder, animator.extractor.audio_encoder, FeatureCache(cache)
        )
    train = context.train_motions
    train_features = [
        extractor.audio_features(record.audio_path, fps, num_frames=motion.num_frames)
        for record, motion in zip(context.train_records, train, strict=True)
    ]
    window = max(2, int(round(NEIGHBOUR_WINDOW_SECONDS * fps)))

    def retrieve(take: EvaluationTake) -> tuple[Motion, dict[str, float]]:
        frames = frame_count(take.motion.duration, fps)
        features = extractor.audio_features(take.record.audio_path, fps, num_frames=frames)
        motion = baselines.nearest_neighbour_baseline(train_features, train, features, window)
        return motion, {}

    return retrieve
