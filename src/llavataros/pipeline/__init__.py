"""Speech in, animation out: :class:`Animator` (offline, files), :class:`AnimationStream`
(chunks in, frames out) and the post-processing path both share.

The names are imported on first use, so :mod:`llavataros.pipeline.preflight` checks a call
without importing torch."""

from __future__ import annotations

__all__ = ["AnimationResult", "AnimationStream", "Animator", "write_outputs"]


def __getattr__(name: str):
    if name in ("AnimationResult", "Animator", "write_outputs"):
        from llavataros.pipeline import animate

        return getattr(animate, name)
    if name == "AnimationStream":
        from llavataros.pipeline.stream import AnimationStream

        return AnimationStream
    raise AttributeError(f"module 'llavataros.pipeline' has no attribute {name!r}")
