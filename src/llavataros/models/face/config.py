"""Configuration of the face model (JambaTalk-style decoder, arXiv 2408.01627).

JambaTalk feeds wav2vec 2.0 features to a decoder that interleaves Transformer layers
(rotary positions, grouped-query attention) with Mamba selective state-space layers. Ours is
sized for one CPU thread: ``layers`` lists the stack bottom-up (``"mamba"`` or
``"attention"``); attention is causal within a window of ``attention_window`` past frames
(bounded key/value cache); the only look into the future is the input convolution over
``[t - lookbehind, t + lookahead]`` frames, so the stream's latency is ``lookahead / fps``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal, get_args

from llavataros.errors import InputError
from llavataros.face.arkit import NUM_BLENDSHAPES
from llavataros.face.visemes import NUM_VISEME_IDS

LayerKind = Literal["mamba", "attention"]
LAYER_KINDS: tuple[str, ...] = get_args(LayerKind)
Scan = Literal["loop", "chunked"]
SCANS: tuple[str, ...] = get_args(Scan)


@dataclass(frozen=True)
class FaceModelConfig:
    """Hyper-parameters that fully determine the face model's parameter shapes.

    Lengths are in frames at ``fps``. ``num_phonemes`` counts viseme ids (0 = unknown, the
    model's input when no transcript is aligned; see :mod:`llavataros.face.visemes`).
    """

    audio_dim: int = 44  # ProsodyFeatures(n_mels=40)
    num_phonemes: int = NUM_VISEME_IDS
    num_speakers: int = 8
    width: int = 64
    layers: tuple[LayerKind, ...] = ("mamba", "attention", "mamba")
    heads: int = 4
    kv_heads: int = 2  # grouped-query attention: heads share kv_heads key/value heads
    attention_window: int = 60
    state_dim: int = 16  # N of the selective scan
    expand: int = 2  # Mamba inner width = expand * width
    conv_kernel: int = 4  # Mamba's causal depthwise convolution
    feedforward_multiplier: int = 2
    lookahead: int = 3
    lookbehind: int = 2
    dropout: float = 0.1
    scan: Scan = "loop"  # selective scan: same numbers; the loop is faster on one CPU thread
    scan_chunk: int = 64  # frames per chunk of the parallel scan (speed only)
    fps: float = 30.0
    num_outputs: int = NUM_BLENDSHAPES

    def __post_init__(self):
        object.__setattr__(self, "layers", tuple(self.layers))
        for name in (
            "audio_dim",
            "num_phonemes",
            "num_speakers",
            "width",
            "heads",
            "kv_heads",
            "attention_window",
            "state_dim",
            "expand",
            "conv_kernel",
            "feedforward_multiplier",
            "scan_chunk",
            "num_outputs",
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise InputError(
                    None, f"face model {name} must be a positive integer, got {value!r}"
                )
        for name in ("lookahead", "lookbehind"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 0:
                raise InputError(None, f"face model {name} must be >= 0, got {value!r}")
        if not self.layers or any(kind not in LAYER_KINDS for kind in self.layers):
            raise InputError(
                None, f"face model layers must be from {LAYER_KINDS}, got {self.layers}"
            )
        if self.width % self.heads or self.heads % self.kv_heads or (self.width // self.heads) % 2:
            raise InputError(
                None, "face model width must split into heads of even size, heads into kv_heads"
            )
        if self.scan not in SCANS:
            raise InputError(None, f"face model scan must be one of {SCANS}, got {self.scan!r}")
        if not 0.0 <= self.dropout < 1.0 or not self.fps > 0:
            raise InputError(None, "face model dropout must be in [0, 1) and fps > 0")

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["layers"] = list(self.layers)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FaceModelConfig:
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InputError(None, f"unknown face model config keys: {unknown}")
        values = dict(data)
        if "layers" in values:
            values["layers"] = tuple(values["layers"])
        return cls(**values)
