"""Train the face model (family ``face``) on real FACEGOOD clips and/or synthetic English
takes, and compare it with the baselines on held-out data (issue 12 targets).

Data (``--sources``):

- ``real``: the four FACEGOOD clips other than ``1114_2_05`` (Mandarin; jaw and mouth
  valid; no phonemes), speaker 0;
- ``synthetic``: the takes of a synthetic corpus (``--synthetic DIR``, made by
  ``synth-corpus``; ``NAME.face.npy`` at 60 fps is taken every other frame, at 30 fps),
  except the last ``--holdout`` takes; speaker 1. The model's viseme input comes from the
  words as ``animate`` gets them (dictionary phonemes spread over each word,
  :func:`llavataros.pipeline.face.word_phonemes`), dropped half of the time so it also works
  from audio alone; the closure loss uses Piper's own phoneme times (the TextGrid).
- ``both``: the two mixed so that the real clips give ``--real-share`` of the training windows
  (default half).

Held out and printed: the real clip ``1114_2_05`` (loudness baseline with default and fitted
settings, the causal rule face of ``animate``, the model from audio alone: mouth MAE,
jawOpen correlation and lag) and the held-out synthetic takes (viseme baseline from word
times, the rule face of ``animate``, the model with and without visemes: mouth MAE, closure
on bilabials). Saves the model (``model.safetensors``, ``model.json``) and ``results.json``
to ``--out``.

Usage: ``OMP_NUM_THREADS=1 .venv/bin/python benchmarks/train_face.py --sources both
--synthetic /work/corpora/face20 --steps 3000 --out /tmp/face``
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import torch

from llavataros.corpus.face_truth import load_phonemes
from llavataros.eval.face_metrics import face_metrics
from llavataros.face.baselines import loudness_jaw, viseme_face
from llavataros.face.facegood import CLIPS, FPS, HELD_OUT_CLIP, load_facegood_clip
from llavataros.face.rules import rule_face
from llavataros.face.take import load_face
from llavataros.face.visemes import bilabial_intervals, viseme_ids, with_rests
from llavataros.features.audio_encoders import ProsodyFeatures
from llavataros.models.checkpoint import load_checkpoint, save_checkpoint
from llavataros.models.face.config import FaceModelConfig
from llavataros.models.face.losses import FaceLossWeights
from llavataros.models.face.model import FaceSpeechModel
from llavataros.models.face.stream import generate_face
from llavataros.models.face.train import FaceTake, FaceTrainConfig, train_face
from llavataros.pipeline.face import speech_face, word_phonemes
from llavataros.speech.audio import load_audio
from llavataros.speech.words import load_words_json

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "facegood"
SHOWN = ("mae_lower_face", "jaw_correlation", "jaw_lag_frames", "bilabial_closure")
REAL_SPEAKER, SYNTHETIC_SPEAKER = 0, 1


@dataclasses.dataclass
class Clip:
    name: str
    audio: np.ndarray
    features: np.ndarray  # (T, 44) at 30 fps
    weights: np.ndarray  # (T, 52)
    valid: np.ndarray  # (52,)
    words: list | None = None
    phonemes: list | None = None  # Piper's (synthetic only)

    def bilabial_frames(self) -> np.ndarray:
        times = np.arange(len(self.weights)) / FPS
        frames = np.zeros(len(self.weights), dtype=bool)
        for start, end in bilabial_intervals(self.phonemes or []):
            frames |= (times >= start) & (times <= end)
        return frames

    def word_visemes(self) -> np.ndarray:
        phonemes = [p for word in self.words for p in word_phonemes(word)]
        return viseme_ids(phonemes, len(self.weights), FPS)


def features_of(audio: np.ndarray, frames: int) -> np.ndarray:
    return ProsodyFeatures(fps=FPS).extract(audio, frames)


def real_clip(clip: str) -> Clip:
    data = load_facegood_clip(DATA, clip)
    audio = load_audio(data.audio_path)
    features = features_of(audio, len(data.weights))
    return Clip(clip, audio, features, data.weights, data.valid)


def synthetic_clip(stem: Path) -> Clip:
    audio = load_audio(stem.with_suffix(".wav"))
    weights = load_face(f"{stem}.face.npy")[::2]  # 60 -> 30 fps (frame k at k / 30 s)
    features = features_of(audio, len(weights))
    words = list(load_words_json(f"{stem}.words.json").words)
    phonemes = load_phonemes(stem.with_suffix(".TextGrid"))
    return Clip(stem.name, audio, features, weights, np.ones(52, bool), words, phonemes)


def synthetic_clips(folder: Path) -> list[Clip]:
    names = [take["name"] for take in json.loads((folder / "corpus.json").read_text())["takes"]]
    return [synthetic_clip(folder / name) for name in names]


def fit_loudness(clips: list[Clip]) -> dict[str, float]:
    """``max_open`` and ``range_db`` minimising jawOpen MAE over the training clips."""
    best = None
    for max_open in np.arange(0.1, 0.71, 0.05):
        for range_db in (15.0, 20.0, 25.0, 30.0, 40.0, 50.0):
            errors = [
                np.abs(
                    loudness_jaw(c.audio, 16000, len(c.weights), FPS, max_open, range_db)[:, 17]
                    - c.weights[:, 17]
                ).mean()
                for c in clips
            ]
            if best is None or np.mean(errors) < best[0]:
                best = (float(np.mean(errors)), float(max_open), range_db)
    return {"max_open": round(best[1], 2), "range_db": best[2]}


def predict(model, clip: Clip, speaker: int, visemes: bool) -> np.ndarray:
    ids = torch.tensor(clip.word_visemes())[None] if visemes else None
    features = torch.tensor(clip.features)[None]
    return generate_face(model, features, torch.tensor([speaker]), ids)[0].numpy()


def report(title: str, rows: dict[str, list[dict]]) -> dict[str, dict[str, float]]:
    """Mean of each metric over clips, printed as a table."""
    print(f"\n{title}")
    table = {}
    for name, metrics in rows.items():
        mean = {k: float(np.nanmean([m.get(k, np.nan) for m in metrics])) for k in SHOWN}
        table[name] = mean
        print(f"  {name:44s} " + "  ".join(f"{k} {v:.4f}" for k, v in mean.items()))
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", choices=("real", "synthetic", "both"), default="real")
    parser.add_argument("--synthetic", type=Path, help="synthetic corpus folder")
    parser.add_argument("--holdout", type=int, default=3, help="last synthetic takes held out")
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--layers", default="mamba,attention,mamba")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lookahead", type=int, default=3, help="frames")
    parser.add_argument("--dropout", type=float, default=0.1)
    parser.add_argument("--window", type=int, default=90, help="training window, frames")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--squared", type=float, default=1.0, help="weight of the MSE term")
    parser.add_argument("--absolute", type=float, default=0.0, help="weight of the MAE term")
    parser.add_argument("--velocity", type=float, default=0.5, help="weight of the velocity term")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--real-share", type=float, default=0.5, help="share of windows from real clips (both)"
    )
    parser.add_argument("--stretch", type=float, default=0.0, help="speaking-rate augmentation")
    parser.add_argument("--mel-shift", type=int, default=0, help="mel-band shift augmentation")
    parser.add_argument("--out", type=Path, default=Path("/tmp/llavataros-face"))
    parser.add_argument("--evaluate", type=Path, help="a saved face model: measure it, no training")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    real = {clip: real_clip(clip) for clip in CLIPS}
    real_train = [real[c] for c in CLIPS if c != HELD_OUT_CLIP]
    synthetic = synthetic_clips(args.synthetic) if args.synthetic else []
    synthetic_train = synthetic[: len(synthetic) - args.holdout]
    synthetic_test = synthetic[len(synthetic) - args.holdout :]
    print(f"features of {len(real) + len(synthetic)} clips: {time.perf_counter() - started:.0f} s")

    takes = []
    real_share = args.real_share if args.sources == "both" else 0.5
    if args.sources in ("real", "both"):
        total = sum(len(c.weights) for c in real_train)
        takes += [
            FaceTake(c.features, c.weights, c.valid, REAL_SPEAKER, weight=real_share / total)
            for c in real_train
        ]
    if args.sources in ("synthetic", "both"):
        total = sum(len(c.weights) for c in synthetic_train)
        takes += [
            FaceTake(
                c.features,
                c.weights,
                c.valid,
                SYNTHETIC_SPEAKER,
                c.word_visemes(),
                c.bilabial_frames(),
                weight=(1.0 - real_share) / total,
            )
            for c in synthetic_train
        ]
    model_config = FaceModelConfig(
        width=args.width,
        lookahead=args.lookahead,
        dropout=args.dropout,
        layers=tuple(args.layers.split(",")),
    )
    train_config = FaceTrainConfig(
        steps=args.steps,
        seed=args.seed,
        window=args.window,
        batch=args.batch,
        stretch=args.stretch,
        mel_shift=args.mel_shift,
        loss=FaceLossWeights(position=args.squared, absolute=args.absolute, velocity=args.velocity),
    )
    started = time.perf_counter()
    if args.evaluate:
        model = load_checkpoint(args.evaluate)[0]
    else:
        model = train_face(takes, model_config, train_config)
    train_seconds = time.perf_counter() - started

    results: dict[str, dict] = {}
    held = real[HELD_OUT_CLIP]
    frames = len(held.weights)
    fitted = fit_loudness(real_train)
    started, cpu_started = time.perf_counter(), time.process_time()
    predicted = predict(model, held, REAL_SPEAKER, visemes=False)
    model_seconds = time.perf_counter() - started
    model_cpu_seconds = time.process_time() - cpu_started  # the same on a busy machine
    rows = {
        "loudness jaw (default)": loudness_jaw(held.audio, 16000, frames, FPS),
        f"loudness jaw (fitted {fitted})": loudness_jaw(
            held.audio, 16000, frames, FPS, fitted["max_open"], fitted["range_db"]
        ),
        "rule face of animate (causal loudness)": rule_face(held.audio, frames, FPS),
        "face model (audio only)": predicted,
    }
    real_rows = {k: [face_metrics(v, held.weights, FPS, held.valid)] for k, v in rows.items()}
    results["real_held_out"] = report(f"held-out real clip {HELD_OUT_CLIP}", real_rows)
    base = results["real_held_out"][list(rows)[1]]["mae_lower_face"]
    ours = results["real_held_out"]["face model (audio only)"]
    print(f"  mouth MAE ratio, model / fitted loudness: {ours['mae_lower_face'] / base:.3f}")

    if synthetic_test:
        synthetic_rows: dict[str, list[dict]] = {}
        for clip in synthetic_test:
            truth, count = clip.weights, len(clip.weights)
            spoken = [p for word in clip.words for p in word_phonemes(word)]
            faces = {
                "viseme baseline (word-timed phonemes)": viseme_face(
                    with_rests(spoken), count, FPS
                ),
                "rule face of animate": speech_face(clip.audio, clip.words, count, FPS)[0],
                "face model (audio + word visemes)": predict(
                    model, clip, SYNTHETIC_SPEAKER, visemes=True
                ),
                "face model (audio only)": predict(model, clip, SYNTHETIC_SPEAKER, False),
                "oracle: visemes of Piper's phonemes": viseme_face(
                    with_rests(clip.phonemes), count, FPS
                ),
            }
            intervals = bilabial_intervals(clip.phonemes)
            for name, face in faces.items():
                metrics = face_metrics(face, truth, FPS, None, intervals)
                synthetic_rows.setdefault(name, []).append(metrics)
        results["synthetic_held_out"] = report(
            f"held-out synthetic takes ({len(synthetic_test)})", synthetic_rows
        )
    duration = frames / FPS
    print(
        (
            "\n"
            if args.evaluate
            else f"\ntraining {train_seconds:.0f} s for {args.steps} steps on {args.sources}; "
        )
        + f"generation "
        f"{model_seconds:.2f} s for {duration:.0f} s of speech "
        f"({model_seconds / duration:.4f} x real time, one thread; CPU time "
        f"{model_cpu_seconds / duration:.4f} x real time), "
        f"{sum(p.numel() for p in model.parameters())} parameters"
    )
    results["speed"] = {
        "train_seconds": train_seconds,
        "real_time_factor": model_seconds / duration,
        "cpu_time_factor": model_cpu_seconds / duration,
    }
    if args.evaluate:
        print(json.dumps(results["speed"]))
        return
    args.out.mkdir(parents=True, exist_ok=True)
    family_model = FaceSpeechModel(model.config)
    family_model.load_state_dict(model.state_dict())
    save_checkpoint(
        args.out,
        family_model,
        model.config,
        {
            "features": {"settings": ProsodyFeatures(fps=FPS).settings()},
            "speakers": {"names": ["facegood", "synthetic"]},
            "train_config": {
                "sources": args.sources,
                "real_clips": [c.name for c in real_train] if args.sources != "synthetic" else [],
                "synthetic_takes": len(synthetic_train) if args.sources != "real" else 0,
                **dataclasses.asdict(train_config),
            },
        },
    )
    (args.out / "results.json").write_text(json.dumps(results, indent=1))
    print(f"saved to {args.out}")


if __name__ == "__main__":
    main()
