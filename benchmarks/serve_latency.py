"""Live server latency, memory and leak check over loopback (issue 13, "Benchmarks and targets").

Starts ``llavataros serve`` as a subprocess, then from this process:

- for each N in ``--streams`` (1 2 4 8): N concurrent clients stream ``--seconds`` of speech
  (the example clip repeated, timed words in the start message) at real-time pace in 100 ms
  chunks (``--chunk-ms``); per-frame latency beyond the lookahead (wall time the frame arrives
  minus the wall time its audio was sent, minus ``ready.lookahead_s``) as p50/p95/max over all
  frames, the worst stream's p95, the median time from a stream's first audio to its first
  frame, and memory per connection (server peak RSS, its worker processes included, while
  streaming minus its idle RSS, over
  N); server CPU seconds per second of speech per stream (what the load of other processes
  does not change: 2 idle cores hold about 2 / that many streams);
- ``--cycles`` (500) connect / stream ``--cycle-seconds`` (0.5 s, sent at once) / disconnect
  cycles, ``--parallel`` at a time: server RSS and thread count after the first 10 % and at the
  end (no growth is the target).

Targets: one stream p95 beyond lookahead <= 100 ms; >= 8 concurrent streams within that bound.

    .venv/bin/python benchmarks/serve_latency.py [--streams 1 2 4 8] [--seconds 10]
        [--cycles 500] [--batch-wait-ms 30] [--processes N] [--workers N] [--model RUN]
        [--json F]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

import common

BOUND_S = 0.1  # the target: p95 latency beyond the lookahead
WARM_UP_STREAMS = 4


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (the server's worker processes)."""
    found = [pid]
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            found += process_tree(int(child))
    return found


def status(pid: int) -> dict[str, float]:
    """RSS (MB) and thread count of process ``pid`` and its descendants, summed."""
    fields = {"VmRSS": 0.0, "Threads": 0.0}
    for member in process_tree(pid):
        for line in Path(f"/proc/{member}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in fields:
                fields[key] += float(value.split()[0])
    return {"rss_mb": fields["VmRSS"] / 1024, "threads": fields["Threads"]}


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` and its descendants so far."""
    total = 0
    for member in process_tree(pid):
        fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(
    port: int,
    model: str | None,
    workers: int | None,
    wait_ms: float,
    face_model: str | None,
    processes: int | None,
):
    command = [sys.executable, "-m", "llavataros.cli", "serve", "--port", str(port)]
    if processes:
        command += ["--processes", str(processes)]
    if face_model:
        command += ["--face-model", face_model]
    command += ["--max-connections", "16", "--batch-wait-ms", str(wait_ms)]
    if workers:
        command += ["--workers", str(workers)]
    if model:
        command += ["--model", model]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    server.stdout.readline()  # the "serving" line, printed once the model is loaded
    return server


async def concurrent_streams(
    url: str, clip, count: int, pid: int, speed: float, chunk_s: float = 0.1
) -> dict:
    """``count`` clients at once; latency beyond lookahead and peak server RSS."""
    from llavataros.serve.client import start_message, stream_audio

    peak = status(pid)["rss_mb"]
    running = True

    async def sample():
        nonlocal peak
        while running:
            peak = max(peak, status(pid)["rss_mb"])
            await asyncio.sleep(0.2)

    sampler = asyncio.create_task(sample())
    start = start_message(clip.transcript, None, live_words=False)
    results = await asyncio.gather(
        *(stream_audio(url, clip.audio, start, speed, chunk_s) for _ in range(count))
    )
    running = False
    await sampler
    beyond = [r.latencies - r.ready["lookahead_s"] / speed for r in results]
    everything = np.concatenate(beyond)
    return {
        "streams": count,
        "frames": int(len(everything)),
        "p50_s": float(np.percentile(everything, 50)),
        "p95_s": float(np.percentile(everything, 95)),
        "max_s": float(everything.max()),
        "worst_stream_p95_s": float(max(np.percentile(b, 95) for b in beyond)),
        "first_frame_s": float(np.median([r.first_frame for r in results])),
        "peak_rss_mb": peak,
    }


async def cycles(url: str, audio: np.ndarray, total: int, parallel: int, pid: int) -> dict:
    """``total`` connect/stream/disconnect cycles, ``parallel`` at a time."""
    from llavataros.serve.client import start_message, stream_audio

    start = start_message(None, None, live_words=False)
    marks = {}
    done = 0
    while done < total:
        batch = min(parallel, total - done)
        await asyncio.gather(*(stream_audio(url, audio, start, float("inf")) for _ in range(batch)))
        done += batch
        if "early" not in marks and done >= total // 10:
            marks["early"] = {"cycles": done, **status(pid)}
    marks["end"] = {"cycles": done, **status(pid)}
    return marks


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model", help="run folder or checkpoint (default: the server's, the Transformer-XL)"
    )
    parser.add_argument("--streams", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--seconds", type=float, default=10.0, help="speech per stream")
    parser.add_argument("--speed", type=float, default=1.0, help="times real time")
    parser.add_argument("--chunk-ms", type=float, default=100.0, help="audio per message")
    parser.add_argument("--cycles", type=int, default=500)
    parser.add_argument("--cycle-seconds", type=float, default=0.5)
    parser.add_argument("--parallel", type=int, default=4, help="cycles at a time")
    parser.add_argument("--processes", type=int, help="server processes (its default)")
    parser.add_argument("--workers", type=int, help="server inference threads (its default)")
    parser.add_argument(
        "--batch-wait-ms", type=float, default=30.0, help="server batching wait (0: none)"
    )
    parser.add_argument("--face-model", help="the server's --face-model ('none': loudness jaw)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)

    info = common.machine()
    common.print_machine(info)
    clip = common.speech_clip(args.seconds, "repeat")
    port = free_port()
    url = f"ws://127.0.0.1:{port}/ws"
    server = start_server(
        port, args.model, args.workers, args.batch_wait_ms, args.face_model, args.processes
    )
    figures: dict = {"machine": info, "seconds": args.seconds, "workers": args.workers}
    figures["processes"] = args.processes or "default"
    figures["batch_wait_ms"] = args.batch_wait_ms
    figures["chunk_ms"] = args.chunk_ms
    try:
        # warm-up: streams at full speed, so that every server process has served one
        asyncio.run(concurrent_streams(url, clip, WARM_UP_STREAMS, server.pid, float("inf")))
        idle = status(server.pid)
        figures["idle"] = idle
        rows = []
        for count in args.streams:
            tick, cpu = time.perf_counter(), cpu_seconds(server.pid)
            row = asyncio.run(
                concurrent_streams(url, clip, count, server.pid, args.speed, args.chunk_ms / 1000)
            )
            # server CPU per second of speech per stream: the load-independent capacity figure
            row["cpu_per_speech_s"] = (cpu_seconds(server.pid) - cpu) / (count * clip.seconds)
            row["per_connection_mb"] = (row["peak_rss_mb"] - idle["rss_mb"]) / count
            row["within_bound"] = row["p95_s"] <= BOUND_S
            row["wall_s"] = time.perf_counter() - tick
            rows.append(row)
            print(
                f"{count} streams: beyond lookahead p50 {row['p50_s'] * 1000:.0f} ms, "
                f"p95 {row['p95_s'] * 1000:.0f} ms, max {row['max_s'] * 1000:.0f} ms; "
                f"{row['per_connection_mb']:.1f} MB per connection; server CPU "
                f"{row['cpu_per_speech_s']:.3f} s per speech second per stream",
                flush=True,
            )
        figures["streams"] = rows
        held = [r["streams"] for r in rows if r["within_bound"]]
        figures["largest_within_bound"] = max(held) if held else 0
        if args.cycles:
            short = clip.audio[: int(args.cycle_seconds * 16000)]
            tick = time.perf_counter()
            figures["cycles"] = asyncio.run(
                cycles(url, short, args.cycles, args.parallel, server.pid)
            )
            figures["cycles"]["wall_s"] = time.perf_counter() - tick
    finally:
        server.terminate()
        server.wait(30)
    print()
    common.print_table(
        [
            [
                r["streams"],
                r["p50_s"] * 1000,
                r["p95_s"] * 1000,
                r["max_s"] * 1000,
                r["worst_stream_p95_s"] * 1000,
                r["first_frame_s"] * 1000,
                r["per_connection_mb"],
                r["cpu_per_speech_s"],
                "yes" if r["within_bound"] else "no",
            ]
            for r in figures["streams"]
        ],
        [
            "streams",
            "p50 ms",
            "p95 ms",
            "max ms",
            "worst p95 ms",
            "first frame ms",
            "MB/conn",
            "CPU/s",
            "<=100 ms",
        ],
    )
    print(f"largest N within {BOUND_S * 1000:.0f} ms at p95: {figures['largest_within_bound']}")
    if "cycles" in figures:
        early, end = figures["cycles"]["early"], figures["cycles"]["end"]
        print(
            f"cycles: after {early['cycles']}: {early['rss_mb']:.1f} MB, "
            f"{early['threads']:.0f} threads; after {end['cycles']}: {end['rss_mb']:.1f} MB, "
            f"{end['threads']:.0f} threads ({figures['cycles']['wall_s']:.0f} s)"
        )
    common.save_json(figures, args.json)
    return figures


if __name__ == "__main__":
    main()
