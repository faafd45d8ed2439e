"""The face model: speech features (and optionally visemes) to 52 ARKit weights per frame, a
JambaTalk-style decoder (arXiv 2408.01627, section 3: Transformer layers with rotary positions
and grouped-query attention interleaved with Mamba layers).

Per frame the model reads audio features ``(b, t, audio_dim)`` (normalised with stored
statistics), an optional viseme id ``(b, t)`` (0 = unknown: the model works from audio alone,
in any language) and a speaker/style id ``(b,)``. Structure:

    input projection -> temporal convolution over [t - B, t + A] -> layers -> head
    -> stretched sigmoid (reaches exactly 0 and 1)

The convolution is the only look ahead (``A = lookahead`` frames); every layer after it is
causal: Mamba layers carry their scan state, attention layers a key/value cache of the last
``attention_window`` frames with rotary positions counted from the start of the sequence.
``forward`` takes and returns that state (:class:`FaceState`) explicitly, so a stream that
feeds any chunking of a sequence gets the offline output (see ``stream.py``). Frames outside
the sequence read a learned ``boundary`` vector (the start and end convention).

Axes: ``b`` batch, ``t`` frames, ``d`` width, ``h`` heads, ``g`` key/value heads,
``k`` head size, ``m`` cached frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from einops import rearrange, repeat
from torch import nn

from llavataros.errors import InputError
from llavataros.models.face.config import FaceModelConfig
from llavataros.models.face.mamba import MambaLayer, MambaState
from llavataros.models.layers import TemporalConvolution


@dataclass(frozen=True)
class AttentionCache:
    """Rotated keys and values ``(b, g, <=W, k)`` of the last ``W`` frames."""

    keys: torch.Tensor
    values: torch.Tensor


@dataclass(frozen=True)
class FaceState:
    """Everything carried between segments: frames seen so far, the last ``B`` projected input
    frames ``(b, <=B, d)`` and one state per layer."""

    position: int
    history: torch.Tensor
    layers: tuple[MambaState | AttentionCache, ...]

    def tensors(self) -> list[torch.Tensor]:
        result = [self.history]
        for layer in self.layers:
            if isinstance(layer, MambaState):
                result += [layer.convolution, layer.scan]
            else:
                result += [layer.keys, layer.values]
        return result


def rotate(x: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    """Rotary position embedding (Su et al. 2021) of ``x (b, h, t, k)`` at ``positions (t,)``;
    angles are computed in float64 so long streams keep their precision."""
    size = x.shape[-1]
    frequencies = 10000.0 ** (-torch.arange(0, size, 2, dtype=torch.float64) / size)
    angles = positions.to(torch.float64)[:, None] * frequencies  # (t, k / 2)
    cos, sin = angles.cos().to(x.dtype), angles.sin().to(x.dtype)
    even, odd = x[..., 0::2], x[..., 1::2]
    return torch.stack([even * cos - odd * sin, even * sin + odd * cos], dim=-1).flatten(-2)


OUTPUT_MARGIN = 0.05


def stretched_sigmoid(x: torch.Tensor) -> torch.Tensor:
    """``clamp((1 + 2 m) sigmoid(x) - m, 0, 1)`` with ``m = 0.05``: like a sigmoid, but reaches
    exactly 0 and 1 (most ARKit channels rest at exactly 0; a plain sigmoid leaves a floor
    on every one of them)."""
    return torch.clamp((1 + 2 * OUTPUT_MARGIN) * torch.sigmoid(x) - OUTPUT_MARGIN, 0.0, 1.0)


class AttentionLayer(nn.Module):
    """Pre-norm causal grouped-query attention over a window of past frames, then a
    pre-norm feed-forward block; both residual."""

    def __init__(self, config: FaceModelConfig):
        super().__init__()
        c = config
        self.heads, self.kv_heads, self.window = c.heads, c.kv_heads, c.attention_window
        self.size = c.width // c.heads
        self.norm = nn.LayerNorm(c.width)
        self.query = nn.Linear(c.width, c.width, bias=False)
        self.key_value = nn.Linear(c.width, 2 * c.kv_heads * self.size, bias=False)
        self.output = nn.Linear(c.width, c.width)
        self.feedforward = nn.Sequential(
            nn.LayerNorm(c.width),
            nn.Linear(c.width, c.feedforward_multiplier * c.width),
            nn.GELU(),
            nn.Dropout(c.dropout),
            nn.Linear(c.feedforward_multiplier * c.width, c.width),
        )
        self.dropout = nn.Dropout(c.dropout)

    def initial_state(self, batch: int) -> AttentionCache:
        empty = self.query.weight.new_zeros(batch, self.kv_heads, 0, self.size)
        return AttentionCache(empty, empty)

    def forward(
        self, x: torch.Tensor, cache: AttentionCache, position: int
    ) -> tuple[torch.Tensor, AttentionCache]:
        """``x (b, t, d)`` at frames ``position ..``; returns ``(b, t, d)`` and the new cache."""
        t = x.shape[1]
        normed = self.norm(x)
        positions = torch.arange(position, position + t, device=x.device)
        q = rearrange(self.query(normed), "b t (h k) -> b h t k", h=self.heads)
        kv = rearrange(
            self.key_value(normed), "b t (two g k) -> two b g t k", two=2, g=self.kv_heads
        )
        q, new_keys = rotate(q, positions), rotate(kv[0], positions)
        keys = torch.cat([cache.keys, new_keys], dim=2)  # (b, g, m + t, k)
        values = torch.cat([cache.values, kv[1]], dim=2)
        m = cache.keys.shape[2]
        key_positions = torch.arange(position - m, position + t, device=x.device)
        offset = positions[:, None] - key_positions[None, :]  # (t, m + t)
        allowed = (offset >= 0) & (offset < self.window)
        group = self.heads // self.kv_heads
        attended = F.scaled_dot_product_attention(
            q,
            repeat(keys, "b g m k -> b (g r) m k", r=group),
            repeat(values, "b g m k -> b (g r) m k", r=group),
            attn_mask=allowed,
        )  # (b, h, t, k)
        x = x + self.dropout(self.output(rearrange(attended, "b h t k -> b t (h k)")))
        x = x + self.dropout(self.feedforward(x))
        keep = max(0, keys.shape[2] - (self.window - 1))  # the next frame sees W - 1 past ones
        return x, AttentionCache(keys[:, :, keep:], values[:, :, keep:])


class FaceModel(nn.Module):
    """Audio features (+ optional viseme ids, speaker) in, ``(b, t, 52)`` weights in [0, 1]."""

    def __init__(self, config: FaceModelConfig):
        super().__init__()
        self.config = c = config
        self.register_buffer("feature_mean", torch.zeros(c.audio_dim))
        self.register_buffer("feature_std", torch.ones(c.audio_dim))
        self.audio_projection = nn.Linear(c.audio_dim, c.width)
        self.phoneme_embedding = nn.Embedding(c.num_phonemes, c.width)
        self.speaker_embedding = nn.Embedding(c.num_speakers, c.width)
        with torch.no_grad():  # id 0 (unknown) starts as "no information"
            self.phoneme_embedding.weight[0].zero_()
        self.boundary = nn.Parameter(0.02 * torch.randn(c.width))
        self.convolution = TemporalConvolution(c.width, c.width, c.lookbehind + 1 + c.lookahead)
        self.layers = nn.ModuleList(
            MambaLayer(c.width, c.state_dim, c.expand, c.conv_kernel, c.scan_chunk, c.scan)
            if kind == "mamba"
            else AttentionLayer(c)
            for kind in c.layers
        )
        self.norm = nn.LayerNorm(c.width)
        self.head = nn.Linear(c.width, c.num_outputs)
        with torch.no_grad():  # start near a closed, neutral face (just above the clamp)
            self.head.weight.mul_(0.1)
            self.head.bias.fill_(-2.5)

    @property
    def lookahead(self) -> int:
        return self.config.lookahead

    def set_feature_statistics(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        """Store the training set's per-column feature mean and std ``(audio_dim,)``."""
        self.feature_mean.copy_(torch.as_tensor(mean, dtype=torch.float32))
        self.feature_std.copy_(torch.clamp(torch.as_tensor(std, dtype=torch.float32), min=1e-4))

    def initial_state(self, batch: int) -> FaceState:
        c = self.config
        history = self.boundary.expand(batch, c.lookbehind, c.width)
        layers = tuple(layer.initial_state(batch) for layer in self.layers)
        return FaceState(0, history, layers)

    def _check(self, audio, phonemes, speaker, context_after) -> None:
        c = self.config
        b, t = audio.shape[:2]
        if audio.shape != (b, t, c.audio_dim):
            raise ValueError(f"audio must be (b, t, {c.audio_dim}), got {tuple(audio.shape)}")
        if phonemes is not None and phonemes.shape != (b, t):
            raise ValueError(f"phonemes must be ({b}, {t}), got {tuple(phonemes.shape)}")
        if speaker.shape != (b,):
            raise ValueError(f"speaker must be ({b},), got {tuple(speaker.shape)}")
        if speaker.numel() and (speaker.min() < 0 or speaker.max() >= c.num_speakers):
            raise InputError(None, f"speaker ids must be in 0..{c.num_speakers - 1}")
        if phonemes is not None and phonemes.numel():
            if phonemes.min() < 0 or phonemes.max() >= c.num_phonemes:
                raise InputError(None, f"viseme ids must be in 0..{c.num_phonemes - 1}")
        if not 0 <= context_after <= min(c.lookahead, t):
            raise ValueError(f"context_after must be in [0, min({c.lookahead}, {t})]")

    def forward(
        self,
        audio: torch.Tensor,
        speaker: torch.Tensor,
        phonemes: torch.Tensor | None = None,
        state: FaceState | None = None,
        context_after: int = 0,
    ) -> tuple[torch.Tensor, FaceState]:
        """One segment: ``audio (b, t, audio_dim)``, ``speaker (b,)`` long, ``phonemes (b, t)``
        long viseme ids or None (unknown). The last ``context_after`` (<= lookahead) frames are
        lookahead only; beyond them the sequence ends. Returns ``(weights (b, t -
        context_after, 52), new_state)``."""
        self._check(audio, phonemes, speaker, context_after)
        c = self.config
        b, t_in = audio.shape[:2]
        if state is None:
            state = self.initial_state(b)
        frames = t_in - context_after
        if frames == 0:
            return audio.new_zeros(b, 0, c.num_outputs), state
        x = self.audio_projection((audio - self.feature_mean) / self.feature_std)  # (b, t, d)
        if phonemes is not None:
            x = x + self.phoneme_embedding(phonemes)
        x = x + self.speaker_embedding(speaker)[:, None]

        after = self.boundary.expand(b, frames + c.lookahead - t_in, c.width)
        window = torch.cat([state.history, x, after], dim=1)  # (b, B + frames + A, d)
        convolved = self.convolution(window)  # (b, frames, d)
        hidden = x[:, :frames] + F.gelu(convolved)
        history_all = torch.cat([state.history, x[:, :frames]], dim=1)
        history = history_all[:, history_all.shape[1] - c.lookbehind :]

        new_layers = []
        for layer, layer_state in zip(self.layers, state.layers, strict=True):
            if isinstance(layer, MambaLayer):
                hidden, layer_state = layer(hidden, layer_state)
            else:
                hidden, layer_state = layer(hidden, layer_state, state.position)
            new_layers.append(layer_state)
        weights = stretched_sigmoid(self.head(self.norm(hidden)))  # (b, frames, 52)
        new_state = FaceState(state.position + frames, history, tuple(new_layers))
        return weights, new_state
