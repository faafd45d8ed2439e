"""A windowed, causal Transformer-XL (Dai et al. 2019) as used by LLAniMAtion (arXiv 2405.08042,
section 3.2: "cross-attentive Transformer-XL").

What is kept from Transformer-XL:

- **segment-level recurrence**: each layer attends to its own segment plus a memory holding the
  previous hidden states of that layer's input; the memory is detached (no gradient flows
  into it) and is passed in and out of :meth:`TransformerXL.forward` explicitly, as a list of
  per-layer tensors (house style rule 5);
- **relative positional encoding**: the score between query frame ``i`` and key frame ``j`` is
  ``(q_i + u) . k_j + (q_i + v) . W_R R_{i-j}`` with sinusoidal ``R``, learned per-layer
  biases ``u`` (content) and ``v`` (position) and a per-layer projection ``W_R``.

What is fixed here so that streaming equals offline exactly: attention is causal with a
window of ``M`` frames: query frame ``i`` sees key frames ``j`` with ``i - M <= j <= i`` and
nothing else, and each layer's memory keeps exactly the last ``M`` frames of its input. A
layer's output at frame ``i`` then depends only on that layer's inputs at frames
``[i - M, i]``, all of which are in the memory or the current segment, so the output does not
depend on how the sequence is cut into segments (tested for chunks of 1 to 7 frames). Future
context is the job of the input encoder (see ``llanimation.py``), not of attention.

Optional cross-attention (for the ``cross`` fusion) uses the same relative, windowed, causal
rule between the query stream and a context stream whose last ``t`` frames are aligned with
the ``t`` query frames; the caller keeps the context's memory.

Axes: ``b`` batch, ``t`` query frames, ``k`` key frames (memory + segment), ``r`` relative
distances ``0..M``, ``d`` features, ``h`` heads, ``e`` features per head.
"""

from __future__ import annotations

import math

import torch
from einops import rearrange
from torch import nn


def keep_last(x: torch.Tensor, frames: int) -> torch.Tensor:
    """The last ``frames`` frames of ``x (b, t, d)`` (all of them if fewer; none if 0)."""
    return x[:, max(x.shape[1] - frames, 0) :]


def sinusoid_encodings(num_distances: int, width: int) -> torch.Tensor:
    """``(r, d)`` sinusoidal encodings of relative distances ``0..r-1`` (Vaswani et al.)."""
    distances = torch.arange(num_distances, dtype=torch.float32)[:, None]  # (r, 1)
    frequencies = torch.exp(
        torch.arange(0, width, 2, dtype=torch.float32) * (-math.log(10000.0) / width)
    )  # (ceil(d/2),)
    angles = distances * frequencies  # (r, ceil(d/2))
    encodings = torch.zeros(num_distances, width)
    encodings[:, 0::2] = torch.sin(angles)
    encodings[:, 1::2] = torch.cos(angles[:, : width // 2])
    return encodings


class RelativeAttention(nn.Module):
    """Multi-head attention with Transformer-XL relative positions and a causal window."""

    def __init__(self, width: int, heads: int, window: int, dropout: float):
        super().__init__()
        self.heads = heads
        self.window = window
        head_width = width // heads
        self.query = nn.Linear(width, width, bias=False)
        self.key_value = nn.Linear(width, 2 * width, bias=False)
        self.position = nn.Linear(width, width, bias=False)  # W_R
        self.content_bias = nn.Parameter(torch.zeros(heads, head_width))  # u
        self.position_bias = nn.Parameter(torch.zeros(heads, head_width))  # v
        self.output = nn.Linear(width, width)
        self.dropout = nn.Dropout(dropout)
        self.scale = head_width**-0.5

    def forward(self, x: torch.Tensor, keys: torch.Tensor, encodings: torch.Tensor) -> torch.Tensor:
        """``x (b, t, d)`` queries; ``keys (b, k, d)`` whose last ``t`` frames are the query
        frames' own times; ``encodings (r = window + 1, d)``. Returns ``(b, t, d)``."""
        t, k = x.shape[1], keys.shape[1]
        query = rearrange(self.query(x), "b t (h e) -> b h t e", h=self.heads)
        key, value = rearrange(
            self.key_value(keys), "b k (two h e) -> two b h k e", two=2, h=self.heads
        )
        position = rearrange(self.position(encodings), "r (h e) -> h r e", h=self.heads)

        content_scores = torch.einsum("bhte,bhke->bhtk", query + self.content_bias[:, None], key)
        position_scores = torch.einsum(
            "bhte,hre->bhtr", query + self.position_bias[:, None], position
        )
        # Distance from each query frame to each key frame, in frames: (t, k).
        query_times = torch.arange(k - t, k, device=x.device)
        distance = query_times[:, None] - torch.arange(k, device=x.device)[None, :]
        allowed = (distance >= 0) & (distance <= self.window)  # causal window
        index = distance.clamp(0, self.window).expand(*position_scores.shape[:2], t, k)
        position_scores = torch.gather(position_scores, -1, index)  # (b, h, t, k)

        scores = (content_scores + position_scores) * self.scale
        scores = scores.masked_fill(~allowed, float("-inf"))
        weights = self.dropout(torch.softmax(scores, dim=-1))
        attended = torch.einsum("bhtk,bhke->bhte", weights, value)
        return self.output(rearrange(attended, "b h t e -> b t (h e)"))


class FeedForward(nn.Sequential):
    def __init__(self, width: int, multiplier: int, dropout: float):
        super().__init__(
            nn.Linear(width, multiplier * width),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(multiplier * width, width),
        )


class TransformerXLLayer(nn.Module):
    """Pre-norm layer: relative self-attention over memory + segment, optional cross-attention
    to a context stream, feed-forward; each with a residual connection."""

    def __init__(
        self,
        width: int,
        heads: int,
        feedforward_multiplier: int,
        window: int,
        dropout: float,
        cross_attention: bool,
    ):
        super().__init__()
        self.self_norm = nn.LayerNorm(width)
        self.self_attention = RelativeAttention(width, heads, window, dropout)
        if cross_attention:
            self.cross_norm = nn.LayerNorm(width)
            self.context_norm = nn.LayerNorm(width)
            self.cross_attention = RelativeAttention(width, heads, window, dropout)
        else:
            self.cross_attention = None
        self.feedforward_norm = nn.LayerNorm(width)
        self.feedforward = FeedForward(width, feedforward_multiplier, dropout)
        self.dropout = nn.Dropout(dropout)

    def forward(
        self,
        x: torch.Tensor,
        memory: torch.Tensor,
        encodings: torch.Tensor,
        context: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``x (b, t, d)``, ``memory (b, m, d)`` earlier inputs of this layer,
        ``context (b, c, d)`` with its last ``t`` frames aligned to ``x``."""
        keys = self.self_norm(torch.cat([memory, x], dim=1))  # (b, m + t, d)
        x = x + self.dropout(self.self_attention(keys[:, memory.shape[1] :], keys, encodings))
        if self.cross_attention is not None:
            if context is None:
                raise ValueError("this layer cross-attends: pass a context stream")
            x = x + self.dropout(
                self.cross_attention(self.cross_norm(x), self.context_norm(context), encodings)
            )
        return x + self.dropout(self.feedforward(self.feedforward_norm(x)))


class TransformerXL(nn.Module):
    """A stack of :class:`TransformerXLLayer` with explicit, detached, fixed-length memory."""

    def __init__(
        self,
        width: int,
        depth: int,
        heads: int,
        feedforward_multiplier: int,
        memory_length: int,
        dropout: float = 0.0,
        cross_attention: bool = False,
    ):
        super().__init__()
        self.width = width
        self.memory_length = memory_length
        self.cross_attention = cross_attention
        self.layers = nn.ModuleList(
            TransformerXLLayer(
                width, heads, feedforward_multiplier, memory_length, dropout, cross_attention
            )
            for _ in range(depth)
        )
        self.final_norm = nn.LayerNorm(width)
        self.register_buffer(
            "encodings", sinusoid_encodings(memory_length + 1, width), persistent=False
        )

    def empty_memory(self, batch: int, like: torch.Tensor) -> list[torch.Tensor]:
        """Memory at the start of a sequence: zero frames per layer."""
        return [like.new_zeros(batch, 0, self.width) for _ in self.layers]

    def forward(
        self,
        x: torch.Tensor,
        memory: list[torch.Tensor] | None = None,
        context: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Process one segment.

        x: ``(b, t, d)`` the segment. memory: per-layer ``(b, m <= M, d)`` inputs of each layer
        at the ``m`` frames just before the segment, or None at the start of a sequence.
        context: ``(b, c, d)`` for cross-attention, its last ``t`` frames aligned with ``x``
        (the caller prepends the context's own memory).

        Returns ``(y (b, t, d), new_memory)`` where ``new_memory[l]`` holds the last
        ``min(M, m + t)`` frames of layer ``l``'s input, detached.
        """
        if memory is None:
            memory = self.empty_memory(x.shape[0], x)
        if len(memory) != len(self.layers):
            raise ValueError(f"memory has {len(memory)} layers, the model {len(self.layers)}")
        new_memory = []
        for layer, layer_memory in zip(self.layers, memory, strict=True):
            new_memory.append(
                keep_last(torch.cat([layer_memory, x], dim=1), self.memory_length).detach()
            )
            x = layer(x, layer_memory, self.encodings, context)
        return self.final_norm(x), new_memory
