"""Peak memory (resident set size) of the main job on a 10-minute input, offline and streaming.

Issue 3 (DoD): peak memory for a 10-minute input. Each case runs in a fresh subprocess, so
peaks do not mix; each reports the RSS after its models are loaded (the baseline), the peak
(VmHWM) at the end, and the growth between them:

- ``offline-words``: ``animate(WAV, timed words)`` without video (no speech front-end);
- ``offline-aligned``: ``animate(WAV, transcript text)``: pocketsphinx aligns the text;
- ``offline-whisper``: ``animate(WAV)``: Whisper tiny.en + alignment;
- ``stream``: ``AnimationStream`` with the timed words up front, fed 100 ms chunks read from the
  file chunk by chunk (the whole recording is never in memory); RSS is sampled every minute of
  speech to show it stays flat.

The speech is ``--minutes`` (10) of Piper speech (``common.speech_clip``), written once to /tmp.

    .venv/bin/python benchmarks/memory.py [--model RUN] [--minutes 10] [--cases ...] [--json F]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import common

CASES = ("offline-words", "offline-aligned", "offline-whisper", "stream")
MARK = "MEMORY-RESULT "


def worker(case: str, model: Path, seconds: float, threads: int | None) -> dict:
    """One case in this process; returns the RSS figures (MB) and the wall time."""
    common.set_threads(threads)
    clip_wav = (common.SCRATCH / f"speech-piper-{seconds:g}s").with_suffix(".wav")
    clip_words = clip_wav.with_suffix(".words.json")
    start_rss = common.current_rss_mb()
    import torch

    from llavataros.pipeline.animate import Animator
    from llavataros.speech.words import load_words_json

    animator = Animator.load(model, threads=torch.get_num_threads())  # keep --threads
    timed = load_words_json(clip_words)
    if case in ("offline-aligned", "offline-whisper"):
        from llavataros.speech.align import Aligner

        animator.aligner = Aligner()
    if case == "offline-whisper":
        from llavataros.speech.transcribe import Transcriber

        animator.transcriber = Transcriber()
    animator.extractor.word_vectors(timed)  # first use of the text encoder (lazy buffers)
    baseline = common.current_rss_mb()
    baseline_peak = common.peak_rss_mb()
    common.reset_peak_rss()
    samples = []
    tick = time.perf_counter()
    if case == "stream":
        frames = stream_file(animator, clip_wav, timed, samples)
    else:
        transcript = {"offline-words": timed, "offline-aligned": timed.text}.get(case)
        frames = animator.animate(clip_wav, transcript).motion.num_frames
    wall = time.perf_counter() - tick
    peak = common.peak_rss_mb()
    return {
        "case": case,
        "rss_at_start_mb": start_rss,
        "baseline_rss_mb": baseline,
        "baseline_peak_rss_mb": baseline_peak,
        "peak_rss_mb": peak,
        "growth_mb": peak - baseline,
        "frames": frames,
        "wall_seconds": wall,
        "rss_each_minute_mb": samples,
    }


def stream_file(animator, wav: Path, transcript, samples: list) -> int:
    """Feed ``wav`` in 100 ms chunks read from disk; RSS (MB) is appended every minute."""
    import soundfile

    from llavataros.pipeline.stream import AnimationStream

    stream = AnimationStream(animator, transcript)
    frames = pushes = 0
    with soundfile.SoundFile(wav) as source:
        if source.samplerate != common.SAMPLE_RATE:
            raise RuntimeError(f"{wav} is not 16 kHz")
        while True:
            chunk = source.read(1600, dtype="float32")
            if len(chunk) == 0:
                break
            frames += len(stream.push(chunk))
            pushes += 1
            if pushes % 600 == 0:
                samples.append(round(common.current_rss_mb(), 1))
    return frames + len(stream.finish())


def run_case(case: str, model: Path, seconds: float, threads: int | None) -> dict:
    command = [sys.executable, __file__, "--worker", case, "--model", str(model)]
    command += ["--minutes", str(seconds / 60)]
    if threads:
        command += ["--threads", str(threads)]
    done = subprocess.run(command, capture_output=True, text=True)
    for line in done.stdout.splitlines():
        if line.startswith(MARK):
            return json.loads(line[len(MARK) :])
    raise RuntimeError(f"{case} failed:\n{done.stderr[-3000:]}")


def main(argv: list[str] | None = None) -> dict | None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    common.add_common_arguments(parser)
    parser.add_argument("--minutes", type=float, default=10.0, help="speech length")
    parser.add_argument("--cases", nargs="+", choices=CASES, default=list(CASES))
    parser.add_argument("--worker", choices=CASES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    seconds = args.minutes * 60

    if args.worker:
        result = worker(args.worker, Path(args.model), seconds, args.threads)
        print(MARK + json.dumps(result), flush=True)
        return None

    path = common.model_path(args.model)
    clip = common.speech_clip(seconds)  # written once to /tmp for the workers
    info = common.machine()
    if args.threads:
        info["torch_threads"] = args.threads
    common.print_machine(info)
    print(f"model: {path}; speech: {clip.seconds:g} s, {len(clip.transcript.words)} words")
    results = {}
    for case in args.cases:
        print(f"running {case} in a fresh process ...", flush=True)
        results[case] = run_case(case, path, seconds, args.threads)
    print("\nresident memory, MB (each case in its own process)")
    common.print_table(
        [
            (
                case,
                r["baseline_rss_mb"],
                r["peak_rss_mb"],
                r["growth_mb"],
                r["wall_seconds"],
            )
            for case, r in results.items()
        ],
        ["case", "after loading", "peak", "growth", "wall s"],
    )
    if "stream" in results:
        minutes = results["stream"]["rss_each_minute_mb"]
        print(f"stream RSS at each minute of speech (MB): {minutes}")
    figures = {"machine": info, "model": str(path), "seconds": clip.seconds, "cases": results}
    common.save_json(figures, args.json)
    return figures


if __name__ == "__main__":
    main()
