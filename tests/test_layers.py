"""Shared layers: the frames-first temporal convolution is ``nn.Conv1d`` on either path."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from llavataros.models.layers import TemporalConvolution


@pytest.mark.parametrize("batch, frames", [(1, 20), (8, 20), (4, 97)])
def test_temporal_convolution_is_conv1d(batch, frames):
    torch.manual_seed(0)
    reference = nn.Conv1d(16, 12, 5)
    convolution = TemporalConvolution(16, 12, 5)
    convolution.load_state_dict(reference.state_dict())  # the same checkpoint keys
    rows = batch * (frames - 4)
    assert (rows <= TemporalConvolution.UNFOLD_ROWS) == (frames == 20)  # both paths are tested
    x = torch.randn(batch, frames, 16, requires_grad=True)
    ours = convolution(x)
    theirs = reference(x.transpose(1, 2)).transpose(1, 2)
    assert ours.shape == (batch, frames - 4, 12)
    assert torch.allclose(ours, theirs, atol=1e-5)
    (gradient,) = torch.autograd.grad(ours.square().sum(), x)
    (expected,) = torch.autograd.grad(theirs.square().sum(), x)
    assert torch.allclose(gradient, expected, atol=1e-4)
