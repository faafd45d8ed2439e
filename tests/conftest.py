"""Shared fixtures: the AvatarOS sample take and the FACEGOOD clips (skipped with a reason
where absent)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from llavataros.face.facegood import TABLE_FILE

torch.set_num_threads(1)

SAMPLE_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "avataros-sample"
SAMPLE_NAME = "001_Neutral_0_mirror_x_1_0"
FACEGOOD = Path(__file__).resolve().parents[2] / "shared" / "data" / "facegood"


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    if not (SAMPLE_DIR / f"{SAMPLE_NAME}.npy").exists():
        pytest.skip(f"AvatarOS sample not found at {SAMPLE_DIR} (CI and team machines have it)")
    return SAMPLE_DIR


@pytest.fixture(scope="session")
def sample_npy(sample_dir) -> Path:
    return sample_dir / f"{SAMPLE_NAME}.npy"


@pytest.fixture(scope="session")
def sample_wav(sample_dir) -> Path:
    return sample_dir / f"{SAMPLE_NAME}.wav"


@pytest.fixture(scope="session")
def sample_textgrid(sample_dir) -> Path:
    return sample_dir / f"{SAMPLE_NAME}.TextGrid"


@pytest.fixture(scope="session")
def facegood_dir() -> Path:
    if not (FACEGOOD / TABLE_FILE).exists():
        pytest.skip(f"FACEGOOD clips not found at {FACEGOOD} (team machines have them)")
    return FACEGOOD
