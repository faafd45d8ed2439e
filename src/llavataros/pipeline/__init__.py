"""Speech in, animation out: :class:`Animator` (offline, files), :class:`AnimationStream`
(chunks in, frames out) and the post-processing path both share."""

from llavataros.pipeline.animate import AnimationResult, Animator, write_outputs
from llavataros.pipeline.stream import AnimationStream

__all__ = ["AnimationResult", "AnimationStream", "Animator", "write_outputs"]
