"""The shipped Transformer-XL (the live server's model) still gives the motion it gave before the
code around it moved."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from llavataros.pipeline import Animator

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
FINGERPRINT = Path(__file__).resolve().parent / "data" / "hello_fingerprint.json"


@pytest.fixture(scope="module")
def animator() -> Animator:
    return Animator.load("llanimation")


def wrist_speed(motion) -> np.ndarray:
    """Per frame, the faster wrist's speed in m/s."""
    wrists = motion.positions[:, [5, 8]]
    return np.linalg.norm(np.diff(wrists, axis=0), axis=-1).max(axis=1) * motion.fps


@pytest.mark.slow
def test_hello_matches_the_stored_fingerprint(animator):
    """Frames before the last 0.7 s are as stored; the ending changed on purpose when the
    speech became followed by silence (the model's 0.5 s lookahead, half a smoothing window)."""
    expected = json.loads(FINGERPRINT.read_text())
    result = animator.animate(EXAMPLES / "hello.wav", EXAMPLES / "hello.txt")
    motion = result.motion.to_array(np.float32).astype(np.float64)
    assert list(motion.shape) == expected["shape"]
    ending = int(0.7 * result.motion.fps)
    rows = [row for row in expected["rows"] if row < len(motion) - ending]
    frames = np.asarray(expected["frames"])[: len(rows)]
    assert len(rows) >= 20
    np.testing.assert_allclose(motion[rows], frames, atol=1e-6, rtol=0)


@pytest.mark.slow
@pytest.mark.parametrize("speech_seconds", [0.0, 13.8])
def test_the_last_second_moves_like_the_silence_before_it(animator, speech_seconds):
    """After speech (or in silence) the arms rest until the very end: no end-of-clip snap.
    Before speech was followed by silence, the last second of 10 s of silence reached 2.7 m/s
    where the rest stayed under 0.02 m/s."""
    from llavataros.speech.audio import SAMPLE_RATE, load_audio
    from llavataros.speech.words import Transcript

    speech = load_audio(EXAMPLES / "hello.wav") if speech_seconds else np.zeros(0, np.float32)
    audio = np.concatenate([speech, np.zeros(4 * SAMPLE_RATE, np.float32)])
    transcript = EXAMPLES / "hello.txt" if speech_seconds else Transcript("", ())
    motion = animator.animate(audio, transcript).motion
    speed = wrist_speed(motion)
    second = int(motion.fps)
    settled = speed[-3 * second : -second]  # 1-3 s after the speech: the arms have settled
    assert speed[-second:].max() < max(0.05, 2 * settled.max())
