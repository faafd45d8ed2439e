"""What the diffusion model's speed limit (``motion.smoothing.SpeedLimit``) does (issue 15: peak
wrist speed <= 2.5 m/s on real speech; held-out semantic recall and precision must stay).

The model output of each take is computed once and post-processed twice, with the model's
ordinary smoothing alone and with the speed limit (the pipeline's own ``assemble_motion``):

- real speech (the AvatarOS sample's own speech with its transcript, ``--seeds`` seeds, 30 fps
  as the realism figures): peak wrist speed, power above 3 Hz, wrist-height and wrist-speed
  Hellinger against the real take (``eval.realism``);
- the held-out synthetic takes of ``--data`` (test split, each with its speaker, 60 fps):
  ``evaluate --motions`` summaries (FGD, BA, semantic recall / precision, jerk, speed
  Hellinger) and the largest wrist speed.

    .venv/bin/python benchmarks/speed_limit.py --data CORPUS [--model diffusion] [--seeds 5]
        [--out /tmp/speed-limit] [--json F]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

import common

REAL = common.ROOT.parent / "shared" / "data" / "avataros-sample"
KEYS = ("fgd", "beat_alignment", "semantic_recall", "semantic_precision", "mean_jerk")


def assembled(animator, audio, transcript, speaker, fps: float, limit: bool):
    """``animator.animate``'s motion without and with the model's speed limit (``limit``), from
    one model output."""
    from llavataros.motion.timing import frame_count
    from llavataros.pipeline.animate import silence_frames
    from llavataros.pipeline.postprocess import assemble_motion
    from llavataros.speech.audio import SAMPLE_RATE

    words = animator.words(audio, transcript)
    features = animator.features(audio, words, silence_frames(animator.model))
    output = animator.model_output(features, animator.speaker_id(speaker))
    total = frame_count(len(audio) / SAMPLE_RATE, fps)

    def motion(speed_limit):
        return assemble_motion(output, animator.skeleton, animator.metadata.root_statistics,
                               animator.model.config.fps, fps, total, True,
                               animator.smoothing_seconds, speed_limit)  # fmt: skip

    return motion(None), motion(animator.speed_limit if limit else None)


def real_speech(animator, seeds: int) -> dict:
    from llavataros.eval.realism import load_motions, score_realism
    from llavataros.speech.audio import load_audio

    reference = load_motions(REAL)
    wav = next(REAL.glob("*.wav"))
    audio = load_audio(wav)
    rows = {"plain": [], "limited": []}
    for seed in range(seeds):
        animator.set_sampling(seed=seed)
        plain, limited = assembled(animator, audio, wav.with_suffix(".TextGrid"), None, 30.0, True)
        for name, motion in (("plain", plain), ("limited", limited)):
            report = score_realism([motion], reference)
            rows[name].append({
                "seed": seed,
                "peak_wrist_speed": report.system.peak_wrist_speed,
                "power_above_3hz": report.system.power_above_3hz,
                "wrist_height_hellinger": report.distances["wrist_height"],
                "wrist_speed_hellinger": report.distances["wrist_speed"],
            })  # fmt: skip
    return rows


def held_out(animator, data: Path, out: Path) -> dict:
    from llavataros.eval.context import resolve_splits
    from llavataros.motion.kinematics import wrist_speed
    from llavataros.speech.audio import load_audio

    animator.set_sampling(seed=0)
    takes = resolve_splits(data)[0]["test"]
    results = {}
    folders = {name: out / name for name in ("plain", "limited")}
    peaks = {name: 0.0 for name in folders}
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    for take in takes:
        speaker = take.name.split("_")[1]
        pair = assembled(animator, load_audio(take.audio_path), take.words_path, speaker, 60.0,
                         True)  # fmt: skip
        for (name, folder), motion in zip(folders.items(), pair, strict=True):
            np.save(folder / f"{take.name}.npy", motion.to_array(np.float32))
            peaks[name] = max(peaks[name], float(wrist_speed(motion.positions, 60.0).max()))
    for name, folder in folders.items():
        report = folder.with_suffix(".json")
        command = [sys.executable, "-m", "llavataros.cli", "evaluate", "--data", str(data),
                   "--split", "test", "--motions", str(folder), "-o", str(report)]  # fmt: skip
        subprocess.run(command, check=True, capture_output=True)
        summary = json.loads(report.read_text())["summary"]
        results[name] = {**{k: summary[k] for k in (*KEYS, "speed_hellinger")},
                         "peak_wrist_speed": peaks[name]}  # fmt: skip
    return results


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="corpus folder (its test split is used)")
    parser.add_argument("--model", default="diffusion", help="a model with a speed limit")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path("/tmp/speed-limit"))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)

    from llavataros.pipeline.animate import Animator

    animator = Animator.load(args.model)
    if animator.speed_limit is None:
        raise SystemExit(f"{args.model}: this model has no speed limit")
    info = common.machine()
    common.print_machine(info)
    figures = {"machine": info, "limit": dataclasses.asdict(animator.speed_limit)}
    if REAL.is_dir():
        figures["real"] = real = real_speech(animator, args.seeds)
        print(f"real speech ({REAL.name}, {args.seeds} seeds, 30 fps)")
        common.print_table(
            [[name, *(f"{r['peak_wrist_speed']:.2f}" for r in rows),
              np.mean([r["power_above_3hz"] for r in rows]) * 100,
              np.mean([r["wrist_height_hellinger"] for r in rows]),
              np.mean([r["wrist_speed_hellinger"] for r in rows])]
             for name, rows in real.items()],
            ["", *(f"peak s{s}" for s in range(args.seeds)), "> 3 Hz %", "height H", "speed H"],
        )  # fmt: skip
    else:
        print(f"real speech skipped: {REAL} is absent")
    figures["held_out"] = held = held_out(animator, Path(args.data), args.out)
    print("held-out synthetic takes (test split, 60 fps)")
    columns = [*KEYS, "speed_hellinger", "peak_wrist_speed"]
    header = ["", "FGD", "BA", "recall", "precision", "jerk", "speed H", "peak"]
    common.print_table([[name, *(row[k] for k in columns)] for name, row in held.items()], header)
    common.save_json(figures, args.json)
    return figures


if __name__ == "__main__":
    main()
