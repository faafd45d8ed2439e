"""Configuration of the diffusion gesture model (DiffMotion-v2 style, arXiv 2308.05995).

The denoiser is a transformer over a window of motion frames in the LLAniMAtion output layout
(normalised root position 3 + global 6D rotation per joint, see ``model/geometry.py``). Speech
conditions it twice, as in DiffMotion-v2: frame-aligned features (audio, and the
per-word text vectors unless ``use_text`` is False, the paper's audio-only setting) are added
into every frame, and a pooled summary of them joins the diffusion-step and speaker embeddings
in the conditioning vector that drives every block's adaptive layer norm.

Time is in frames at ``fps``. Long sequences are sampled in windows of ``window`` frames that
overlap by ``overlap`` frames (see ``windows.py``); ``lookahead`` is how many future speech
frames a motion frame may read (``lookbehind`` past ones); the motion tokens attend causally
with ``attention_lookahead`` frames of lookahead per layer. Neither lookahead adds stream
latency beyond the speech ``lookahead``: a window is sampled whole, once its speech has arrived.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal, get_args

from llavataros.errors import InputError

Prediction = Literal["v", "epsilon", "x0"]
PREDICTIONS: tuple[str, ...] = get_args(Prediction)
ScheduleKind = Literal["cosine"]
SCHEDULES: tuple[str, ...] = get_args(ScheduleKind)

ROOT_DIM = 3
SIXD_DIM = 6
# fields a YAML or JSON config may give as whole numbers
FLOAT_FIELDS = (
    "fps",
    "dropout",
    "condition_dropout",
    "text_noise",
    "prefix_probability",
    "guidance",
    "temperature",
    "smoothing_seconds",
)


@dataclass(frozen=True)
class DiffusionConfig:
    """Hyper-parameters of the diffusion model: architecture, windows, training and sampling
    defaults. Lengths are in frames at ``fps``."""

    text_dim: int = 384  # all-MiniLM-L6-v2 word vectors
    audio_dim: int = 64  # shipped prosody features; WavLM base: 768
    use_text: bool = True  # False: the paper's audio-only configuration
    num_speakers: int = 32
    num_joints: int = 9
    width: int = 192
    depth: int = 4
    heads: int = 4
    feedforward_multiplier: int = 4
    dropout: float = 0.1
    window: int = 90  # frames denoised together
    overlap: int = 15  # frames each window shares with the previous one (inpainted)
    # frames at the end of every window but the last that are thrown away and sampled again by
    # the next window: a window's last frames have no motion after them to attend to, and
    # samples slow down there (see windows.py)
    discard_frames: int = 0
    # frames over which a window's first new frames are shifted to continue the known ones
    # (windows.blend_join): the network's first new frame is otherwise off by several steps
    blend_frames: int = 0
    lookahead: int = 15  # future speech frames a motion frame reads
    lookbehind: int = 2  # past speech frames read by the speech convolution
    attention_lookahead: int = 0  # future motion tokens (of the window) a token attends per layer
    pool_frames: int = 60  # trailing speech frames averaged into the conditioning vector
    prediction: Prediction = "v"
    schedule: ScheduleKind = "cosine"
    condition_dropout: float = 0.1  # probability of the null condition in training (CFG)
    text_noise: float = 0.0  # training: Gaussian noise on word vectors, a share of their RMS
    prefix_probability: float = 0.5  # probability a training window starts with known frames
    steps: int = 8  # default sampling steps
    guidance: float = 1.0  # default classifier-free guidance scale (1 = conditional only)
    temperature: float = 1.0  # default scale of the initial noise (1 = the learned distribution)
    # span of the output's Savitzky-Golay smoothing (a sample jitters frame to frame more than a
    # regressor's output); 0.47 s gives the first shipped model's test takes the corpus's jerk
    smoothing_seconds: float = 14 / 30
    fps: float = 30.0

    def __post_init__(self):
        positive = (
            "text_dim",
            "audio_dim",
            "num_speakers",
            "num_joints",
            "width",
            "depth",
            "heads",
            "feedforward_multiplier",
            "window",
            "pool_frames",
            "steps",
        )
        for name in positive:
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise InputError(
                    None, f"diffusion {name} must be a positive integer, got {value!r}"
                )
        for name in (
            "overlap",
            "discard_frames",
            "blend_frames",
            "lookahead",
            "lookbehind",
            "attention_lookahead",
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise InputError(None, f"diffusion {name} must be an integer >= 0, got {value!r}")
        if not isinstance(self.use_text, bool):
            raise InputError(
                None, f"diffusion use_text must be true or false, got {self.use_text!r}"
            )
        if self.overlap + self.discard_frames >= self.window:
            raise InputError(
                None,
                f"diffusion overlap {self.overlap} plus discard_frames {self.discard_frames} "
                f"must be below window {self.window}",
            )
        if self.width % self.heads or (self.width // self.heads) % 2:
            raise InputError(
                None, f"diffusion width {self.width} must split into {self.heads} even heads"
            )
        if self.width % 2:
            raise InputError(None, f"diffusion width must be even, got {self.width}")
        if self.prediction not in PREDICTIONS:
            raise InputError(
                None,
                f"diffusion prediction must be one of {list(PREDICTIONS)}, got {self.prediction!r}",
            )
        if self.schedule not in SCHEDULES:
            raise InputError(
                None, f"diffusion schedule must be one of {list(SCHEDULES)}, got {self.schedule!r}"
            )
        for name in ("dropout", "condition_dropout", "prefix_probability"):
            value = getattr(self, name)
            if not 0.0 <= value < 1.0:
                raise InputError(None, f"diffusion {name} must be in [0, 1), got {value!r}")
        if not self.guidance >= 0.0:
            raise InputError(None, f"diffusion guidance must be >= 0, got {self.guidance!r}")
        for name in ("text_noise", "temperature"):
            value = getattr(self, name)
            if not 0.0 <= value <= 10.0:
                raise InputError(None, f"diffusion {name} must be in [0, 10], got {value!r}")
        if not 0.0 <= self.smoothing_seconds <= 5.0:
            raise InputError(
                None,
                f"diffusion smoothing_seconds must be in [0, 5], got {self.smoothing_seconds!r}",
            )
        if not self.fps > 0:
            raise InputError(None, f"diffusion fps must be positive, got {self.fps!r}")

    @property
    def motion_dim(self) -> int:
        """Per-frame motion vector: root position (3) + one 6D global rotation per joint."""
        return ROOT_DIM + SIXD_DIM * self.num_joints

    @property
    def hop(self) -> int:
        """Frames a window adds to the output, but the first and the last."""
        return self.window - self.overlap - self.discard_frames

    @property
    def stream_latency_frames(self) -> int:
        """Worst-case frames between a speech frame arriving and its motion frame being final:
        a window is sampled once the speech up to its end plus the lookahead has arrived, and
        its first new frame waits for the rest of the window (discarded frames included)."""
        return self.window - self.overlap + self.lookahead

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DiffusionConfig:
        """Rebuild from :meth:`to_dict`; unknown keys are an error (never silently ignored)."""
        if not isinstance(data, dict):
            raise InputError(None, f"diffusion config must be a mapping, got {type(data).__name__}")
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InputError(None, f"unknown diffusion config keys: {', '.join(unknown)}")
        values = dict(data)
        for name in FLOAT_FIELDS:
            if isinstance(values.get(name), int) and not isinstance(values.get(name), bool):
                values[name] = float(values[name])
        return cls(**values)
