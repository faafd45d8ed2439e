"""Time and peak memory of the speech front-end without a transcript on long recordings.

Issue 14 (item 2): time and memory per minute must be flat in the length of the recording. The
speech is the AvatarOS sample (118 s, real English) tiled to each ``--minutes`` length and written
once to /tmp. Each length runs in a fresh process (peaks do not mix) that loads Whisper and
pocketsphinx, reads the file with ``load_audio`` and calls ``words_for_audio(audio, None)``;
it prints the RSS after loading the models and the audio, the peak RSS (VmHWM), wall and CPU
seconds per second of audio, and the peak RSS seen in each stage (from the progress callback).

    .venv/bin/python benchmarks/frontend_long.py --minutes 5 10 30 [--batch 4] [--block 60]
        [--whisper-threads 2] [--json F]

Wall time depends on what else runs on the machine: the load average is printed; CPU seconds
are less affected by sharing.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import common

SAMPLE = common.ROOT.parent / "shared/data/avataros-sample/001_Neutral_0_mirror_x_1_0.wav"
MARK = "FRONTEND-RESULT "


def tiled_sample(minutes: float) -> Path:
    """The sample repeated to ``minutes``, as 16-bit PCM under the scratch folder (made once)."""
    import numpy as np
    import soundfile

    from llavataros.speech.audio import load_audio

    path = common.SCRATCH / f"sample-tiled-{minutes:g}min.wav"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        audio = load_audio(SAMPLE)
        count = int(minutes * 60 * 16000)
        tiled = np.tile(audio, count // len(audio) + 1)[:count]
        soundfile.write(path, tiled, 16000, subtype="PCM_16")
    return path


def worker(path: Path, batch: int, block: float, threads: int) -> dict:
    from llavataros.speech.align import Aligner
    from llavataros.speech.audio import load_audio
    from llavataros.speech.frontend import words_for_audio
    from llavataros.speech.transcribe import Transcriber, TranscriberConfig

    config = TranscriberConfig(cpu_threads=threads, batch_size=batch, block_seconds=block)
    transcriber, aligner = Transcriber(config), Aligner()
    after_models = common.current_rss_mb()
    audio = load_audio(path)
    after_audio = common.current_rss_mb()
    stage_peaks: dict[str, float] = {}

    def progress(stage: str, done: float, total: float) -> None:
        stage_peaks[stage] = max(stage_peaks.get(stage, 0.0), common.current_rss_mb())

    wall, cpu = time.perf_counter(), common.cpu_seconds()
    words = words_for_audio(audio, None, transcriber, aligner, progress=progress)
    wall, cpu = time.perf_counter() - wall, common.cpu_seconds() - cpu
    seconds = len(audio) / 16000
    return {
        "seconds": seconds,
        "words": len(words.words),
        "warnings": list(words.warnings),
        "rss_after_models_mb": after_models,
        "rss_after_audio_mb": after_audio,
        "peak_rss_mb": common.peak_rss_mb(),
        "stage_rss_mb": stage_peaks,
        "wall_seconds": wall,
        "cpu_seconds": cpu,
        "wall_x_real_time": wall / seconds,
        "cpu_x_real_time": cpu / seconds,
        "load_average_1": os.getloadavg()[0],
    }


def main(argv: list[str] | None = None) -> dict | None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, nargs="+", default=[5.0, 10.0])
    parser.add_argument("--batch", type=int, default=None, help="Whisper batch size (0: none)")
    parser.add_argument("--block", type=float, default=None, help="Whisper block seconds")
    parser.add_argument("--whisper-threads", type=int, default=None, help="CTranslate2 threads")
    parser.add_argument("--json", type=Path, help="also save the figures as JSON here")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    from llavataros.speech.transcribe import TranscriberConfig

    default = TranscriberConfig()
    batch = default.batch_size if args.batch is None else args.batch
    block = default.block_seconds if args.block is None else args.block
    threads = args.whisper_threads or default.cpu_threads
    if args.worker:
        print(MARK + json.dumps(worker(args.worker, batch, block, threads)), flush=True)
        return None
    if not SAMPLE.exists():
        sys.exit(f"{SAMPLE}: the AvatarOS sample is needed")
    info = common.machine()
    common.print_machine(info)
    print(f"Whisper: batch {batch}, blocks of {block:g} s, {threads} threads")
    results = {}
    for minutes in args.minutes:
        path = tiled_sample(minutes)
        command = [sys.executable, __file__, "--worker", str(path), "--batch", str(batch)]
        command += ["--block", str(block), "--whisper-threads", str(threads)]
        done = subprocess.run(command, capture_output=True, text=True)
        lines = [x for x in done.stdout.splitlines() if x.startswith(MARK)]
        if not lines:
            raise RuntimeError(f"{minutes} min failed:\n{done.stderr[-3000:]}")
        results[minutes] = json.loads(lines[0][len(MARK) :])
        print(f"{minutes:g} min done", flush=True)
    common.print_table(
        [
            (
                f"{m:g} min",
                r["words"],
                r["rss_after_audio_mb"],
                r["peak_rss_mb"],
                r["wall_x_real_time"],
                r["cpu_x_real_time"],
                r["load_average_1"],
            )
            for m, r in results.items()
        ],
        ["length", "words", "RSS loaded MB", "peak MB", "wall x RT", "cpu x RT", "load"],
    )
    figures = {"machine": info, "batch": batch, "block": block, "threads": threads}
    figures["results"] = {str(m): r for m, r in results.items()}
    common.save_json(figures, args.json)
    return figures


if __name__ == "__main__":
    main()
