"""Layers shared by the model families."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class TemporalConvolution(nn.Conv1d):
    """A convolution over frames of ``(b, t, d)`` inputs (frames first, as the models keep
    them), giving ``(b, t - kernel + 1, out)``: every frame reads the ``kernel`` frames from
    its own on.

    It is :class:`torch.nn.Conv1d` (same parameters and checkpoint keys). For the few frames of
    a stream push it is computed as one matrix product over unfolded windows: PyTorch's CPU
    convolution takes a slow path there (0.60 ms for 3 frames of width 160 and kernel 18 on
    this project's machine, against 0.12 ms). From ``UNFOLD_ROWS`` output rows on, the
    convolution itself is faster. Both give the same result to float rounding.
    """

    UNFOLD_ROWS = 128  # batch x output frames up to which the matrix product is faster

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int):
        super().__init__(in_channels, out_channels, kernel_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (b, t, d) -> (b, t - k + 1, out)
        kernel = self.kernel_size[0]
        if x.shape[0] * (x.shape[1] - kernel + 1) > self.UNFOLD_ROWS:
            return super().forward(x.transpose(1, 2)).transpose(1, 2)
        windows = x.unfold(1, kernel, 1)  # (b, t - k + 1, d, k)
        weight = self.weight.flatten(1)  # (out, d * k), the same (d, k) order
        return F.linear(windows.flatten(2), weight, self.bias)
