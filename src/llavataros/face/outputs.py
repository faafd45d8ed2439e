"""The face outputs of ``animate``: ``NAME.face.npy`` and ``NAME.face.csv`` (Live Link Face
layout) beside the body output. Validates before writing anything, so bad weights leave no
partial output."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from llavataros.face.livelink import face_to_csv_text
from llavataros.face.take import check_face, face_path, save_face


def write_face_outputs(
    base: str | Path, weights: np.ndarray, fps: float, rotations: np.ndarray | None = None
) -> tuple[Path, Path]:
    """Write ``NAME.face.npy`` and ``NAME.face.csv`` for ``base`` (e.g. ``out/NAME.bvh``);
    returns both paths."""
    npy = face_path(base)
    csv = npy.with_name(npy.name[: -len(".npy")] + ".csv")
    weights = check_face(weights, npy)
    text = face_to_csv_text(weights, fps, rotations)  # validates rotations and fps too
    save_face(npy, weights)
    partial = csv.with_name(csv.name + ".partial")
    partial.write_text(text, newline="")
    partial.replace(csv)
    return npy, csv
