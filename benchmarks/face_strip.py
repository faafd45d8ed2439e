"""Render the README's strip of face frames (``docs/images/face_strip.png``): the face that
``animate`` writes for ``examples/hello.wav`` (its transcript aligned), drawn as the video
draws it, every ``--step`` s from ``--start``, each frame labelled with the word spoken.

Usage: ``.venv/bin/python benchmarks/face_strip.py [--out docs/images/face_strip.png]``
"""

from __future__ import annotations

import argparse
from pathlib import Path

from llavataros.pipeline.face import speech_face
from llavataros.render import raster
from llavataros.render.face import draw_face
from llavataros.render.video import DEFAULT_STYLE
from llavataros.speech.align import Aligner
from llavataros.speech.audio import load_audio
from llavataros.speech.frontend import read_transcript_argument, words_for_audio

ROOT = Path(__file__).resolve().parents[1]
FPS = 30.0
CELL, RADIUS = 112, 44  # px


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--audio", type=Path, default=ROOT / "examples" / "hello.wav")
    parser.add_argument("--transcript", type=Path, default=ROOT / "examples" / "hello.txt")
    parser.add_argument("--start", type=float, default=0.8, help="s")
    parser.add_argument("--step", type=float, default=0.1, help="s between frames")
    parser.add_argument("--count", type=int, default=12)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images" / "face_strip.png")
    args = parser.parse_args()
    audio = load_audio(args.audio)
    words = words_for_audio(audio, read_transcript_argument(args.transcript), None, Aligner())
    frames = int(round(len(audio) / 16000 * FPS))
    face, source = speech_face(audio, words.words, frames, FPS)
    style = DEFAULT_STYLE
    canvas = raster.new_canvas(CELL * args.count, CELL + 34, style.background)
    for k in range(args.count):
        time = args.start + k * args.step
        index = min(frames - 1, int(round(time * FPS)))
        centre = (CELL * k + CELL / 2, CELL / 2 + 4)
        raster.draw_disc(canvas, centre, RADIUS, style.head)
        raster.draw_ring(canvas, centre, RADIUS, 2.0, style.torso)
        draw_face(canvas, centre, RADIUS, face[index], style.torso)
        spoken = next((w.word for w in words.words if w.start <= time < w.end), "")
        for line, text in enumerate((f"{time:.2f}s", spoken[:9])):
            width, _ = raster.text_size(text, 1)
            left = int(CELL * k + (CELL - width) / 2)
            raster.draw_text(canvas, text, left, CELL + 2 + 14 * line, 1, style.text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    raster.save_png(raster.to_image(canvas), args.out)
    print(f"{args.out}: {args.count} frames of the {source} face, {args.step} s apart")


if __name__ == "__main__":
    main()
