"""Training of the face model on face takes (a pure function over arrays; no file I/O).

Each take is audio features ``(T, audio_dim)``, target weights ``(T, 52)``, a validity mask
``(52,)`` (FACEGOOD: jaw and mouth only), a speaker id and optionally viseme ids ``(T,)`` and
bilabial frames ``(T,)``; windows are drawn in proportion to a take's frames times its
``weight``. Training draws random windows of ``window`` frames (each starting
the model from its initial state, as the stream does at a sequence start, plus ``lookahead``
real frames after it), replaces the visemes by "unknown" with probability
``phoneme_dropout`` so the model also works from audio alone, and shifts the log-mel and
log-energy columns by a random gain (``gain_jitter`` natural-log units) so it does not learn
the recording level. Two more augmentations stand in for the speakers and speaking rates a
few minutes of capture do not have: ``stretch`` resamples a window (features and targets
together) to a speaking rate up to that fraction faster or slower, and ``mel_shift`` moves the
log-mel bands up or down by up to that many bands (a crude vocal-tract-length change).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from llavataros.face.arkit import channel_weights
from llavataros.models.face.config import FaceModelConfig
from llavataros.models.face.losses import FaceLossWeights, face_loss
from llavataros.models.face.network import FaceModel


@dataclass(frozen=True)
class FaceTake:
    features: np.ndarray  # (T, audio_dim) float32
    weights: np.ndarray  # (T, 52) float32
    valid: np.ndarray  # (52,) bool
    speaker: int = 0
    visemes: np.ndarray | None = None  # (T,) int64
    bilabial: np.ndarray | None = None  # (T,) bool
    weight: float = 1.0  # sampling weight per frame (to balance data sources)


@dataclass(frozen=True)
class FaceTrainConfig:
    steps: int = 1500
    batch: int = 16
    window: int = 90
    learning_rate: float = 2e-3
    weight_decay: float = 0.01
    phoneme_dropout: float = 0.5
    gain_jitter: float = 0.7
    gain_columns: int = 41  # log-mel (40) + log energy of ProsodyFeatures
    mel_columns: int = 40
    stretch: float = 0.0  # speaking-rate change, e.g. 0.15: 0.85x .. 1.15x
    mel_shift: int = 0  # bands
    seed: int = 0
    loss: FaceLossWeights = FaceLossWeights()


def stretched_window(take: FaceTake, start: int, source: int, span: int) -> dict[str, np.ndarray]:
    """Frames ``start .. start + source`` of a take stretched to ``span`` frames (linear for
    features and weights, nearest for visemes and bilabial flags), padded at the end by
    repeating the last frame if the take is shorter."""
    positions = start + np.arange(span) * (source / span)
    positions = np.minimum(positions, len(take.weights) - 1)
    low = np.floor(positions).astype(np.int64)
    high = np.minimum(low + 1, len(take.weights) - 1)
    mix = (positions - low)[:, None].astype(np.float32)
    nearest = np.minimum(np.round(positions).astype(np.int64), len(take.weights) - 1)
    return {
        "features": (take.features[low] * (1 - mix) + take.features[high] * mix).astype(np.float32),
        "weights": (take.weights[low] * (1 - mix) + take.weights[high] * mix).astype(np.float32),
        "visemes": take.visemes[nearest] if take.visemes is not None else np.zeros(span, np.int64),
        "bilabial": take.bilabial[nearest] if take.bilabial is not None else np.zeros(span, bool),
    }


def shift_bands(features: np.ndarray, bands: int, shift: int) -> None:
    """Move the first ``bands`` columns by ``shift`` bands in place (edge bands repeated)."""
    if shift == 0:
        return
    mels = features[:, :bands]
    index = np.clip(np.arange(bands) - shift, 0, bands - 1)
    features[:, :bands] = mels[:, index]


def feature_statistics(takes: list[FaceTake]) -> tuple[np.ndarray, np.ndarray]:
    stacked = np.concatenate([take.features for take in takes])
    return stacked.mean(axis=0), stacked.std(axis=0)


def train_face(
    takes: list[FaceTake],
    model_config: FaceModelConfig,
    config: FaceTrainConfig = FaceTrainConfig(),
    log=print,
) -> FaceModel:
    """A trained :class:`FaceModel` (in eval mode)."""
    rng = np.random.default_rng(config.seed)
    torch.manual_seed(config.seed)
    model = FaceModel(model_config)
    mean, std = feature_statistics(takes)
    model.set_feature_statistics(torch.tensor(mean), torch.tensor(std))
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, config.learning_rate, total_steps=config.steps, pct_start=0.1
    )
    scale = torch.tensor(channel_weights())
    lengths = np.array([len(take.weights) * take.weight for take in takes], dtype=np.float64)
    span = config.window + model_config.lookahead
    started = time.perf_counter()
    model.train()
    for step in range(config.steps):
        picks = rng.choice(len(takes), size=config.batch, p=lengths / lengths.sum())
        audio, target, valid, speaker, visemes, bilabial = [], [], [], [], [], []
        for pick in picks:
            take = takes[pick]
            rate = 1.0 + rng.uniform(-1, 1) * config.stretch
            source = min(len(take.weights), max(2, int(round(span * rate))))
            start = int(rng.integers(0, max(1, len(take.weights) - source + 1)))
            picked = stretched_window(take, start, source, span)
            features = picked["features"]
            features[:, : config.gain_columns] += rng.uniform(-1, 1) * config.gain_jitter
            if config.mel_shift:
                shift_bands(
                    features,
                    config.mel_columns,
                    rng.integers(-config.mel_shift, config.mel_shift + 1),
                )
            audio.append(features)
            target.append(picked["weights"][: config.window])
            valid.append(take.valid)
            speaker.append(take.speaker)
            known = take.visemes is not None and rng.random() >= config.phoneme_dropout
            visemes.append(picked["visemes"] if known else np.zeros(span, dtype=np.int64))
            bilabial.append(picked["bilabial"][: config.window])
        prediction, _ = model(
            torch.tensor(np.stack(audio)),
            torch.tensor(speaker),
            torch.tensor(np.stack(visemes)),
            context_after=model_config.lookahead,
        )
        loss, parts = face_loss(
            prediction,
            torch.tensor(np.stack(target)),
            scale,
            torch.tensor(np.stack(valid)),
            torch.tensor(np.stack(bilabial)),
            config.loss,
        )
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        if step % 100 == 0 or step == config.steps - 1:
            elapsed = time.perf_counter() - started
            log(
                f"step {step:5d}  loss {loss.item():.5f}  position {parts['position']:.5f}  "
                f"velocity {parts['velocity']:.5f}  {elapsed:.0f} s"
            )
    return model.eval()
