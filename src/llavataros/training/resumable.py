"""A training data loader that Lightning can stop and resume in the middle of an epoch.

Lightning saves the ``state_dict`` of every train loader that has one in each checkpoint and
hands it back on ``--resume`` (otherwise it warns "dataloader is not resumable" and restarts
the epoch's batch order from the beginning, so a mid-epoch resume trains on other batches).
The state is the epoch, how many batches of it were consumed and torch's random state; the
resumed iterator draws the epoch's batches in the same order (the sampler depends only on seed
and epoch), skips the consumed ones and puts the random state back before the next one.
Skipped batches are drawn and dropped, never trained on: the cost is one pass of data loading
over them.

Lightning 2.6 builds the train loader early (``estimated_stepping_batches``, which the
learning-rate schedule reads) and restores loop state later, so it never hands the saved state
to the loader; :class:`RestoreLoaderState` does, before the first batch.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from lightning.pytorch.callbacks import Callback
from torch.utils.data import DataLoader


class ResumableLoader(DataLoader):
    """A :class:`DataLoader` with ``state_dict`` / ``load_state_dict`` (constructor unchanged,
    so Lightning can rebuild it, e.g. with a distributed sampler)."""

    _consumed = 0  # batches of the current epoch handed out
    _resume: dict | None = None  # state to resume from at the next iteration

    def _epoch(self) -> int | None:
        sampler = getattr(self.sampler, "sampler", self.sampler)  # Lightning's DDP wrapper
        return getattr(sampler, "epoch", None)

    def state_dict(self) -> dict:
        return {
            "epoch": self._epoch(),
            "batches": self._consumed,
            "torch_rng_state": torch.get_rng_state(),
        }

    def load_state_dict(self, state: dict) -> None:
        self._resume = dict(state)

    def __iter__(self) -> Iterator:
        # The iterator is made now, as DataLoader does (it draws its base seed from torch's
        # generator); the sampler's epoch is read at the first batch, after Lightning set it.
        return self._batches(super().__iter__())

    def _batches(self, batches: Iterator) -> Iterator:
        resume, self._resume = self._resume, None
        skip = 0
        if resume is not None and resume.get("epoch") == self._epoch():
            skip = int(resume.get("batches", 0))
            skip = skip if skip < len(self) else 0  # saved at the end of an epoch: a new one
        self._consumed = 0
        for batch in batches:
            self._consumed += 1
            if self._consumed <= skip:
                continue
            if skip and self._consumed == skip + 1 and "torch_rng_state" in resume:
                # Resuming mid-epoch: dropout continues from the state at the checkpoint (a
                # restart draws the iterator's seed, which the uninterrupted run did not).
                torch.set_rng_state(resume["torch_rng_state"].to(torch.uint8))
            yield batch


class RestoreLoaderState(Callback):
    """Give the train loader its saved state on resume (see the module docstring)."""

    def on_train_start(self, trainer, task) -> None:
        trainer.fit_loop._load_combined_loader_states()  # no-op unless restarting
