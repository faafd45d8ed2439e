"""LLAvatarOS: speech-driven upper-body gesture animation for the AvatarOS skeleton."""

from llavataros.errors import InputError

__all__ = ["InputError"]
__version__ = "0.1.0"
