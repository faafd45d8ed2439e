"""Speed of the speech front-end per stage on the AvatarOS sample (SPEC section 5: "Speed").

Times loading the audio, Whisper transcription and pocketsphinx alignment with the models loaded
once (their load time is printed apart), and prints seconds and real-time factor (processing
seconds per second of audio) per stage. Run: ``.venv/bin/python benchmarks/frontend.py``.

Stages: load audio, Whisper transcription, alignment of Whisper's text, alignment of a given
text, word vectors (MiniLM), prosody features; models are loaded once, before timing. More
stages plug in as :class:`Stage` objects through :func:`run_stages`.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

SAMPLE = (
    Path(__file__).resolve().parents[2]
    / "shared"
    / "data"
    / "avataros-sample"
    / "001_Neutral_0_mirror_x_1_0.wav"
)


@dataclass(frozen=True)
class Stage:
    """A named step; ``run(results)`` gets the earlier stages' outputs by name."""

    name: str
    run: Callable[[dict[str, Any]], Any]


@dataclass(frozen=True)
class Timing:
    name: str
    seconds: float  # best of the repeats
    real_time_factor: float  # seconds per second of audio


def run_stages(
    stages: list[Stage], audio_seconds: float, repeats: int = 1
) -> tuple[list[Timing], dict[str, Any]]:
    """Run ``stages`` in order, each ``repeats`` times; best time per stage and all outputs."""
    results: dict[str, Any] = {}
    timings = []
    for stage in stages:
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            results[stage.name] = stage.run(results)
            best = min(best, time.perf_counter() - start)
        timings.append(Timing(stage.name, best, best / audio_seconds))
    return timings, results


def print_timings(timings: list[Timing], audio_seconds: float) -> None:
    print(f"audio: {audio_seconds:.2f} s")
    print(f"{'stage':<34}{'seconds':>10}{'x real time':>14}")
    for timing in timings:
        print(f"{timing.name:<34}{timing.seconds:>10.3f}{timing.real_time_factor:>14.4f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("audio", nargs="?", default=str(SAMPLE), help="speech file")
    parser.add_argument("--transcript", help="text/.TextGrid to time the given-text alignment")
    parser.add_argument("--beam-size", type=int, default=None, help="Whisper beam size")
    parser.add_argument("--threads", type=int, default=2, help="Whisper CPU threads")
    parser.add_argument("--batch", type=int, default=4, help="Whisper batch size (0: none)")
    parser.add_argument("--repeats", type=int, default=1, help="runs per stage (best is kept)")
    parser.add_argument("--fps", type=float, default=30.0, help="feature frame rate")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # the text encoder: one thread was fastest on 2 shared cores

    from llavataros.speech.align import Aligner
    from llavataros.speech.audio import audio_duration, load_audio
    from llavataros.speech.frontend import (
        FrontendConfig,
        read_transcript_argument,
        realign_segments,
    )
    from llavataros.speech.transcribe import Transcriber, TranscriberConfig, screen_segments

    transcript = args.transcript
    textgrid = Path(args.audio).with_suffix(".TextGrid")
    if transcript is None and textgrid.exists():
        transcript = str(textgrid)
    given = read_transcript_argument(transcript) if transcript else None
    given_text = given if isinstance(given, str) else given.text if given else None

    config = TranscriberConfig(cpu_threads=args.threads, batch_size=args.batch)
    if args.beam_size:
        config = TranscriberConfig(
            cpu_threads=args.threads, beam_size=args.beam_size, batch_size=args.batch
        )
    load_start = time.perf_counter()
    transcriber = Transcriber(config)
    whisper_load = time.perf_counter() - load_start
    load_start = time.perf_counter()
    aligner = Aligner()
    aligner_load = time.perf_counter() - load_start
    print(f"model load (once): Whisper {whisper_load:.2f} s, pocketsphinx {aligner_load:.2f} s")
    print(
        f"Whisper beam size {config.beam_size}, {config.cpu_threads} threads, "
        f"batch {config.batch_size}"
    )

    stages = [
        Stage("load audio", lambda r: load_audio(args.audio)),
        Stage(
            "whisper transcription",
            lambda r: screen_segments(transcriber.segments(r["load audio"]), config)[0],
        ),
        Stage(
            "alignment of whisper text",
            lambda r: realign_segments(
                r["load audio"], r["whisper transcription"], aligner, FrontendConfig()
            ),
        ),
    ]
    if given_text:
        stages.append(
            Stage("alignment of given text", lambda r: aligner.align(r["load audio"], given_text))
        )
    from llavataros.features.audio_encoders import ProsodyFeatures
    from llavataros.features.text_encoders import TransformersTextEncoder

    load_start = time.perf_counter()
    text_encoder = TransformersTextEncoder()
    print(f"model load (once): MiniLM {time.perf_counter() - load_start:.2f} s")
    prosody = ProsodyFeatures(args.fps)

    def word_vectors(results):
        words = [word.word for word in results["alignment of whisper text"].words]
        return text_encoder.encode_words(words)

    def audio_features(results):
        samples = results["load audio"]
        return prosody.extract(samples, max(1, round(len(samples) / 16000 * args.fps)))

    stages.append(Stage("text features (MiniLM)", word_vectors))
    stages.append(Stage(f"audio features ({args.fps:g} fps)", audio_features))

    seconds = audio_duration(args.audio)
    timings, results = run_stages(stages, seconds, args.repeats)
    print_timings(timings, seconds)
    front = [t for t in timings if t.name != "alignment of given text"]
    total = sum(t.seconds for t in front)
    print(f"{'front-end total (no transcript)':<34}{total:>10.3f}{total / seconds:>14.4f}")
    words = results["alignment of whisper text"].words
    print(f"words: {len(words)}; first: {words[0] if words else None}")


if __name__ == "__main__":
    main()
