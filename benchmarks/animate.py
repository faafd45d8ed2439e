"""Real-time factor of ``Animator.animate`` without video, per stage, and the renderer's speed.

Issue 3 (DoD) and SPEC section 5 ("Speed"): real-time factor = processing seconds per second of
audio. Targets on 2 CPU cores: end to end <= 0.10, the model alone <= 0.01.

Measured on ``--seconds`` (60) of speech (varied sentences spoken by the Piper voice, see
``common.speech_clip``),
models loaded once (load times printed apart):

- ``animate`` with the transcript as text: the ``words`` stage is the pocketsphinx alignment;
- ``animate`` with no transcript: ``words`` is Whisper tiny.en + re-alignment, split into its two
  parts by timing them alone;
- ``animate`` with timed words (a words.json): no speech front-end at all;
- the model alone (the family's ``generate``: the Transformer-XL segment by segment, the
  diffusion model window by window) and the forward kinematics
  that turns its output into a Motion;
- ``render_video`` of the 60 fps result with the audio: frames per second, with drawing alone
  (``render_frames``) apart from drawing + H.264 encoding + muxing.

    .venv/bin/python benchmarks/animate.py [--model RUN] [--seconds 60] [--repeats 3] [--json F]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch

import common


def time_animate(animator, clip, transcript, repeats: int) -> dict:
    """Per-stage seconds (median over repeats, after one warm-up), end-to-end wall and CPU."""
    runs = []
    for index in range(repeats + 1):
        cpu, start = common.cpu_seconds(), time.perf_counter()
        result = animator.animate(clip.audio, transcript)
        wall, cpu = time.perf_counter() - start, common.cpu_seconds() - cpu
        if index:  # the first run warms up
            runs.append((result.timings, wall, cpu))
    stages = {name: statistics.median(run[0][name] for run in runs) for name in runs[0][0]}
    return {
        "stages": stages,
        "total": statistics.median(run[1] for run in runs),
        "total_cpu": statistics.median(run[2] for run in runs),
        "total_best": min(run[1] for run in runs),
        "words": len(result.transcript.words),
        "frames": result.motion.num_frames,
        "fps": result.motion.fps,
        "motion": result.motion,
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    common.add_common_arguments(parser)
    parser.add_argument("--seconds", type=float, default=60.0, help="speech length")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs (after a warm-up)")
    parser.add_argument(
        "--speech", choices=["piper", "repeat"], default="piper", help="see common.speech_clip"
    )
    parser.add_argument("--no-whisper", action="store_true", help="skip the no-transcript run")
    parser.add_argument("--no-render", action="store_true", help="skip the renderer")
    args = parser.parse_args(argv)
    common.set_threads(args.threads)

    from llavataros.models.geometry import output_to_motion
    from llavataros.pipeline.animate import Animator

    path = common.model_path(args.model)
    clip = common.speech_clip(args.seconds, args.speech)
    seconds = clip.seconds
    info = common.machine()
    common.print_machine(info)

    load = {}
    start = time.perf_counter()
    animator = Animator.load(path, threads=torch.get_num_threads())  # keep --threads
    load["model + text encoder (Animator.load)"] = time.perf_counter() - start
    start = time.perf_counter()
    from llavataros.speech.align import Aligner

    animator.aligner = Aligner()
    load["pocketsphinx aligner"] = time.perf_counter() - start
    config = animator.model.config
    print(
        f"model: {path} ({getattr(config, 'fusion', animator.model.family)}, width "
        f"{config.width}, depth {config.depth}, "
        f"{animator.model.num_parameters():,} parameters, {config.fps:g} fps)"
    )
    print(f"speech: {seconds:g} s, {len(clip.transcript.words)} words; {args.repeats} repeats")

    # Whisper is loaded last, as a CLI run with --transcript never loads it: CTranslate2 brings
    # its own OpenMP runtime, which resets torch's thread count and changes how torch's
    # threads behave on a shared machine (measured), so it must not colour the other figures.
    runs = {"transcript text (aligned)": time_animate(animator, clip, clip.text, args.repeats)}
    runs["timed words (words.json)"] = time_animate(animator, clip, clip.transcript, args.repeats)
    front = {}
    timing, _ = common.measure(
        lambda: animator.aligner.align(clip.audio, clip.text), args.repeats, 0
    )
    front["alignment of given text"] = timing

    features = animator.features(clip.audio, clip.transcript)
    speaker = animator.speaker_id(None)
    model_timing, output = common.measure(
        lambda: animator.model_output(features, speaker), args.repeats, 1
    )
    stats = animator.metadata.root_statistics
    fk_timing, _ = common.measure(
        lambda: output_to_motion(output, stats, animator.skeleton, config.fps),
        args.repeats,
        1,
    )

    if not args.no_whisper:
        from llavataros.speech.transcribe import Transcriber

        start = time.perf_counter()
        animator.transcriber = Transcriber()
        load["whisper tiny.en"] = time.perf_counter() - start
        common.set_threads(args.threads)  # loading CTranslate2 resets torch's thread count
        runs["no transcript (whisper)"] = time_animate(animator, clip, None, args.repeats)
        timing, heard = common.measure(
            lambda: animator.transcriber.transcribe(clip.audio), args.repeats, 0
        )
        front["whisper transcription"] = timing
        timing, _ = common.measure(
            lambda: animator.aligner.align(clip.audio, heard.text, anchors=heard),
            args.repeats,
            0,
        )
        front["re-alignment of whisper text"] = timing
    print("\nmodel loading (once per process)")
    common.print_table([(name, value) for name, value in load.items()], ["loaded", "seconds"])

    print("\nanimate() per stage: median seconds and x real time (target: total <= 0.10)")
    names = list(next(iter(runs.values()))["stages"])
    rows = []
    for name in names:
        row = [name]
        for run in runs.values():
            row += [run["stages"][name], run["stages"][name] / seconds]
        rows.append(row)
    total_row, cpu_row = ["total (wall)"], ["total (process CPU s)"]
    for run in runs.values():
        total_row += [run["total"], run["total"] / seconds]
        cpu_row += [run["total_cpu"], run["total_cpu"] / seconds]
    rows += [total_row, cpu_row]
    header = ["stage"]
    for label in runs:
        header += [f"{label} s", "x RT"]
    common.print_table(rows, header)

    print("\nparts timed alone (median seconds; CPU is process CPU over all threads)")
    parts = dict(front)
    parts["model alone: generate (target <= 0.01 x RT)"] = model_timing
    parts["forward kinematics (output_to_motion)"] = fk_timing
    common.print_table(
        [(n, t.median, t.median / seconds, t.cpu_median) for n, t in parts.items()],
        ["part", "seconds", "x RT", "CPU s"],
    )
    frames = len(features.audio)
    print(
        f"model alone: {frames} frames at {config.fps:g} fps in {model_timing.median:.3f} s = "
        f"{frames / model_timing.median:,.0f} frames/s, {model_timing.median / seconds:.4f} x RT"
    )

    render = {}
    if not args.no_render:
        render = time_render(runs["timed words (words.json)"]["motion"], clip, seconds)

    figures = {
        "machine": info,
        "model": str(path),
        "parameters": animator.model.num_parameters(),
        "model_config": config.to_dict(),
        "seconds": seconds,
        "load_seconds": load,
        "animate": {
            label: {k: v for k, v in run.items() if k != "motion"}
            | {"real_time_factor": run["total"] / seconds}
            for label, run in runs.items()
        },
        "parts": {name: timing.to_dict() for name, timing in parts.items()},
        "model_real_time_factor": model_timing.median / seconds,
        "model_frames_per_second": frames / model_timing.median,
        "render": render,
    }
    common.save_json(figures, args.json)
    return figures


def time_render(motion, clip, seconds: float) -> dict:
    """Drawing alone and the whole ``render_video`` (draw + encode + mux) of ``motion``."""
    from llavataros.render.video import render_frames, render_video

    with tempfile.TemporaryDirectory(prefix="bench-render-") as folder:
        wav = common.write_wav(clip.audio, Path(folder) / "speech.wav")
        cpu, start = common.cpu_seconds(), time.perf_counter()
        drawn = sum(1 for _ in render_frames(motion))
        draw = time.perf_counter() - start
        draw_cpu = common.cpu_seconds() - cpu
        start = time.perf_counter()
        video = render_video(motion, Path(folder) / "speech.mp4", wav)
        whole = time.perf_counter() - start
        size = video.stat().st_size
    print(f"\nrender_video of {drawn} frames at {motion.fps:g} fps ({seconds:g} s), 480x480 px")
    common.print_table(
        [
            ("drawing only (render_frames)", draw, drawn / draw, draw / seconds),
            ("render_video (draw + x264 + audio)", whole, drawn / whole, whole / seconds),
        ],
        ["render", "seconds", "frames/s", "x RT"],
    )
    return {
        "frames": drawn,
        "fps": motion.fps,
        "draw_seconds": draw,
        "draw_cpu_seconds": draw_cpu,
        "draw_frames_per_second": drawn / draw,
        "video_seconds": whole,
        "video_frames_per_second": drawn / whole,
        "video_bytes": size,
    }


if __name__ == "__main__":
    main()
