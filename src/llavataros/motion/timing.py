"""Frame rates and frame counts: the one place that says how many frames a duration gets.

Every output of a duration ``d`` seconds at ``fps`` has ``round(d * fps)`` frames, at least one
(SPEC section 2). Models run at ``MODEL_FPS`` unless configured otherwise; outputs default to
the frame rate of the corpus a model was trained on, ``CORPUS_FPS`` for AvatarOS corpora.
"""

from __future__ import annotations

MODEL_FPS = 30.0  # default frame rate of models and their features
CORPUS_FPS = 60.0  # the AvatarOS corpus rate (SPEC section 1): default output rate
COMMON_FRAME_RATES = (24.0, 25.0, 30.0, 48.0, 50.0, 60.0, 90.0, 100.0, 120.0)


def frame_count(seconds: float, fps: float) -> int:
    """``round(seconds * fps)``, at least one frame."""
    return max(1, int(round(seconds * fps)))
