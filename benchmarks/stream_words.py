"""How much the stream moves with and without timed words (README, Python API).

The stream does not transcribe: its text branch sees only the words it is given. This prints
the mean wrist speed of the stream of the shipped Transformer-XL (the live server's model) on
``examples/hello.wav`` with no words and with the words of ``examples/hello.txt`` aligned
offline, and the share of frames where both wrists move slower than 0.05 m/s.

    .venv/bin/python benchmarks/stream_words.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from llavataros.pipeline import AnimationStream, Animator
from llavataros.speech.audio import load_audio

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
WRISTS = [5, 8]  # RightForeArm, LeftForeArm positions sit at the wrists
CHUNK = 1600  # 0.1 s at 16 kHz


def streamed(animator: Animator, audio: np.ndarray, transcript) -> np.ndarray:
    stream = AnimationStream(animator, transcript=transcript)
    frames = [stream.push(audio[i : i + CHUNK]) for i in range(0, len(audio), CHUNK)]
    frames.append(stream.finish())
    return np.concatenate(frames)  # (t, 9, 7)


def main() -> None:
    animator = Animator.load("llanimation")  # the live server's model
    audio = load_audio(EXAMPLES / "hello.wav")
    words = animator.words(audio, EXAMPLES / "hello.txt")
    for label, transcript in (("no words", None), ("timed words", words)):
        motion = streamed(animator, audio, transcript)
        speed = np.linalg.norm(np.diff(motion[:, WRISTS, :3], axis=0), axis=-1)
        speed *= animator.default_fps  # (t - 1, 2) m/s
        still = np.mean(speed.max(axis=1) < 0.05)
        print(f"{label:12s} mean wrist speed {speed.mean():.3f} m/s, still frames {still:.0%}")


if __name__ == "__main__":
    main()
