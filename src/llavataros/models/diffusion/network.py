"""Transformer denoiser with adaLN-Zero conditioning (DiffMotion-v2, arXiv 2308.05995;
adaLN-Zero from DiT, Peebles & Xie 2023).

Input per call: a window of noisy motion ``z (b, n, m)`` (normalised, see below), the
diffusion time ``t (b,)`` in ``[0, 1]``, the window's :class:`Speech` and the speaker id.
Output: the prediction (v by default, see ``schedule.py``) ``(b, n, m)``.

Conditioning:

- **frame-aligned speech** (DiffMotion-v2 uses WavLM features here: pass the rows of
  ``features.audio.TransformersAudioEncoder`` as ``audio``, with ``audio_dim`` its width):
  per frame, ``audio`` (and the layer-normalised word vector where ``text_mask`` is set, a
  learned "no word" vector elsewhere, unless ``use_text`` is False) are projected to the
  width, then a temporal convolution over speech frames ``[i - B, i + A]`` (``lookbehind``,
  ``lookahead``) mixes in the future speech a gesture anticipates; the result is
  added to every motion token. Speech outside the sequence is a learned ``boundary`` vector;
- **conditioning vector per frame** = diffusion-time embedding + speaker embedding + pooled
  speech (the mean of the encoded speech over the ``pool_frames`` frames up to ``i``). Each
  block maps it to a shift, scale and gate for its attention and its MLP; these maps start at
  zero, so every block starts as the identity (adaLN-Zero);
- **classifier-free guidance**: where ``keep`` is False the encoded speech is replaced by a
  learned null vector (the speaker stays), which training does with probability
  ``condition_dropout``.

**Known frames**: the diffusion time may be given per frame; a frame at time 0 is clean and
known (the overlap with the previous window, see ``windows.py``). Training shows the model
such prefixes (``loss.py``), so it learns the continuation ``p(new | known)`` directly.

Streaming structure: motion tokens attend **causally with a fixed lookahead** of ``L =
attention_lookahead`` tokens per layer, and the speech convolution reads ``A`` future speech
frames. With ``L = 0`` output frame ``i`` depends on ``z[:i + 1]`` and on speech up to ``i + A``,
in every call and so in a whole sampling run. With ``L > 0`` one call reaches ``L`` tokens
further per layer, and the sampling steps carry that to the end of the window: a window's
frames depend on its speech up to its end plus ``A``. Either way the stream samples a window
once that speech has arrived, so ``L`` adds no latency (``windows.py``). Without token
lookahead a frame is denoised without the noisy frames after it, which its neighbour does see.

Motion normalisation: buffers ``motion_mean`` / ``motion_std`` ``(m,)`` (set from the training
data with :meth:`DiffusionDenoiser.set_motion_statistics`, saved with the weights) map the
model output layout to unit scale, where the noise lives.

Axes: ``b`` batch, ``n`` frames of the window, ``s`` speech frames with context
(``before + n + after``), ``m`` motion features (``3 + 6 j``), ``w`` width, ``h`` heads.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from llavataros.errors import InputError
from llavataros.models.diffusion.config import DiffusionConfig
from llavataros.models.layers import TemporalConvolution


@dataclass(frozen=True)
class Speech:
    """Speech features of one window with context.

    text ``(b, s, text_dim)`` (ignored when the model is audio-only; may then be None),
    text_mask ``(b, s)`` bool (True where a word covers the frame), audio ``(b, s, audio_dim)``;
    ``s = before + n + after``: ``before`` (<= lookbehind) frames precede the window, ``after``
    (<= lookahead) follow it; fewer than the model reads means the sequence starts/ends there.
    """

    text: torch.Tensor | None
    text_mask: torch.Tensor | None
    audio: torch.Tensor
    before: int = 0
    after: int = 0

    @property
    def frames(self) -> int:
        return self.audio.shape[1] - self.before - self.after


def slice_speech(
    text: torch.Tensor | None,
    text_mask: torch.Tensor | None,
    audio: torch.Tensor,
    start: int,
    stop: int,
    lookbehind: int,
    lookahead: int,
) -> Speech:
    """The :class:`Speech` of window ``[start, stop)`` of whole-sequence features
    ``(b, T, d)``, with as much context as the sequence has (up to ``lookbehind`` /
    ``lookahead`` frames)."""
    first = max(start - lookbehind, 0)
    last = min(stop + lookahead, audio.shape[1])
    return Speech(
        None if text is None else text[:, first:last],
        None if text_mask is None else text_mask[:, first:last],
        audio[:, first:last],
        before=start - first,
        after=last - stop,
    )


def causal_mask(frames: int, lookahead: int = 0, device=None) -> torch.Tensor:
    """``(n, n)`` bool, True where query frame ``i`` may attend key frame ``j``:
    ``j <= i + lookahead``."""
    index = torch.arange(frames, device=device)
    return index[None, :] <= index[:, None] + lookahead


def sinusoidal(values: torch.Tensor, dim: int, scale: float = 1.0) -> torch.Tensor:
    """``(...,)`` -> ``(..., dim)`` sine/cosine features at geometric frequencies."""
    half = dim // 2
    frequencies = torch.exp(
        -math.log(10000.0) * torch.arange(half, device=values.device, dtype=torch.float32) / half
    )
    angles = values.float()[..., None] * scale * frequencies
    return torch.cat([torch.sin(angles), torch.cos(angles)], dim=-1)


def modulate(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    return x * (1 + scale) + shift


class AdaLNZeroBlock(nn.Module):
    """Pre-norm transformer block whose norms are modulated per frame by the conditioning
    vector, with gated residuals; the modulation starts at zero (the block is the identity)."""

    def __init__(self, width: int, heads: int, multiplier: int, dropout: float):
        super().__init__()
        self.heads = heads
        self.dropout = dropout
        self.norm1 = nn.LayerNorm(width, elementwise_affine=False, eps=1e-6)
        self.qkv = nn.Linear(width, 3 * width)
        self.out = nn.Linear(width, width)
        self.norm2 = nn.LayerNorm(width, elementwise_affine=False, eps=1e-6)
        self.mlp = nn.Sequential(
            nn.Linear(width, multiplier * width),
            nn.GELU(approximate="tanh"),
            nn.Dropout(dropout),
            nn.Linear(multiplier * width, width),
        )
        self.modulation = nn.Linear(width, 6 * width)
        nn.init.zeros_(self.modulation.weight)
        nn.init.zeros_(self.modulation.bias)

    def forward(self, x: torch.Tensor, condition: torch.Tensor, mask: torch.Tensor):
        """x ``(b, n, w)``, condition ``(b, n, w)`` (already through SiLU), mask ``(n, n)``."""
        shift1, scale1, gate1, shift2, scale2, gate2 = self.modulation(condition).chunk(6, -1)
        q, k, v = self.qkv(modulate(self.norm1(x), shift1, scale1)).chunk(3, dim=-1)
        b, n, w = q.shape
        q, k, v = (y.view(b, n, self.heads, w // self.heads).transpose(1, 2) for y in (q, k, v))
        attended = F.scaled_dot_product_attention(
            q, k, v, attn_mask=mask, dropout_p=self.dropout if self.training else 0.0
        )  # (b, h, n, w / h)
        attended = attended.transpose(1, 2).reshape(b, n, w)
        x = x + gate1 * self.out(attended)
        return x + gate2 * self.mlp(modulate(self.norm2(x), shift2, scale2))


class DiffusionDenoiser(nn.Module):
    """Noisy motion window + time + speech + speaker -> prediction ``(b, n, m)``."""

    def __init__(self, config: DiffusionConfig):
        super().__init__()
        self.config = c = config
        w = c.width
        self.motion_in = nn.Linear(c.motion_dim, w)
        self.audio_in = nn.Linear(c.audio_dim, w)
        if c.use_text:
            self.no_word = nn.Parameter(torch.zeros(c.text_dim))
            self.text_norm = nn.LayerNorm(c.text_dim)
            self.text_in = nn.Linear(c.text_dim, w)
        self.boundary = nn.Parameter(0.02 * torch.randn(w))  # speech before/after the sequence
        self.speech_convolution = TemporalConvolution(w, w, c.lookbehind + 1 + c.lookahead)
        self.null_speech = nn.Parameter(0.02 * torch.randn(w))  # the dropped condition (CFG)
        self.speaker_embedding = nn.Embedding(c.num_speakers, w)
        self.time_mlp = nn.Sequential(nn.Linear(w, w), nn.SiLU(), nn.Linear(w, w))
        self.pool_projection = nn.Linear(w, w)
        self.blocks = nn.ModuleList(
            AdaLNZeroBlock(w, c.heads, c.feedforward_multiplier, c.dropout) for _ in range(c.depth)
        )
        self.final_norm = nn.LayerNorm(w, elementwise_affine=False, eps=1e-6)
        self.final_modulation = nn.Linear(w, 2 * w)
        self.head = nn.Linear(w, c.motion_dim)
        for layer in (self.final_modulation, self.head):  # DiT: the output starts at zero
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)
        self.register_buffer("motion_mean", torch.zeros(c.motion_dim))
        self.register_buffer("motion_std", torch.ones(c.motion_dim))

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    # -- motion normalisation -------------------------------------------------------------
    def set_motion_statistics(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        """Per-feature mean and standard deviation ``(m,)`` of training motion (model layout)."""
        with torch.no_grad():
            self.motion_mean.copy_(torch.as_tensor(mean, dtype=torch.float32))
            self.motion_std.copy_(torch.as_tensor(std, dtype=torch.float32).clamp_min(1e-3))

    def normalise(self, motion: torch.Tensor) -> torch.Tensor:
        return (motion - self.motion_mean) / self.motion_std

    def denormalise(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.motion_std + self.motion_mean

    # -- conditions -----------------------------------------------------------------------
    def check_speaker(self, speaker: torch.Tensor) -> None:
        count = self.config.num_speakers
        if speaker.numel() and (speaker.min() < 0 or speaker.max() >= count):
            bad = speaker[(speaker < 0) | (speaker >= count)][0].item()
            raise InputError(
                None, f"unknown speaker id {bad}: the model knows {count} speakers (0..{count - 1})"
            )

    def encode_speech(self, speech: Speech, keep: torch.Tensor | None) -> torch.Tensor:
        """Encoded frame-aligned speech ``(b, n, w)``; null where ``keep (b,)`` is False."""
        c = self.config
        if speech.before > c.lookbehind or speech.after > c.lookahead:
            raise ValueError(
                f"speech context ({speech.before} before, {speech.after} after) exceeds the "
                f"model's ({c.lookbehind}, {c.lookahead})"
            )
        frames = speech.frames
        features = self.audio_in(speech.audio)  # (b, s, w)
        if c.use_text:
            if speech.text is None or speech.text_mask is None:
                raise ValueError("this model reads word vectors: speech.text is required")
            text = torch.where(speech.text_mask[..., None].bool(), speech.text, self.no_word)
            features = features + self.text_in(self.text_norm(text))
        b, _, w = features.shape
        before = self.boundary.expand(b, c.lookbehind - speech.before, w)
        after = self.boundary.expand(b, c.lookahead - speech.after, w)
        padded = torch.cat([before, features, after], dim=1)  # (b, B + n + A, w)
        convolved = self.speech_convolution(padded)  # (b, n, w)
        own = padded[:, c.lookbehind : c.lookbehind + frames]
        encoded = own + F.gelu(convolved)
        if keep is not None:
            encoded = torch.where(keep[:, None, None], encoded, self.null_speech)
        return encoded

    def pooled(self, encoded: torch.Tensor) -> torch.Tensor:
        """Mean of ``encoded (b, n, w)`` over the ``pool_frames`` frames up to each frame."""
        pool = self.config.pool_frames
        total = F.pad(encoded.cumsum(dim=1), (0, 0, 1, 0))  # (b, n + 1, w); total[i] = sum[:i]
        index = torch.arange(1, encoded.shape[1] + 1, device=encoded.device)
        start = (index - pool).clamp_min(0)
        count = (index - start).to(encoded.dtype)[None, :, None]
        return (total[:, index] - total[:, start]) / count

    def forward(
        self,
        z: torch.Tensor,
        time: torch.Tensor,
        speech: Speech,
        speaker: torch.Tensor,
        keep: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """z ``(b, n, m)`` noisy normalised motion, time ``(b,)`` or per frame ``(b, n)`` in
        [0, 1] (0: the frame is known, ``z`` is clean there), speech of the same ``n`` frames,
        speaker ``(b,)`` long, keep ``(b,)`` bool (False: null condition).

        Returns the prediction ``(b, n, m)``."""
        b, n, m = z.shape
        if m != self.config.motion_dim:
            raise ValueError(f"z must be (b, n, {self.config.motion_dim}), got {tuple(z.shape)}")
        if speech.frames != n or speech.audio.shape[0] != b:
            raise ValueError(
                f"speech covers ({speech.audio.shape[0]}, {speech.frames}) frames, z ({b}, {n})"
            )
        if speaker.shape != (b,):
            raise ValueError(f"speaker must be ({b},), got {tuple(speaker.shape)}")
        self.check_speaker(speaker)
        if time.shape not in ((b,), (b, n)):
            raise ValueError(f"time must be ({b},) or ({b}, {n}), got {tuple(time.shape)}")
        w = self.config.width
        encoded = self.encode_speech(speech, keep)  # (b, n, w)
        frame_time = time[:, None] if time.ndim == 1 else time  # (b, 1 or n)
        step = self.time_mlp(sinusoidal(frame_time, w, scale=1000.0))  # (b, 1 or n, w)
        condition = step + self.speaker_embedding(speaker)[:, None]  # (b, 1 or n, w)
        condition = F.silu(condition + self.pool_projection(self.pooled(encoded)))  # (b, n, w)
        position = sinusoidal(torch.arange(n, device=z.device), w)  # (n, w)
        x = self.motion_in(z) + encoded + position  # (b, n, w)
        mask = causal_mask(n, self.config.attention_lookahead, device=z.device)
        for block in self.blocks:
            x = block(x, condition, mask)
        shift, scale = self.final_modulation(condition).chunk(2, dim=-1)
        return self.head(modulate(self.final_norm(x), shift, scale))
