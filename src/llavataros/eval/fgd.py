"""The FGD feature extractor: a 1D convolutional motion autoencoder (SPEC section 5, FGD).

Frechet Gesture Distance (Yoon et al. 2020, "Speech gesture generation from the trimodal
context of text, audio and speaker identity") compares Gaussian fits of latent features of real
and generated motion windows. Here the features come from the encoder of an autoencoder trained
on the training split by :func:`train_fgd_extractor` (the recipe ships with the metric):

- pose representation: joint positions relative to the root (the root itself dropped), flattened
  to ``d = 3 * (j - 1)`` values per frame, z-scored with per-value training mean and standard
  deviation (floored at ``std_floor`` metres);
- windows of 32 frames at 30 fps (motions at other rates are resampled linearly);
- encoder: three stride-2 convolutions (32 -> 4 frames) and a linear layer to a latent vector;
  decoder: the mirror image with transposed convolutions; loss: mean squared reconstruction
  error of the normalised window.

The extractor saves as ``weights.safetensors`` (weights and normalisation) + ``config.json``.

Axes: ``b`` windows in a batch, ``t`` frames, ``d`` pose values, ``c`` channels, ``z`` latent.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from einops import rearrange
from safetensors.torch import load_file, save_file
from torch import nn

from llavataros.errors import InputError
from llavataros.eval import metrics
from llavataros.motion.take import Motion

FORMAT = "llavataros-fgd-extractor"
VERSION = 1
DOWNSAMPLING = 8  # three stride-2 convolutions


@dataclass(frozen=True)
class FGDConfig:
    """Architecture and training recipe of the FGD feature extractor."""

    window: int = 32  # frames per window (multiple of 8)
    fps: float = 30.0  # frame rate windows are cut at
    channels: int = 64  # width of the first convolution (the deeper ones use twice this)
    latent_size: int = 32  # FGD feature dimension
    train_stride: int = 8  # frames between training windows
    feature_stride: int = 8  # frames between windows when extracting features
    batch_size: int = 128
    learning_rate: float = 1e-3
    std_floor: float = 0.01  # metres; smallest per-value standard deviation used to normalise

    def __post_init__(self):
        if self.window < DOWNSAMPLING or self.window % DOWNSAMPLING:
            raise InputError(
                None, f"FGD window must be a positive multiple of 8, got {self.window}"
            )
        for name in ("channels", "latent_size", "train_stride", "feature_stride", "batch_size"):
            if getattr(self, name) < 1:
                raise InputError(None, f"FGD {name} must be at least 1, got {getattr(self, name)}")
        if not (self.fps > 0 and self.learning_rate > 0 and self.std_floor > 0):
            raise InputError(None, "FGD fps, learning_rate and std_floor must be positive")


class MotionAutoencoder(nn.Module):
    """``(b, t, d)`` normalised pose windows -> ``(b, z)`` latent -> ``(b, t, d)``."""

    def __init__(self, pose_size: int, config: FGDConfig):
        super().__init__()
        c, z = config.channels, config.latent_size
        self.reduced_frames = config.window // DOWNSAMPLING
        self.encoder = nn.Sequential(
            nn.Conv1d(pose_size, c, 3, padding=1),
            nn.LeakyReLU(0.2),
            nn.Conv1d(c, c, 4, stride=2, padding=1),  # t -> t / 2
            nn.LeakyReLU(0.2),
            nn.Conv1d(c, 2 * c, 4, stride=2, padding=1),  # -> t / 4
            nn.LeakyReLU(0.2),
            nn.Conv1d(2 * c, 2 * c, 4, stride=2, padding=1),  # -> t / 8
            nn.LeakyReLU(0.2),
        )
        self.to_latent = nn.Linear(2 * c * self.reduced_frames, z)
        self.from_latent = nn.Linear(z, 2 * c * self.reduced_frames)
        self.decoder = nn.Sequential(
            nn.LeakyReLU(0.2),
            nn.ConvTranspose1d(2 * c, 2 * c, 4, stride=2, padding=1),  # t / 8 -> t / 4
            nn.LeakyReLU(0.2),
            nn.ConvTranspose1d(2 * c, c, 4, stride=2, padding=1),  # -> t / 2
            nn.LeakyReLU(0.2),
            nn.ConvTranspose1d(c, c, 4, stride=2, padding=1),  # -> t
            nn.LeakyReLU(0.2),
            nn.Conv1d(c, pose_size, 3, padding=1),
        )

    def encode(self, windows: torch.Tensor) -> torch.Tensor:
        hidden = self.encoder(rearrange(windows, "b t d -> b d t"))  # (b, 2c, t / 8)
        return self.to_latent(rearrange(hidden, "b c t -> b (c t)"))  # (b, z)

    def decode(self, latent: torch.Tensor) -> torch.Tensor:
        hidden = rearrange(self.from_latent(latent), "b (c t) -> b c t", t=self.reduced_frames)
        return rearrange(self.decoder(hidden), "b d t -> b t d")

    def forward(self, windows: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(windows))


def pose_vectors(motion: Motion | np.ndarray, fps: float | None, target_fps: float) -> np.ndarray:
    """Root-relative joint positions at ``target_fps``, flattened: ``(t, 3 * (j - 1))``."""
    positions, rate = metrics.positions_and_fps(motion, fps)
    positions = metrics.resample_positions(positions, rate, target_fps)
    relative = positions[:, 1:] - positions[:, :1]  # (t, j - 1, 3)
    return rearrange(relative, "t j x -> t (j x)")


def cut_windows(vectors: np.ndarray, window: int, stride: int) -> np.ndarray:
    """``(n, window, d)`` windows of ``vectors (t, d)`` starting every ``stride`` frames."""
    if len(vectors) < window:
        return np.zeros((0, window, vectors.shape[-1]))
    starts = np.arange(0, len(vectors) - window + 1, stride)
    return vectors[starts[:, None] + np.arange(window)]


def window_starts(lengths: list[int], window: int, stride: int) -> np.ndarray:
    """First frames ``(n,)`` of every ``stride``-th window in takes of ``lengths`` frames laid
    end to end; no window crosses from one take into the next."""
    starts, offset = [np.zeros(0, dtype=np.int64)], 0
    for length in lengths:
        if length >= window:
            starts.append(offset + np.arange(0, length - window + 1, stride, dtype=np.int64))
        offset += length
    return np.concatenate(starts)


class FGDExtractor:
    """A trained motion autoencoder and its normalisation; turns motions into FGD features."""

    def __init__(
        self,
        model: MotionAutoencoder,
        config: FGDConfig,
        mean: np.ndarray,
        std: np.ndarray,
        training: dict | None = None,
    ):
        self.model = model.eval()
        self.config = config
        self.mean = np.asarray(mean, dtype=np.float32)  # (d,)
        self.std = np.asarray(std, dtype=np.float32)  # (d,)
        self.training = dict(training or {})

    def windows(self, motions: list[Motion], stride: int) -> np.ndarray:
        """Normalised windows ``(n, window, d)`` of all motions (shorter motions give none)."""
        pieces = [
            cut_windows(pose_vectors(motion, None, self.config.fps), self.config.window, stride)
            for motion in _as_list(motions)
        ]
        windows = np.concatenate(pieces) if pieces else np.zeros((0, self.config.window, 0))
        if len(windows) == 0:
            raise InputError(
                None,
                f"no motion is long enough for a {self.config.window}-frame "
                f"window at {self.config.fps:g} fps",
            )
        return ((windows - self.mean) / self.std).astype(np.float32)

    @torch.no_grad()
    def features(self, motions: list[Motion]) -> np.ndarray:
        """FGD features ``(n_windows, latent_size)``: one per window every ``feature_stride``
        frames at 30 fps of every motion."""
        windows = torch.from_numpy(self.windows(motions, self.config.feature_stride))
        latents = [self.model.encode(batch) for batch in windows.split(256)]
        return torch.cat(latents).double().numpy()

    def fgd(self, real_motions: list[Motion], generated_motions: list[Motion]) -> float:
        """Frechet Gesture Distance between real and generated motions."""
        return metrics.fgd(self.features(real_motions), self.features(generated_motions))

    @torch.no_grad()
    def reconstruction_error(self, motions: list[Motion]) -> float:
        """Mean squared error of reconstructing the normalised windows (unitless)."""
        windows = torch.from_numpy(self.windows(motions, self.config.feature_stride))
        return float(nn.functional.mse_loss(self.model(windows), windows))

    def save(self, directory: str | Path) -> Path:
        """Write ``weights.safetensors`` and ``config.json`` into ``directory``."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        tensors = {
            f"model.{name}": value.contiguous() for name, value in self.model.state_dict().items()
        }
        tensors["normalisation.mean"] = torch.from_numpy(self.mean)
        tensors["normalisation.std"] = torch.from_numpy(self.std)
        save_file(tensors, str(directory / "weights.safetensors"))
        description = {
            "format": FORMAT,
            "version": VERSION,
            "pose_size": len(self.mean),
            "config": asdict(self.config),
            "training": self.training,
        }
        (directory / "config.json").write_text(json.dumps(description, indent=2) + "\n")
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> FGDExtractor:
        """Rebuild an extractor from the two files written by :meth:`save`."""
        directory = Path(directory)
        config_path, weights_path = directory / "config.json", directory / "weights.safetensors"
        for path in (config_path, weights_path):
            if not path.exists():
                raise InputError(path, "FGD extractor file not found")
        try:
            description = json.loads(config_path.read_text())
        except (OSError, json.JSONDecodeError) as error:
            raise InputError(config_path, f"unreadable FGD extractor config ({error})") from None
        if description.get("format") != FORMAT:
            raise InputError(config_path, "not an FGD extractor config")
        try:
            config = FGDConfig(**description["config"])
        except TypeError as error:
            raise InputError(config_path, f"bad FGD config ({error})") from None
        tensors = load_file(str(weights_path))
        model = MotionAutoencoder(int(description["pose_size"]), config)
        prefix = "model."
        try:
            model.load_state_dict(
                {
                    name[len(prefix) :]: value
                    for name, value in tensors.items()
                    if name.startswith(prefix)
                }
            )
        except RuntimeError as error:
            message = str(error).splitlines()[0]
            raise InputError(weights_path, f"weights do not fit the config ({message})") from None
        return cls(
            model,
            config,
            tensors["normalisation.mean"].numpy(),
            tensors["normalisation.std"].numpy(),
            description.get("training"),
        )


def load_fgd_extractor(directory: str | Path) -> FGDExtractor:
    """Load an extractor saved by :meth:`FGDExtractor.save`."""
    return FGDExtractor.load(directory)


def train_fgd_extractor(
    motions: list[Motion], config: FGDConfig | None = None, epochs: int = 20, seed: int = 0
) -> FGDExtractor:
    """Train the autoencoder on windows of the training split ``motions`` (Adam, MSE;
    ``config`` defaults to :class:`FGDConfig`). Deterministic for a given ``seed``."""
    config = FGDConfig() if config is None else config
    if epochs < 1:
        raise InputError(None, f"epochs must be at least 1, got {epochs}")
    vectors = [pose_vectors(motion, None, config.fps) for motion in _as_list(motions)]
    starts = torch.from_numpy(
        window_starts([len(v) for v in vectors], config.window, config.train_stride)
    )
    if len(starts) == 0:
        raise InputError(
            None,
            f"no training motion is long enough for a {config.window}-frame "
            f"window at {config.fps:g} fps",
        )
    frames = np.concatenate(vectors)  # (all frames, d)
    mean = frames.mean(axis=0)
    std = np.maximum(frames.std(axis=0), config.std_floor)
    normalised = torch.from_numpy(((frames - mean) / std).astype(np.float32))  # (all frames, d)
    frame_steps = torch.arange(config.window)

    with torch.random.fork_rng():  # seed the initialisation without touching global state
        torch.manual_seed(seed)
        model = MotionAutoencoder(frames.shape[-1], config)
    generator = torch.Generator().manual_seed(seed)
    optimiser = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    model.train()
    loss = torch.zeros(())
    for _ in range(epochs):
        order = torch.randperm(len(starts), generator=generator)
        for batch_index in order.split(config.batch_size):
            batch = normalised[starts[batch_index][:, None] + frame_steps]  # (b, t, d)
            loss = nn.functional.mse_loss(model(batch), batch)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    training = {
        "epochs": epochs,
        "seed": seed,
        "windows": len(starts),
        "motions": len(vectors),
        "final_batch_loss": float(loss.detach()),
    }
    return FGDExtractor(model, config, mean, std, training)


def _as_list(motions) -> list:
    return list(motions) if isinstance(motions, list | tuple) else [motions]


def shuffled_in_time(motion: Motion, rng: np.random.Generator) -> Motion:
    """``motion`` with its frames in random order (every pose real, the motion broken)."""
    order = rng.permutation(motion.num_frames)
    return Motion(motion.positions[order], motion.rotations[order], motion.fps, motion.skeleton)


def validate_fgd_extractor(
    extractor: FGDExtractor, train: list[Motion], held_out: list[Motion], seed: int = 0
) -> dict[str, float]:
    """The checks of the issue "Evaluation": FGD(held-out real vs training real) must lie far
    below FGD(real vs the same takes shuffled in time) and FGD(real vs mean pose with idle
    noise, :func:`~llavataros.eval.baselines.mean_pose_baseline`)."""
    from llavataros.eval.baselines import mean_pose_baseline

    rng = np.random.default_rng(seed)
    shuffled = [shuffled_in_time(motion, rng) for motion in held_out]
    still = [mean_pose_baseline(train, m.num_frames, m.fps, rng) for m in held_out]
    real = extractor.features(held_out)
    return {
        "fgd_test_vs_train": metrics.fgd(real, extractor.features(train)),
        "fgd_real_vs_shuffled": metrics.fgd(real, extractor.features(shuffled)),
        "fgd_real_vs_mean_pose": metrics.fgd(real, extractor.features(still)),
        "reconstruction_error_test": extractor.reconstruction_error(held_out),
    }


def train_fgd_from_corpus(
    data_dir: str | Path,
    out_dir: str | Path,
    epochs: int = 30,
    seed: int = 0,
    config: FGDConfig | None = None,
) -> Path:
    """``llavataros fgd-train``: train the extractor on the training split of ``data_dir``
    (``DATA/split.json`` or the default training split, as ``llavataros train``), validate it
    on the test split (validation split, else training, when empty), save it to ``out_dir``
    with the validation figures in its ``config.json`` and print them. Returns ``out_dir``."""
    from llavataros.data.index import index_takes, split_records
    from llavataros.motion.take import load_take

    data_dir = Path(data_dir)
    splits = split_records(data_dir, index_takes(data_dir))  # training's default split
    if not splits["train"]:
        raise InputError(data_dir, "no takes in the training split")
    held_name = next((s for s in ("test", "validation") if splits[s]), "train")
    train = [load_take(record.motion_path) for record in splits["train"]]
    held_out = [load_take(record.motion_path) for record in splits[held_name]]
    extractor = train_fgd_extractor(train, config, epochs=epochs, seed=seed)
    figures = validate_fgd_extractor(extractor, train, held_out, seed)
    extractor.training.update(
        data_dir=str(data_dir.resolve()),
        train_takes=[record.name for record in splits["train"]],
        held_out_split=held_name,
        validation=figures,
    )
    out = extractor.save(out_dir)
    print(
        f"FGD extractor trained on {len(train)} takes ({extractor.training['windows']} windows, "
        f"{epochs} epochs); checked on the {held_name} split ({len(held_out)} takes):"
    )
    for name, value in figures.items():
        print(f"  {name}: {value:.4g}")
    return out
