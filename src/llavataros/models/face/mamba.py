"""Mamba selective state-space layer in plain PyTorch (Gu & Dao 2023, arXiv 2312.00752,
section 3 and Algorithm 2), as JambaTalk (arXiv 2408.01627) interleaves it with attention.

The selective scan, per channel ``e`` and state index ``n``::

    h_t = exp(delta_t A) * h_{t-1} + delta_t B_t x_t        y_t = C_t . h_t + D x_t

is written twice: :func:`selective_scan_loop`, the readable reference (a Python loop over
frames), and :func:`selective_scan_chunked`, which processes ``chunk`` frames at once: inside
a chunk ``h_t = exp(S_t) h_0 + sum_{s <= t} exp(S_t - S_s) delta_s B_s x_s`` with ``S`` the
cumulative sum of ``delta A``, then carries ``h`` to the next chunk. Both take and return the
state, so a stream continues exactly where the offline pass would.
``benchmarks/face_scan.py`` measures which is faster on one thread.

Axes: ``b`` batch, ``t`` frames, ``d`` model width, ``e`` inner width, ``n`` state size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


def selective_scan_loop(x, delta, A, B, C, D, state):
    """Reference scan. x, delta ``(b, t, e)``; A ``(e, n)``; B, C ``(b, t, n)``; D ``(e,)``;
    state ``(b, e, n)``. Returns ``(y (b, t, e), last state (b, e, n))``."""
    outputs = []
    h = state
    for step in range(x.shape[1]):
        decay = torch.exp(delta[:, step, :, None] * A)  # (b, e, n)
        drive = delta[:, step, :, None] * B[:, step, None, :] * x[:, step, :, None]  # (b, e, n)
        h = decay * h + drive
        outputs.append((h * C[:, step, None, :]).sum(-1) + D * x[:, step])  # (b, e)
    if not outputs:
        return x.new_zeros(x.shape), h
    return torch.stack(outputs, dim=1), h


def selective_scan_chunked(x, delta, A, B, C, D, state, chunk: int = 16):
    """Same result as :func:`selective_scan_loop`, ``chunk`` frames per step."""
    outputs = []
    h = state
    for start in range(0, x.shape[1], chunk):
        xs, ds = x[:, start : start + chunk], delta[:, start : start + chunk]
        Bs, Cs = B[:, start : start + chunk], C[:, start : start + chunk]
        length = xs.shape[1]
        log_decay = torch.cumsum(ds[..., None] * A, dim=1)  # S: (b, L, e, n), decreasing
        drive = ds[..., None] * Bs[:, :, None, :] * xs[..., None]  # (b, L, e, n)
        # exp(S_t - S_s) for s <= t; masked before exp so nothing overflows
        gap = log_decay[:, :, None] - log_decay[:, None, :]  # (b, t=L, s=L, e, n)
        causal = torch.ones(length, length, dtype=torch.bool, device=x.device).tril()
        gap = gap.masked_fill(~causal[None, :, :, None, None], float("-inf"))
        hs = torch.exp(log_decay) * h[:, None] + torch.einsum("btsen,bsen->bten", gap.exp(), drive)
        outputs.append((hs * Cs[:, :, None, :]).sum(-1) + D * xs)  # (b, L, e)
        h = hs[:, -1]
    if not outputs:
        return x.new_zeros(x.shape), h
    return torch.cat(outputs, dim=1), h


@dataclass(frozen=True)
class MambaState:
    """What a Mamba layer carries between segments: the last ``k - 1`` convolution inputs
    ``(b, k - 1, e)`` and the scan state ``(b, e, n)``."""

    convolution: torch.Tensor
    scan: torch.Tensor


class MambaLayer(nn.Module):
    """Pre-norm residual Mamba block: ``x + out(scan(conv(in_x)) * silu(in_z))``."""

    def __init__(self, width: int, state_dim: int, expand: int, conv_kernel: int, chunk: int):
        super().__init__()
        inner = expand * width
        self.inner, self.state_dim, self.kernel, self.chunk = inner, state_dim, conv_kernel, chunk
        self.rank = max(1, math.ceil(width / 16))  # delta's low rank, as in Mamba
        self.norm = nn.LayerNorm(width)
        self.input = nn.Linear(width, 2 * inner)
        self.convolution = nn.Conv1d(inner, inner, conv_kernel, groups=inner)
        self.selection = nn.Linear(inner, self.rank + 2 * state_dim, bias=False)
        self.delta = nn.Linear(self.rank, inner)
        self.A_log = nn.Parameter(torch.log(torch.arange(1, state_dim + 1.0)).repeat(inner, 1))
        self.D = nn.Parameter(torch.ones(inner))
        self.output = nn.Linear(inner, width)
        with torch.no_grad():  # delta = softplus(bias) spread log-uniformly over [1e-3, 1e-1]
            target = torch.exp(torch.empty(inner).uniform_(math.log(1e-3), math.log(1e-1)))
            self.delta.bias.copy_(target + torch.log(-torch.expm1(-target)))
        self.scan = "chunked"  # or "loop": the same numbers, different speed

    def initial_state(self, batch: int) -> MambaState:
        weight = self.input.weight
        return MambaState(
            weight.new_zeros(batch, self.kernel - 1, self.inner),
            weight.new_zeros(batch, self.inner, self.state_dim),
        )

    def forward(self, x: torch.Tensor, state: MambaState) -> tuple[torch.Tensor, MambaState]:
        """``x (b, t, d)`` -> ``(b, t, d)`` and the state after the last frame."""
        xz = self.input(self.norm(x))  # (b, t, 2e)
        inner, gate = xz.chunk(2, dim=-1)  # (b, t, e) each
        padded = torch.cat([state.convolution, inner], dim=1)  # (b, k - 1 + t, e)
        u = F.silu(self.convolution(padded.transpose(1, 2)).transpose(1, 2))  # (b, t, e)
        selection = self.selection(u)
        low, B, C = selection.split([self.rank, self.state_dim, self.state_dim], dim=-1)
        delta = F.softplus(self.delta(low))  # (b, t, e)
        A = -torch.exp(self.A_log)  # (e, n)
        if self.scan == "loop":
            y, scan_state = selective_scan_loop(u, delta, A, B, C, self.D, state.scan)
        else:
            y, scan_state = selective_scan_chunked(
                u, delta, A, B, C, self.D, state.scan, self.chunk
            )
        y = y * F.silu(gate)
        new_state = MambaState(padded[:, padded.shape[1] - (self.kernel - 1) :], scan_state)
        return x + self.output(y), new_state
