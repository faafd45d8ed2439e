"""CPU time of the rule-based face of ``animate`` (:func:`llavataros.pipeline.face.speech_face`)
per second of speech, at 60 fps, on the takes of a synthetic corpus (their words.json), and of
the same face computed by the stream in 0.1 s chunks.

Usage: ``.venv/bin/python benchmarks/face_speed.py /work/corpora/face20 [--takes 3]``
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from llavataros.face.rules import RuleFace
from llavataros.pipeline.face import FaceWords, _dictionary, speech_face
from llavataros.speech.audio import load_audio
from llavataros.speech.words import load_words_json

FPS = 60.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--takes", type=int, default=3)
    args = parser.parse_args()
    started = time.process_time()
    _dictionary()
    print(f"pronouncing dictionary: {time.process_time() - started:.2f} s CPU, once per process")
    names = [t["name"] for t in json.loads((args.corpus / "corpus.json").read_text())["takes"]]
    offline = streamed = seconds = 0.0
    for name in names[: args.takes]:
        audio = load_audio(args.corpus / f"{name}.wav")
        words = load_words_json(args.corpus / f"{name}.words.json").words
        frames = round(len(audio) / 16000 * FPS)
        started = time.process_time()
        speech_face(audio, words, frames, FPS)
        offline += time.process_time() - started
        started = time.process_time()
        face = RuleFace(FPS)
        FaceWords().add(face, words)
        for start in range(0, len(audio), 1600):
            face.add_audio(audio[start : start + 1600])
            face.frames(min(face.ready_frames(), frames))
        face.finish()
        face.frames(frames)
        streamed += time.process_time() - started
        seconds += len(audio) / 16000
    print(
        f"{seconds:.0f} s of speech: offline {offline / seconds:.4f} x real time, "
        f"stream (0.1 s chunks) {streamed / seconds:.4f} x real time (CPU time, one thread)"
    )


if __name__ == "__main__":
    main()
