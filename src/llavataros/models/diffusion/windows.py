"""Any-length generation in constant memory, and streaming with explicit state.

A sequence of ``T`` frames is sampled window by window (:func:`window_plan`): windows of
``window`` frames, each starting ``overlap`` frames before the previous one's output ended. The
first ``overlap`` frames of a window are already final (the previous window's output, its
*tail*). The denoiser receives the tail **clean, at diffusion time 0** (per-frame time), at
every step, and was trained to continue such known prefixes (``loss.py``): it samples
``p(new | known)`` directly, as motion-seed conditioning does in DiffuseStyleGesture and
DiffMotion.
The denoiser attends causally, so the known frames are exactly the past of the new ones.

Why not replacement inpainting (re-noising the known frames to the current step, RePaint /
SDEdit)? Measured with the *exact* denoiser of a smooth Gaussian process (the data of the seam
test): the mean squared speed at window joins was 3.5 to 7 times that inside windows (DDIM 8 to
50 steps), against 1 for known-prefix conditioning; replacement lets the new frames commit
before they see the clean past.

A window's output stops ``discard`` frames before its end (but the last window's): those frames
have no motion after them to attend to, and samples slow down there (the shipped weights: 0.43
of the mean speed the step before a join; ``benchmarks/seam_profile.py``); the next window
samples them again with motion after them. The new frames are then joined to the tail by
:func:`blend_join` over ``blend`` frames (without it the step into a window's first new frame
was 2.8 times the mean). Only the new frames are emitted; the tail and the generator
state are all that carries over (:class:`WindowState`), so memory does not grow with ``T``.

The random numbers come from one ``torch.Generator`` seeded with ``seed`` whose state is carried
from window to window: the same seed gives the same motion, and :class:`DiffusionStream`
(which samples a window as soon as its speech plus the lookahead has arrived) gives exactly the
frames of :func:`generate`.

Stream latency: a window's first new frame is final once the speech up to the window's end
plus ``lookahead`` has arrived: ``window - overlap + lookahead`` frames after its own speech
frame (``DiffusionConfig.stream_latency_frames``), plus the compute of one window.
Discarding frames does not add to it; it costs ``(window - overlap) / (window - overlap -
discard)`` times the compute.

Shapes: features ``(b, T, d)``, motion ``(b, T, m)`` in the model output layout
(root normalised by ``RootStatistics`` + 6D per joint), speaker ``(b,)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from llavataros.models.base import inference
from llavataros.models.diffusion.config import Prediction
from llavataros.models.diffusion.network import DiffusionDenoiser, Speech, slice_speech
from llavataros.models.diffusion.sampling import Denoiser, ddim_sample, guided
from llavataros.models.diffusion.schedule import NoiseSchedule


@dataclass(frozen=True)
class SamplerSettings:
    """How to sample: DDIM ``steps``, classifier-free ``guidance`` scale, DDIM ``eta``, the
    random ``seed`` and the ``temperature`` (scale of the initial noise: 1 samples the model's
    distribution, lower values trade diversity for calmer, more often still motion; the
    random draws are the same, so one seed at two temperatures gives related motion)."""

    steps: int = 8
    guidance: float = 1.0
    eta: float = 0.0
    seed: int = 0
    temperature: float = 1.0

    def __post_init__(self):
        if not isinstance(self.steps, int) or self.steps < 1:
            raise ValueError(f"steps must be a positive integer, got {self.steps!r}")
        if not self.guidance >= 0.0:
            raise ValueError(f"guidance must be >= 0, got {self.guidance!r}")
        if not 0.0 <= self.eta <= 1.0:
            raise ValueError(f"eta must be in [0, 1], got {self.eta!r}")
        if not 0.0 <= self.temperature <= 10.0:
            raise ValueError(f"temperature must be in [0, 10], got {self.temperature!r}")


def default_sampler(config) -> SamplerSettings:
    """The sampling settings a model's config gives (steps, guidance, temperature)."""
    return SamplerSettings(
        steps=config.steps, guidance=config.guidance, temperature=config.temperature
    )


@dataclass(frozen=True)
class WindowState:
    """What one window passes to the next: ``tail (b, overlap, m)`` the last ``overlap``
    normalised frames sampled (None before the first window) and the generator state."""

    tail: torch.Tensor | None
    rng_state: torch.Tensor

    @classmethod
    def start(cls, seed: int) -> WindowState:
        return cls(None, torch.Generator().manual_seed(int(seed)).get_state())


def window_plan(total: int, window: int, overlap: int, discard: int = 0) -> list[tuple[int, int]]:
    """``[(start, stop), ...]`` covering frames ``[0, total)``; each window after the first
    starts ``overlap + discard`` frames before the previous one stopped (``overlap`` before
    the previous one's output ended); the last may be shorter."""
    if not (0 <= overlap and 0 <= discard and overlap + discard < window):
        raise ValueError(
            f"need 0 <= overlap, 0 <= discard, overlap + discard < window, got overlap "
            f"{overlap}, discard {discard}, window {window}"
        )
    plan: list[tuple[int, int]] = []
    start = 0
    while total > 0:
        stop = min(start + window, total)
        plan.append((start, stop))
        if stop >= total:
            break
        start = stop - overlap - discard
    return plan


def join_frames(total: int, window: int, overlap: int, discard: int = 0) -> list[int]:
    """The first new frame of every window after the first (of :func:`window_plan`): where
    the output passes from one window's frames to the next one's."""
    return [start + overlap for start, _ in window_plan(total, window, overlap, discard)[1:]]


def sample_window(
    denoiser: Denoiser,
    shape: tuple[int, int, int],
    state: WindowState,
    overlap: int,
    schedule: NoiseSchedule,
    settings: SamplerSettings,
    prediction: Prediction = "v",
    discard: int = 0,
    blend: int = 0,
) -> tuple[torch.Tensor, WindowState]:
    """Sample one window of ``shape = (b, n, m)`` whose first ``len(state.tail)`` frames are
    known, drop its last ``discard`` frames and join the rest to the tail with
    :func:`blend_join` over ``blend`` frames. Returns ``(new frames (b, n - known - discard,
    m), next state)``; the next tail ends where the new frames do."""
    generator = torch.Generator().set_state(state.rng_state)
    noise = torch.randn(shape, generator=generator) * settings.temperature
    tail = state.tail
    known = 0 if tail is None else tail.shape[1]
    kept = shape[1] - discard
    if known >= kept:
        raise ValueError(
            f"a window of {shape[1]} frames has no new frame after {known} known and "
            f"{discard} discarded"
        )

    def with_known(z: torch.Tensor, time: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        z = torch.cat([tail, z[:, known:]], dim=1)  # (b, n, m): the known frames are clean
        frame_time = time[:, None].expand(-1, z.shape[1]).clone()  # (b, n)
        frame_time[:, :known] = 0.0
        return denoiser(z, frame_time, keep)

    predict = guided(with_known if known else denoiser, settings.guidance)
    sample = ddim_sample(
        predict, noise, schedule, settings.steps, prediction, settings.eta, generator
    )
    new = blend_join(tail, sample[:, known:kept], blend)
    if overlap:
        full = new if tail is None else torch.cat([tail, new], dim=1)
        next_tail = full[:, -overlap:]
    else:
        next_tail = None
    return new, WindowState(next_tail, generator.get_state())


def blend_join(tail: torch.Tensor | None, new: torch.Tensor, frames: int) -> torch.Tensor:
    """``new (b, k, m)`` shifted so that its first frame continues ``tail (b, t, m)`` at the
    tail's last velocity, the shift fading to nothing over ``frames`` frames (a quintic
    smoothstep, flat at both ends): inertialization, as game engines join two animations.

    Why: the x0 the network predicts for a window's first new frame is off from the known
    frame before it by about four frame-to-frame steps (it is predicted afresh, not copied;
    measured on the shipped model, ``benchmarks/seam_profile.py``), so without this every
    join jumps."""
    if frames == 0 or tail is None or tail.shape[1] == 0 or new.shape[1] == 0:
        return new
    last = tail[:, -1]
    velocity = last - tail[:, -2] if tail.shape[1] > 1 else torch.zeros_like(last)
    offset = last + velocity - new[:, 0]  # (b, m)
    x = (torch.arange(new.shape[1], dtype=new.dtype) / frames).clamp(max=1.0)
    weight = 1.0 - x**3 * (x * (6.0 * x - 15.0) + 10.0)  # (k,): 1 at the join, 0 from frames
    return new + offset[:, None, :] * weight[None, :, None]


def sample_long(
    denoiser_for: Callable[[int, int], Denoiser],
    batch: int,
    total: int,
    dim: int,
    window: int,
    overlap: int,
    schedule: NoiseSchedule,
    settings: SamplerSettings,
    prediction: Prediction = "v",
    discard: int = 0,
    blend: int = 0,
) -> torch.Tensor:
    """``(batch, total, dim)`` sampled window by window; ``denoiser_for(start, stop)`` gives the
    denoiser of frames ``[start, stop)``."""
    state = WindowState.start(settings.seed)
    pieces = []
    for start, stop in window_plan(total, window, overlap, discard):
        new, state = sample_window(
            denoiser_for(start, stop),
            (batch, stop - start, dim),
            state,
            overlap,
            schedule,
            settings,
            prediction,
            discard=0 if stop >= total else discard,
            blend=blend,
        )
        pieces.append(new)
    if not pieces:
        return torch.zeros(batch, 0, dim)
    return torch.cat(pieces, dim=1)


def network_denoiser(network: DiffusionDenoiser, speech: Speech, speaker: torch.Tensor) -> Denoiser:
    """The network as a denoiser callable with its speech and speaker bound."""

    def denoiser(z: torch.Tensor, time: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        return network(z, time, speech, speaker, keep)

    return denoiser


def _settings(network: DiffusionDenoiser, settings: SamplerSettings | None) -> SamplerSettings:
    c = network.config
    return settings or default_sampler(c)


def generate(
    network: DiffusionDenoiser,
    text: torch.Tensor | None,
    text_mask: torch.Tensor | None,
    audio: torch.Tensor,
    speaker: torch.Tensor,
    settings: SamplerSettings | None = None,
) -> torch.Tensor:
    """Motion ``(b, T, 3 + 6 j)`` (model output layout, denormalised) for whole sequences of
    speech features, window by window (``text`` may be None for an audio-only model)."""
    c = network.config
    settings = _settings(network, settings)
    network.check_speaker(speaker)
    schedule = NoiseSchedule(c.schedule)

    def denoiser_for(start: int, stop: int) -> Denoiser:
        speech = slice_speech(text, text_mask, audio, start, stop, c.lookbehind, c.lookahead)
        return network_denoiser(network, speech, speaker)

    with inference(network):
        sample = sample_long(
            denoiser_for,
            audio.shape[0],
            audio.shape[1],
            c.motion_dim,
            c.window,
            c.overlap,
            schedule,
            settings,
            c.prediction,
            c.discard_frames,
            c.blend_frames,
        )
        return network.denormalise(sample)


class DiffusionStream:
    """Push speech frames, receive motion frames as soon as their window is sampled.

    The state is explicit: :attr:`window_state` (tail + generator state), :attr:`start` (first
    frame of the next window), and the buffered speech from ``start - lookbehind`` on (at most
    ``window + lookahead + lookbehind`` frames plus the last push). Frames equal
    :func:`generate`'s for the same seed; :meth:`flush` ends the sequence.
    """

    def __init__(
        self,
        network: DiffusionDenoiser,
        speaker: torch.Tensor,
        settings: SamplerSettings | None = None,
    ):
        network.check_speaker(speaker)
        self.network = network
        self.speaker = speaker
        self.settings = _settings(network, settings)
        self.schedule = NoiseSchedule(network.config.schedule)
        self.reset()

    def reset(self) -> None:
        """Forget everything; the next push starts a new sequence with the same seed."""
        self.window_state = WindowState.start(self.settings.seed)
        self.start = 0  # first frame of the next window
        self.buffer_start = 0  # absolute frame of the buffer's first row
        self.buffer: tuple[torch.Tensor | None, torch.Tensor | None, torch.Tensor] | None = None
        self.frames_in = 0
        self.frames_out = 0

    @property
    def latency_frames(self) -> int:
        return self.network.config.stream_latency_frames

    @property
    def pending_frames(self) -> int:
        """Speech frames received whose motion is not out yet."""
        return self.frames_in - self.frames_out

    def push(
        self, text: torch.Tensor | None, text_mask: torch.Tensor | None, audio: torch.Tensor
    ) -> torch.Tensor:
        """Add ``t`` speech frames; return the motion frames now final ``(b, k, 3 + 6 j)``."""
        chunk = (text, text_mask, audio)
        if self.buffer is None:
            self.buffer = chunk
        else:
            self.buffer = tuple(
                None if old is None else torch.cat([old, new], dim=1)
                for old, new in zip(self.buffer, chunk, strict=True)
            )
        self.frames_in += audio.shape[1]
        return self._run(final=False)

    def flush(self) -> torch.Tensor:
        """End the sequence: the remaining frames (speech after the end is the boundary)."""
        output = self._run(final=True)
        self.reset()
        return output

    def _run(self, final: bool) -> torch.Tensor:
        c = self.network.config
        pieces = []
        with inference(self.network):
            while self.buffer is not None:
                stop = min(self.start + c.window, self.frames_in)
                # ready: its speech and lookahead are in; with discarded frames also one frame
                # after it, so that it is not the last window (which keeps its end)
                after = max(c.lookahead, 1) if c.discard_frames else c.lookahead
                ready = self.frames_in >= self.start + c.window + after
                last = final and stop >= self.frames_in
                tail = self.window_state.tail
                known = 0 if tail is None else tail.shape[1]
                if not (ready or final) or stop <= self.start + known:
                    break
                text, text_mask, audio = self.buffer
                offset = self.buffer_start
                speech = slice_speech(
                    text,
                    text_mask,
                    audio,
                    self.start - offset,
                    stop - offset,
                    c.lookbehind,
                    c.lookahead,
                )
                new, self.window_state = sample_window(
                    network_denoiser(self.network, speech, self.speaker),
                    (audio.shape[0], stop - self.start, c.motion_dim),
                    self.window_state,
                    c.overlap,
                    self.schedule,
                    self.settings,
                    c.prediction,
                    discard=0 if last else c.discard_frames,
                    blend=c.blend_frames,
                )
                pieces.append(self.network.denormalise(new))
                if last:
                    break
                self.start = stop - c.overlap - c.discard_frames
                self._trim()
        if not pieces:
            batch = self.speaker.shape[0]
            return torch.zeros(batch, 0, c.motion_dim)
        output = torch.cat(pieces, dim=1)
        self.frames_out += output.shape[1]
        return output

    def _trim(self) -> None:
        """Drop buffered speech no later window reads (before ``start - lookbehind``)."""
        keep_from = max(self.start - self.network.config.lookbehind, 0)
        drop = keep_from - self.buffer_start
        if drop > 0:
            self.buffer = tuple(None if x is None else x[:, drop:].clone() for x in self.buffer)
            self.buffer_start = keep_from
