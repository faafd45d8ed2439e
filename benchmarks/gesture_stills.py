"""Still frames of the ten semantic gestures of the synthetic corpus (SPEC section 4), for eyes.

Generates one take (a corpus script with word times from ``quick_take``, no TTS), finds the
first labelled gesture of every class and saves its peak frame as ``docs/gestures/CLASS.png``:
front view (as rendered videos) beside a side view (the character turned so it faces right).
Prints, per class, the peak time and whether the detectors of ``llavataros.gestures.detectors``
found that gesture.

    .venv/bin/python benchmarks/gesture_stills.py [--out docs/gestures] [--seed 3]
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import numpy as np

from llavataros.corpus.procedural_motion import generate_motion
from llavataros.corpus.quick_speech import quick_take
from llavataros.corpus.script import generate_script
from llavataros.corpus.styles import SpeakerStyle
from llavataros.gestures.classes import CLASS_NAMES
from llavataros.gestures.detectors import detect_gestures, match_gestures
from llavataros.motion import rotations
from llavataros.motion.take import Motion
from llavataros.render import render_frame, save_png
from llavataros.speech.tts import Voice


def turned(motion: Motion, angle: float) -> Motion:
    """``motion`` rotated by ``angle`` radians about the vertical axis through its mean root."""
    turn = rotations.from_axis_angle(np.array([0.0, 1.0, 0.0]), angle)
    centre = motion.positions[:, 0].mean(axis=0) * np.array([1.0, 0.0, 1.0])
    positions = rotations.rotate(turn, motion.positions - centre) + centre
    quats = rotations.multiply(np.broadcast_to(turn, motion.rotations.shape), motion.rotations)
    return replace(motion, positions=positions, rotations=quats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/gestures"))
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    script = generate_script(rng, 260)
    speech = quick_take(script, rng)
    style = SpeakerStyle("Ada", Voice(), gesture_amplitude=0.5)
    motion, labels = generate_motion(speech, style, 60.0, np.random.default_rng(args.seed))
    side = turned(motion, np.pi / 2)
    detected = detect_gestures(motion.positions, motion.fps)
    scores = match_gestures(detected, labels.gestures)
    found = {trigger for trigger, _ in scores.pairs}
    args.out.mkdir(parents=True, exist_ok=True)
    for name in CLASS_NAMES:
        index = next((i for i, g in enumerate(labels.gestures) if g.gesture == name), None)
        if index is None:
            print(f"{name:6s} not in this take")
            continue
        label = labels.gestures[index]
        frame = int(round(label.peak * motion.fps))
        image = render_frame(
            [motion, side], frame, size=(360, 420), titles=[f"{name} '{label.word}'", "side"]
        )
        path = save_png(image, args.out / f"{name}.png")
        print(
            f"{name:6s} peak {label.peak:6.2f} s  hand {label.hand:5s}  "
            f"detected {'yes' if index in found else 'NO'}  -> {path}"
        )


if __name__ == "__main__":
    main()
