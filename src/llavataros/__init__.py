"""LLAvatarOS: speech-driven upper-body gesture animation for the AvatarOS skeleton.

The public API::

    from llavataros import Animator, AnimationStream, animate, load_model
"""

from __future__ import annotations

from pathlib import Path

from llavataros.errors import InputError

__all__ = [
    "AnimationResult",
    "AnimationStream",
    "Animator",
    "InputError",
    "animate",
    "load_model",
]
__version__ = "0.1.0"


def __getattr__(name: str):
    """Import the heavy parts (torch, models) on first use, so ``import llavataros`` is cheap."""
    if name in ("AnimationResult", "AnimationStream", "Animator"):
        from llavataros import pipeline

        return getattr(pipeline, name)
    if name == "load_model":
        from llavataros.models.checkpoint import load_model

        return load_model
    raise AttributeError(f"module 'llavataros' has no attribute {name!r}")


def animate(
    audio: str | Path,
    transcript: str | Path | None = None,
    model: str | Path | None = None,
    **options,
):
    """Gestures for one recording with a freshly loaded model (load an :class:`Animator` once
    to animate several); ``options`` go to :meth:`Animator.animate`."""
    from llavataros.pipeline import Animator

    return Animator.load(model).animate(audio, transcript, **options)
