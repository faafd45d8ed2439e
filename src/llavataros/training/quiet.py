"""Lightning without its chatter: its progress bar and warnings stay, its info lines go.

Lightning reports through the ``lightning.pytorch.utilities.rank_zero`` logger at INFO level:
device lines ("GPU available: False, used: False", "TPU available"), "💡 Tip" adverts for
its cloud logger, "Loading `train_dataloader` to estimate ...", "Restoring states from ...".
None of it helps a user of ``train``; warnings use the same logger at WARNING and still show.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

LIGHTNING_INFO_LOGGERS = (
    "lightning.pytorch.utilities.rank_zero",
    "lightning.fabric.utilities.rank_zero",
)


@contextmanager
def quiet_lightning() -> Iterator[None]:
    """Raise Lightning's info loggers to WARNING for the duration, then restore them."""
    loggers = [logging.getLogger(name) for name in LIGHTNING_INFO_LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)
