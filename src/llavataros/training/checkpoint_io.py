"""Lightning checkpoint I/O through :mod:`llavataros.models.safe_state`: never pickles."""

from __future__ import annotations

from pathlib import Path

from lightning.fabric.plugins.io.checkpoint_io import CheckpointIO

from llavataros.models.safe_state import load_state, save_state


class SafeCheckpointIO(CheckpointIO):
    """Lightning checkpoint I/O that never pickles: JSON tree + safetensors."""

    def save_checkpoint(self, checkpoint: dict, path, storage_options=None) -> None:
        save_state(checkpoint, path)

    def load_checkpoint(self, path, map_location=None, weights_only=None) -> dict:
        return load_state(path, map_location or "cpu")

    def remove_checkpoint(self, path) -> None:
        for file in (Path(path), Path(str(path) + ".safetensors")):
            file.unlink(missing_ok=True)
