"""Compute per chunk and first-frame latency of :class:`AnimationStream` fed 100 ms chunks.

Issue 3 (DoD): first-frame latency of the streaming object for 100 ms chunks; target <= 50 ms of
compute per chunk on 2 CPU cores. Measured on ``--seconds`` (60) of speech (Piper voice, see
``common.speech_clip``) after a warm-up stream:

- compute per ``push`` (wall ms: median, 95th percentile, max; process CPU ms median) and for
  ``finish``;
- first frame: the pushes until the first frame comes back, the compute from the first push
  until it is returned (back-to-back pushes), the wall time from the first push when audio
  arrives in real time (``--paced`` sleeps between pushes; otherwise estimated as the audio
  time of the pushes before it plus that compute), and the speech-time latency
  ``stream.latency_seconds`` (lookahead + feature context + smoothing) by which every frame
  lags the audio.

``--words upfront`` gives the stream the timed transcript at the start (e.g. a TTS voice);
``--words incremental`` pushes each word with the chunk in which it ends (as a live recogniser
would), which makes the stream re-encode its words.

    .venv/bin/python benchmarks/stream_latency.py [--model RUN] [--chunk-ms 100] [--json F]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import common


def run_stream(animator, clip, chunk: int, words_mode: str, paced: bool, limit: float | None):
    """Push ``clip`` in chunks of ``chunk`` samples; per-push wall/CPU seconds, frames out."""
    from llavataros.pipeline.stream import AnimationStream

    upfront = clip.transcript if words_mode == "upfront" else None
    pending = list(clip.transcript.words) if words_mode == "incremental" else []
    stream = AnimationStream(animator, upfront)
    total = len(clip.audio) if limit is None else min(len(clip.audio), int(limit * 16000))
    walls, cpus, frames, arrivals = [], [], [], []
    begin = time.perf_counter()
    for start in range(0, total, chunk):
        stop = min(start + chunk, total)
        if paced:  # wait for this chunk's audio to have "arrived"
            delay = begin + stop / 16000 - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        now_seconds = stop / 16000
        words = []
        while pending and pending[0].end <= now_seconds:
            words.append(pending.pop(0))
        arrivals.append(time.perf_counter())
        cpu, tick = common.cpu_seconds(), time.perf_counter()
        out = stream.push(clip.audio[start:stop], words)
        walls.append(time.perf_counter() - tick)
        cpus.append(common.cpu_seconds() - cpu)
        frames.append(len(out))
    cpu, tick = common.cpu_seconds(), time.perf_counter()
    last = stream.finish()
    finish = (time.perf_counter() - tick, common.cpu_seconds() - cpu, len(last))
    return stream, walls, cpus, frames, arrivals, finish


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    common.add_common_arguments(parser)
    parser.add_argument("--seconds", type=float, default=60.0, help="speech length")
    parser.add_argument("--chunk-ms", type=float, default=100.0, help="audio per push")
    parser.add_argument("--words", choices=["upfront", "incremental"], default="upfront")
    parser.add_argument("--paced", action="store_true", help="push in real time (sleep)")
    parser.add_argument(
        "--speech", choices=["piper", "repeat"], default="piper", help="see common.speech_clip"
    )
    args = parser.parse_args(argv)
    common.set_threads(args.threads)

    import torch

    from llavataros.pipeline.animate import Animator

    path = common.model_path(args.model)
    clip = common.speech_clip(args.seconds, args.speech)
    info = common.machine()
    common.print_machine(info)
    animator = Animator.load(path, threads=torch.get_num_threads())  # keep --threads
    config = animator.model.config
    chunk = int(round(args.chunk_ms / 1000 * 16000))
    print(
        f"model: {path} ({getattr(config, 'fusion', animator.model.family)}, width "
        f"{config.width}, depth {config.depth}, "
        f"{config.fps:g} fps, lookahead {config.lookahead} frames)"
    )
    print(
        f"speech: {clip.seconds:g} s in chunks of {args.chunk_ms:g} ms ({chunk} samples); "
        f"words {args.words}; {'paced in real time' if args.paced else 'pushed back to back'}"
    )

    run_stream(animator, clip, chunk, args.words, paced=False, limit=3.0)  # warm-up
    stream, walls, cpus, frames, arrivals, finish = run_stream(
        animator, clip, chunk, args.words, args.paced, None
    )
    first = next((i for i, n in enumerate(frames) if n > 0), None)
    chunk_seconds = chunk / 16000
    if first is None:
        compute_to_first = paced_to_first = float("nan")
    else:
        compute_to_first = sum(walls[: first + 1])
        if args.paced:
            paced_to_first = arrivals[first] + walls[first] - arrivals[0]
        else:  # audio arrives every chunk; compute of earlier pushes overlaps the waiting
            paced_to_first = first * chunk_seconds + walls[first]
    ms = [1000 * w for w in walls]
    steady = ms[first + 1 :] if first is not None else ms
    figures = {
        "machine": info,
        "model": str(path),
        "seconds": clip.seconds,
        "chunk_ms": args.chunk_ms,
        "words": args.words,
        "paced": args.paced,
        "pushes": len(walls),
        "push_ms_median": statistics.median(ms),
        "push_ms_p95": common.percentile(ms, 95),
        "push_ms_max": max(ms),
        "push_ms_mean": statistics.fmean(ms),
        "push_cpu_ms_median": 1000 * statistics.median(cpus),
        "first_push_ms": ms[0],
        "pushes_over_50ms": sum(m > 50 for m in ms),
        "steady_push_ms_median": statistics.median(steady) if steady else float("nan"),
        "finish_ms": 1000 * finish[0],
        "frames_per_push_median": statistics.median(frames),
        "frames_total": sum(frames) + finish[2],
        "first_frame_push": first,
        "first_frame_audio_seconds": None if first is None else (first + 1) * chunk_seconds,
        "first_frame_compute_ms": 1000 * compute_to_first,
        "first_frame_wall_ms_real_time": 1000 * paced_to_first,
        "latency_seconds": stream.latency_seconds,
        "compute_real_time_factor": (sum(walls) + finish[0]) / clip.seconds,
    }
    print("\ncompute per push (target <= 50 ms)")
    common.print_table(
        [
            ("push, wall ms", figures["push_ms_median"], figures["push_ms_p95"], max(ms)),
            (
                "push, process CPU ms",
                1000 * statistics.median(cpus),
                1000 * common.percentile(cpus, 95),
                1000 * max(cpus),
            ),
        ],
        ["", "median", "p95", "max"],
    )
    print(
        f"{len(ms)} pushes, {figures['pushes_over_50ms']} over 50 ms; first push "
        f"{ms[0]:.1f} ms; finish {figures['finish_ms']:.1f} ms; "
        f"{figures['frames_per_push_median']:g} frames per push (median), "
        f"{figures['frames_total']} frames at {stream.fps:g} fps; "
        f"compute {figures['compute_real_time_factor']:.4f} x real time"
    )
    print("\nfirst frame")
    common.print_table(
        [
            ("pushes until the first frame", "" if first is None else first + 1),
            ("audio received by then (s)", figures["first_frame_audio_seconds"]),
            ("compute from first push to first frame (ms)", figures["first_frame_compute_ms"]),
            (
                "wall from first push, real-time audio (ms)",
                figures["first_frame_wall_ms_real_time"],
            ),
            ("speech-time latency stream.latency_seconds (s)", stream.latency_seconds),
        ],
        ["", "value"],
    )
    common.save_json(figures, args.json)
    return figures


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
