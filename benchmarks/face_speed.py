"""CPU time of the face of ``animate`` (:func:`llavataros.pipeline.face.speech_face`) per second
of speech, at 60 fps, on the takes of a synthetic corpus, and of the same face computed by the
stream in 0.1 s chunks: with their words (visemes) and without (the mouth from the shipped face
model, or the loudness jaw with ``--no-model``).

Usage: ``.venv/bin/python benchmarks/face_speed.py /work/corpora/face20 [--takes 3]``
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from llavataros.face.rules import RuleFace
from llavataros.pipeline.face import FaceWords, _dictionary, learned_mouth, speech_face
from llavataros.pipeline.learned_mouth import load_face_model
from llavataros.speech.audio import load_audio
from llavataros.speech.words import load_words_json

FPS = 60.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--takes", type=int, default=3)
    parser.add_argument("--no-model", action="store_true", help="the loudness jaw, no model")
    args = parser.parse_args()
    torch.set_num_threads(1)
    model = None if args.no_model else load_face_model()
    started = time.process_time()
    _dictionary()
    print(f"pronouncing dictionary: {time.process_time() - started:.2f} s CPU, once per process")
    names = [t["name"] for t in json.loads((args.corpus / "corpus.json").read_text())["takes"]]
    for label, with_words in (("with words", True), ("without words", False)):
        offline = streamed = seconds = 0.0
        for name in names[: args.takes]:
            audio = load_audio(args.corpus / f"{name}.wav")
            words = load_words_json(args.corpus / f"{name}.words.json").words if with_words else []
            frames = round(len(audio) / 16000 * FPS)
            started = time.process_time()
            source = speech_face(audio, words, frames, FPS, face_model=model)[1]
            offline += time.process_time() - started
            started = time.process_time()
            face = RuleFace(FPS, mouth=learned_mouth(model, FPS))
            FaceWords().add(face, words)
            for start in range(0, len(audio), 1600):
                face.add_audio(audio[start : start + 1600])
                face.frames(min(face.ready_frames(), frames))
            face.finish()
            face.frames(frames)
            streamed += time.process_time() - started
            seconds += len(audio) / 16000
        print(
            f"{label} ({source}), {seconds:.0f} s of speech: offline {offline / seconds:.4f} x "
            f"real time, stream (0.1 s chunks) {streamed / seconds:.4f} x real time (CPU time, "
            "one thread)"
        )


if __name__ == "__main__":
    main()
