"""Normalisation statistics of a feature stream, stored with a model and applied at inference."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class FeatureStatistics:
    """Per-dimension mean and standard deviation ``(d,)`` of a feature stream."""

    mean: np.ndarray
    std: np.ndarray

    def normalize(self, values: np.ndarray) -> np.ndarray:
        """``(values - mean) / std`` as float32."""
        return ((values - self.mean) / self.std).astype(np.float32)

    def to_dict(self) -> dict:
        return {"mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_dict(cls, data: dict) -> FeatureStatistics:
        return cls(np.asarray(data["mean"], np.float32), np.asarray(data["std"], np.float32))
