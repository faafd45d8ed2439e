"""Progress of ``animate`` on a terminal: one bar per input whose steps are the stages.

The bar names the running stage (reading audio, words, features, model, motion, writing) and
is silent when stderr is not a terminal (logs, pipes, tests).
"""

from __future__ import annotations

import sys

from tqdm import tqdm

from llavataros.pipeline.animate import STAGES

STAGE_LABELS = {
    "load_audio": "reading audio",
    "words": "transcribe/align",
    "features": "features",
    "model": "model",
    "postprocess": "motion",
    "face": "face",
    "write": "write",
}


class StageBar:
    """A callable for ``Animator.animate(progress=...)`` showing a tqdm bar over the stages."""

    def __init__(self, name: str, enabled: bool | None = None):
        enabled = sys.stderr.isatty() if enabled is None else enabled
        self.bar = tqdm(
            total=len(STAGES),
            desc=name,
            unit="stage",
            disable=not enabled,
            leave=False,
            bar_format="{desc}: {bar} {n_fmt}/{total_fmt} {postfix} [{elapsed}]",
        )
        self.started = 0

    def __call__(self, stage: str) -> None:
        done = STAGES.index(stage)
        self.bar.update(done - self.started)
        self.started = done
        self.bar.set_postfix_str(STAGE_LABELS[stage])

    def close(self) -> None:
        self.bar.update(len(STAGES) - self.started)
        self.bar.close()

    def __enter__(self) -> StageBar:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
