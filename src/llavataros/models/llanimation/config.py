"""Configuration of the LLAniMAtion model (arXiv 2405.08042, section 3).

The paper compares four ways of feeding speech to a cross-attentive Transformer-XL:

- ``"text"``   (Llanimation):   per-word language-model vectors + speaker embedding;
- ``"audio"``  (audio only):    audio features + speaker embedding;
- ``"concat"`` (Llanimation-+): text, audio and speaker concatenated per frame, then a linear layer;
- ``"cross"``  (Llanimation-x): cross-attention with the audio stream as query and the text
  stream as key/value.

Every frame also carries an 8-d learned speaker (or style) embedding, concatenated with the
features as in the paper. The defaults are sized for two CPU cores (about 2 M parameters,
0.5 s of lookahead at 30 fps); :func:`paper_scale_config` gives a configuration in the tens of
millions of parameters with Llama-2-7B text vectors (4096-d) and PASE+-sized audio (768-d).

Time is counted in model frames at ``fps`` (30 by default); the data pipeline resamples the
corpus (60 fps for AvatarOS) to this rate and back.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal, get_args

from llavataros.errors import InputError
from llavataros.motion.timing import MODEL_FPS

Fusion = Literal["text", "audio", "concat", "cross"]
FUSIONS: tuple[str, ...] = get_args(Fusion)

ROOT_DIM = 3  # root position (normalised), per frame
SIXD_DIM = 6  # continuous 6D rotation (first two matrix columns), per joint


@dataclass(frozen=True)
class ModelConfig:
    """Hyper-parameters that fully determine the model's architecture and parameter shapes.

    Lengths (``segment_length``, ``memory_length``, ``lookahead``, ``lookbehind``) are in
    frames at ``fps``.
    """

    fusion: Fusion = "concat"
    text_dim: int = 384  # all-MiniLM-L6-v2; 4096 for Llama-2-7B
    audio_dim: int = 64
    num_speakers: int = 32
    speaker_dim: int = 8
    width: int = 160
    depth: int = 4
    heads: int = 4
    feedforward_multiplier: int = 4
    dropout: float = 0.1
    segment_length: int = 60  # W: frames per Transformer-XL segment in offline generation
    memory_length: int = 60  # M: frames each query sees into the past (and memory kept)
    lookahead: int = 15  # A: future input frames the input encoder reads
    lookbehind: int = 2  # B: past input frames the input encoder reads
    fps: float = MODEL_FPS
    num_joints: int = 9

    def __post_init__(self):
        if self.fusion not in FUSIONS:
            raise InputError(
                None, f"model fusion must be one of {list(FUSIONS)}, got {self.fusion!r}"
            )
        positive = (
            "text_dim",
            "audio_dim",
            "num_speakers",
            "speaker_dim",
            "width",
            "depth",
            "heads",
            "feedforward_multiplier",
            "segment_length",
            "num_joints",
        )
        for name in positive:
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise InputError(None, f"model {name} must be a positive integer, got {value!r}")
        for name in ("memory_length", "lookahead", "lookbehind"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise InputError(None, f"model {name} must be an integer >= 0, got {value!r}")
        if self.width % self.heads:
            raise InputError(
                None, f"model width {self.width} is not divisible by heads {self.heads}"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise InputError(None, f"model dropout must be in [0, 1), got {self.dropout!r}")
        if not self.fps > 0:
            raise InputError(None, f"model fps must be positive, got {self.fps!r}")

    @property
    def output_dim(self) -> int:
        """Per-frame output: root position (3) + one 6D global rotation per joint."""
        return ROOT_DIM + SIXD_DIM * self.num_joints

    @property
    def latency_seconds(self) -> float:
        """Delay of streaming output behind its input, from the lookahead."""
        return self.lookahead / self.fps

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        """Rebuild from :meth:`to_dict`; unknown keys are an error (never silently ignored)."""
        if not isinstance(data, dict):
            raise InputError(None, f"model config must be a mapping, got {type(data).__name__}")
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InputError(None, f"unknown model config keys: {', '.join(unknown)}")
        values = dict(data)
        if "fps" in values and isinstance(values["fps"], int):
            values["fps"] = float(values["fps"])
        if "dropout" in values and isinstance(values["dropout"], int):
            values["dropout"] = float(values["dropout"])
        return cls(**values)


def paper_scale_config(**overrides: Any) -> ModelConfig:
    """A configuration close to the paper's scale: Llama-2-7B text (4096-d), 768-d audio
    (PASE+), width 512, 6 layers, 8 heads (about 40 M parameters with ``cross``)."""
    values: dict[str, Any] = dict(
        fusion="cross",
        text_dim=4096,
        audio_dim=768,
        width=512,
        depth=6,
        heads=8,
        segment_length=90,
        memory_length=90,
        lookahead=15,
    )
    values.update(overrides)
    return ModelConfig(**values)
