"""The LLAniMAtion gesture model (Windle et al., CGF 2024, arXiv 2405.08042, section 3).

Per frame (at ``config.fps``) the model reads

- ``text (b, t, text_dim)``: the language-model vector of the word spoken at that frame, with
  ``text_mask (b, t)`` True where a word covers the frame; frames with no word use a learned
  "no word" vector instead; every frame's text vector is layer-normalised first;
- ``audio (b, t, audio_dim)``: audio features;
- ``speaker (b,)``: an integer speaker (or style) id, looked up as an 8-d embedding and
  concatenated to the features of every frame (paper, section 3.2),

fuses them according to ``config.fusion`` (see ``config.py``), and predicts per frame the root
position (normalised, 3) and the **global** rotation of each joint in 6D (``6 * j``).

Structure: fusion -> input encoder -> Transformer-XL -> linear head.

The input encoder gives the model its future context: a per-frame projection followed by a
temporal convolution over input frames ``[t - B, t + A]`` (``B = config.lookbehind``,
``A = config.lookahead``), with a residual connection. So motion at frame ``t`` can anticipate
speech up to ``A`` frames ahead, while everything after the encoder is strictly causal (see
``transformer_xl.py``). Frames outside the sequence (before its start, after its end) are
replaced by a learned ``boundary`` vector: that is the model's start and end convention, used
identically by training windows, offline generation and the stream.

``forward`` processes one segment and threads a :class:`ModelMemory` through calls: the last
``B`` fused input frames (for the convolution), the per-layer Transformer-XL memory and, for
``cross``, the last ``M`` encoded text frames that the cross-attention reads. Input passed
after the segment's own frames (``context_after`` of them, at most ``A``) is read as lookahead
only; without it the segment is treated as the end of the sequence.

Axes: ``b`` batch, ``t`` frames, ``j`` joints, ``d`` features.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from llavataros.errors import InputError
from llavataros.models.base import FrameInputs, OutputKind
from llavataros.models.layers import TemporalConvolution
from llavataros.models.llanimation import generation
from llavataros.models.llanimation.config import ROOT_DIM, SIXD_DIM, ModelConfig
from llavataros.models.llanimation.transformer_xl import TransformerXL, keep_last

IDENTITY_SIXD = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)


@dataclass(frozen=True)
class ModelMemory:
    """Everything the model carries from one segment to the next (detached, except the start
    history, which is the learned ``boundary`` vector itself).

    history: ``(b, <=B, d)`` fused input frames just before the next segment (query stream).
    layers: per-layer ``(b, <=M, d)`` Transformer-XL memory.
    context_history: ``(b, <=B, d)`` same as ``history`` for the text stream (``cross`` only).
    context: ``(b, <=M, d)`` encoded text frames the cross-attention reads (``cross`` only).
    """

    history: torch.Tensor
    layers: tuple[torch.Tensor, ...]
    context_history: torch.Tensor | None = None
    context: torch.Tensor | None = None

    def tensors(self) -> list[torch.Tensor]:
        """All tensors held, e.g. to check that memory stays bounded."""
        extra = [x for x in (self.context_history, self.context) if x is not None]
        return [self.history, *self.layers, *extra]


class InputEncoder(nn.Module):
    """Per-frame projection, then a temporal convolution over frames ``[t - B, t + A]``."""

    def __init__(self, input_dim: int, width: int, lookbehind: int, lookahead: int):
        super().__init__()
        self.lookbehind = lookbehind
        self.lookahead = lookahead
        self.projection = nn.Linear(input_dim, width)
        self.boundary = nn.Parameter(0.02 * torch.randn(width))
        self.convolution = TemporalConvolution(width, width, lookbehind + 1 + lookahead)
        self.activation = nn.GELU()

    def encode(
        self, fused: torch.Tensor, history: torch.Tensor, frames: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``fused (b, t_in, d)`` projected inputs of which the first ``frames`` are the segment
        and the rest lookahead; ``history (b, <=B, d)`` the fused frames before the segment.

        Returns ``(encoded (b, frames, d), new_history (b, <=B, d))``."""
        b, t_in, width = fused.shape
        if history.shape[1] < self.lookbehind:  # pad a short history with the start convention
            missing = self.boundary.expand(b, self.lookbehind - history.shape[1], width)
            history = torch.cat([missing, history], dim=1)
        available = fused[:, : frames + self.lookahead]
        after = self.boundary.expand(b, frames + self.lookahead - available.shape[1], width)
        window = torch.cat([history, available, after], dim=1)  # (b, B + frames + A, d)
        convolved = self.convolution(window)  # (b, frames, d)
        own = window[:, self.lookbehind : self.lookbehind + frames]
        encoded = own + self.activation(convolved)
        new_history = keep_last(torch.cat([history, fused[:, :frames]], dim=1), self.lookbehind)
        return encoded, new_history.detach()


class LlanimationModel(nn.Module):
    """Speech features in, per-frame root position + global 6D joint rotations out."""

    family: ClassVar[str] = "llanimation"
    output_kind: ClassVar[OutputKind] = "body"
    config_class: ClassVar[type] = ModelConfig
    smoothing_seconds: ClassVar[float] = 8 / 30  # output smoothing span: 9 frames at 30 fps

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        c = config
        self.speaker_embedding = nn.Embedding(c.num_speakers, c.speaker_dim)
        self.no_word = nn.Parameter(torch.zeros(c.text_dim))  # text of frames with no word
        # Language-model hidden states have a few huge dimensions (Llama-2 especially):
        # normalise each frame's vector before it is mixed with anything else.
        self.text_norm = nn.LayerNorm(c.text_dim)
        query_dim = {
            "text": c.text_dim + c.speaker_dim,
            "audio": c.audio_dim + c.speaker_dim,
            "concat": c.text_dim + c.audio_dim + c.speaker_dim,
            "cross": c.audio_dim + c.speaker_dim,
        }[c.fusion]
        self.encoder = InputEncoder(query_dim, c.width, c.lookbehind, c.lookahead)
        self.context_encoder = (
            InputEncoder(c.text_dim, c.width, c.lookbehind, c.lookahead)
            if c.fusion == "cross"
            else None
        )
        self.transformer = TransformerXL(
            c.width,
            c.depth,
            c.heads,
            c.feedforward_multiplier,
            c.memory_length,
            c.dropout,
            cross_attention=c.fusion == "cross",
        )
        self.head = nn.Linear(c.width, c.output_dim)
        with torch.no_grad():  # start from the rest pose: root at the mean, identity rotations
            self.head.weight.mul_(0.1)
            self.head.bias.zero_()
            self.head.bias[ROOT_DIM:] = torch.tensor(IDENTITY_SIXD).repeat(c.num_joints)

    @property
    def lookahead(self) -> int:
        return self.config.lookahead

    @property
    def output_dim(self) -> int:
        return self.config.output_dim

    # -- the model-family protocol (llavataros.models.base.SpeechModel) -----------------------
    def generate(self, inputs: FrameInputs, speaker: torch.Tensor) -> torch.Tensor:
        """Output ``(b, t, 3 + 6 j)`` for whole sequences (segment by segment, eval mode)."""
        return generation.generate(self, inputs.text, inputs.text_mask, inputs.audio, speaker)

    def start_stream(self, speaker: torch.Tensor, max_segment: int | None = None):
        return generation.start_stream(self, speaker, max_segment)

    def push(self, state, inputs: FrameInputs) -> tuple[torch.Tensor, object]:
        return generation.push(self, state, inputs)

    def flush(self, state) -> torch.Tensor:
        return generation.flush(self, state)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def initial_memory(self, batch: int) -> ModelMemory:
        """Memory at the start of a sequence: a history of ``boundary`` frames (the start
        convention) and empty attention memories."""
        c, device = self.config, self.head.weight.device
        history = self.encoder.boundary.expand(batch, c.lookbehind, c.width)
        layers = tuple(torch.zeros(batch, 0, c.width, device=device) for _ in range(c.depth))
        context_history = context = None
        if self.context_encoder is not None:
            context_history = self.context_encoder.boundary.expand(batch, c.lookbehind, c.width)
            context = torch.zeros(batch, 0, c.width, device=device)
        return ModelMemory(history, layers, context_history, context)

    def _check(self, text, text_mask, audio, speaker, context_after) -> None:
        c = self.config
        b, t = text_mask.shape
        if text.shape != (b, t, c.text_dim):
            raise ValueError(
                f"text must be (b, t, {c.text_dim}) = ({b}, {t}, {c.text_dim}), "
                f"got {tuple(text.shape)}"
            )
        if audio.shape != (b, t, c.audio_dim):
            raise ValueError(f"audio must be ({b}, {t}, {c.audio_dim}), got {tuple(audio.shape)}")
        if speaker.shape != (b,):
            raise ValueError(f"speaker must be ({b},), got {tuple(speaker.shape)}")
        if speaker.numel() and (speaker.min() < 0 or speaker.max() >= c.num_speakers):
            bad = speaker[(speaker < 0) | (speaker >= c.num_speakers)][0].item()
            raise InputError(
                None,
                f"unknown speaker id {bad}: the model knows "
                f"{c.num_speakers} speakers (0..{c.num_speakers - 1})",
            )
        if not 0 <= context_after <= min(c.lookahead, t):
            raise ValueError(
                f"context_after must be in [0, min(lookahead={c.lookahead}, "
                f"t={t})], got {context_after}"
            )

    def _fuse(self, text, text_mask, audio, speaker) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Projected per-frame inputs: ``(query (b, t, d), context (b, t, d) or None)``."""
        t = text.shape[1]
        text = torch.where(text_mask[..., None].bool(), text, self.no_word)  # (b, t, text_dim)
        text = self.text_norm(text)
        speaker = self.speaker_embedding(speaker)[:, None].expand(-1, t, -1)  # (b, t, 8)
        parts = {
            "text": [text, speaker],
            "audio": [audio, speaker],
            "concat": [text, audio, speaker],
            "cross": [audio, speaker],
        }[self.config.fusion]
        query = self.encoder.projection(torch.cat(parts, dim=-1))
        context = None
        if self.context_encoder is not None:
            context = self.context_encoder.projection(text)
        return query, context

    def forward(
        self,
        text: torch.Tensor,
        text_mask: torch.Tensor,
        audio: torch.Tensor,
        speaker: torch.Tensor,
        memory: ModelMemory | None = None,
        context_after: int = 0,
    ) -> tuple[torch.Tensor, ModelMemory]:
        """One segment of ``t - context_after`` frames.

        text ``(b, t, text_dim)``, text_mask ``(b, t)`` bool, audio ``(b, t, audio_dim)``,
        speaker ``(b,)`` long. The last ``context_after`` (<= lookahead) input frames are
        lookahead only; beyond them the sequence is taken to end. ``memory`` comes from the
        previous segment of the same sequences (None at their start).

        Returns ``(output (b, t - context_after, 3 + 6 j), new_memory)``.
        """
        self._check(text, text_mask, audio, speaker, context_after)
        if memory is None:
            memory = self.initial_memory(text.shape[0])
        frames = text.shape[1] - context_after
        if frames == 0:
            return text.new_zeros(text.shape[0], 0, self.config.output_dim), memory
        query, context = self._fuse(text, text_mask, audio, speaker)
        x, history = self.encoder.encode(query, memory.history, frames)

        context_keys = context_history = context_memory = None
        if self.context_encoder is not None:
            encoded_context, context_history = self.context_encoder.encode(
                context, memory.context_history, frames
            )
            context_keys = torch.cat([memory.context, encoded_context], dim=1)  # (b, m + t, d)
            context_memory = keep_last(context_keys, self.config.memory_length).detach()

        hidden, layers = self.transformer(x, list(memory.layers), context_keys)
        output = self.head(hidden)  # (b, frames, 3 + 6 j)
        new_memory = ModelMemory(history, tuple(layers), context_history, context_memory)
        return output, new_memory


def split_output(output: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(..., 3 + 6 j)`` to ``(root (..., 3), sixd (..., j, 6))``."""
    root = output[..., :ROOT_DIM]
    sixd = output[..., ROOT_DIM:].unflatten(-1, (-1, SIXD_DIM))
    return root, sixd
