"""The shipped default model still gives the motion it gave before the code around it moved."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from llavataros.pipeline import Animator

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
FINGERPRINT = Path(__file__).resolve().parent / "data" / "hello_fingerprint.json"


@pytest.mark.slow
def test_hello_matches_the_stored_fingerprint():
    expected = json.loads(FINGERPRINT.read_text())
    result = Animator.load().animate(EXAMPLES / "hello.wav", EXAMPLES / "hello.txt")
    motion = result.motion.to_array(np.float32).astype(np.float64)
    assert list(motion.shape) == expected["shape"]
    np.testing.assert_allclose(motion.mean(axis=0), expected["channel_mean"], atol=1e-6, rtol=0)
    np.testing.assert_allclose(motion[expected["rows"]], expected["frames"], atol=1e-6, rtol=0)
