"""Mamba selective state-space layer in plain PyTorch (Gu & Dao 2023, arXiv 2312.00752,
section 3 and Algorithm 2), as JambaTalk (arXiv 2408.01627) interleaves it with attention.

The selective scan, per channel ``e`` and state index ``n``::

    h_t = exp(delta_t A) * h_{t-1} + delta_t B_t x_t        y_t = C_t . h_t + D x_t

is written twice: :func:`selective_scan_loop`, the readable reference (a Python loop over
frames), and :func:`selective_scan_chunked`, which processes ``chunk`` frames at once: inside
a chunk ``h_t = exp(S_t) (h_0 + sum_{s <= t} exp(-S_s) delta_s B_s x_s)`` with ``S`` the
cumulative sum of ``delta A`` (two cumulative sums in float64), then carries ``h`` to the
next chunk. (A first version formed the ``(t, s)`` matrix ``exp(S_t - S_s)`` of each chunk:
exact in float32 but 10-20 times slower than the loop here.) Both take and return the
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


MAX_LOG_DECAY = 600.0  # exp(600) is finite in float64: chunks decaying further use the loop


def selective_scan_chunked(x, delta, A, B, C, D, state, chunk: int = 64):
    """Same result as :func:`selective_scan_loop`, ``chunk`` frames per vectorised step.

    Inside a chunk, with ``S_t = sum_{s <= t} delta_s A`` (float64),
    ``h_t = exp(S_t) * (h_0 + sum_{s <= t} exp(-S_s) delta_s B_s x_s)``: two cumulative sums
    instead of a loop. ``exp(-S)`` grows as the state decays, so a chunk whose decay exceeds
    ``exp(-600)`` (rare: long chunks with large ``delta``) is run by the loop instead."""
    outputs = []
    h = state
    for start in range(0, x.shape[1], chunk):
        xs, ds = x[:, start : start + chunk], delta[:, start : start + chunk]
        Bs, Cs = B[:, start : start + chunk], C[:, start : start + chunk]
        log_decay = torch.cumsum(ds.double()[..., None] * A.double(), dim=1)  # (b, L, e, n)
        if -log_decay[:, -1].min() > MAX_LOG_DECAY:
            y, h = selective_scan_loop(xs, ds, A, Bs, Cs, D, h)
            outputs.append(y)
            continue
        drive = (ds[..., None] * Bs[:, :, None, :] * xs[..., None]).double()  # (b, L, e, n)
        summed = h.double()[:, None] + torch.cumsum(torch.exp(-log_decay) * drive, dim=1)
        hs = (torch.exp(log_decay) * summed).to(x.dtype)  # (b, L, e, n)
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

    def __init__(
        self,
        width: int,
        state_dim: int,
        expand: int,
        conv_kernel: int,
        chunk: int = 64,
        scan: str = "loop",
    ):
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
        self.scan = scan  # "loop" or "chunked": the same numbers, different speed

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
