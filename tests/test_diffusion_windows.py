"""Any-length and streaming sampling (models/diffusion/windows.py): seeds, stream == offline,
window plan, and seamless joins (joint speed at joins distributed as inside windows)."""

from __future__ import annotations

import pytest
import torch

from diffusion_helpers import features, randomised, tiny_config
from llavataros.models.diffusion.schedule import NoiseSchedule
from llavataros.models.diffusion.windows import (
    DiffusionStream,
    SamplerSettings,
    blend_join,
    generate,
    join_frames,
    sample_long,
    window_plan,
)


def test_window_plan():
    assert window_plan(0, 10, 3) == []
    assert window_plan(7, 10, 3) == [(0, 7)]
    assert window_plan(10, 10, 3) == [(0, 10)]
    assert window_plan(11, 10, 3) == [(0, 10), (7, 11)]
    assert window_plan(24, 10, 3) == [(0, 10), (7, 17), (14, 24)]
    assert window_plan(25, 10, 0) == [(0, 10), (10, 20), (20, 25)]
    with pytest.raises(ValueError):
        window_plan(5, 4, 4)
    # discarding 2 frames: each window starts overlap + discard before the previous one stops
    assert window_plan(24, 10, 3, 2) == [(0, 10), (5, 15), (10, 20), (15, 24)]
    with pytest.raises(ValueError, match="discard"):
        window_plan(20, 10, 6, 4)
    assert join_frames(24, 10, 3, 2) == [8, 13, 18]  # each window's first new frame


def _ends_marked(discard: int, window: int = 10, overlap: int = 3):
    """A denoiser (x0 prediction) whose answer is 1 except on the last 2 frames of its window,
    where it is 0: the output shows which windows' ends were kept."""

    def denoiser_for(start: int, stop: int):
        def denoiser(z, time, keep):
            x0 = torch.ones_like(z)
            if stop - start == window:  # a full window: mark its end
                x0[:, -2:] = 0.0
            return x0

        return denoiser

    settings = SamplerSettings(steps=3, seed=0)
    motion = sample_long(denoiser_for, 1, 34, 1, window, overlap, SCHEDULE, settings, "x0", discard)
    return motion[0, :, 0]


def test_discarded_frames_are_sampled_again_by_the_next_window():
    kept = _ends_marked(discard=0)
    assert torch.nonzero(kept == 0).flatten().tolist() == [8, 9, 15, 16, 22, 23, 29, 30]
    # windows (0, 10), (5, 15), ..., (20, 30) and the short last one (25, 34), which marks none
    assert torch.equal(_ends_marked(discard=2), torch.ones(34))  # no window end survives
    # windows (0, 10), (6, 16), ..., (24, 34): each keeps its second last frame, the last both
    discard_one = torch.nonzero(_ends_marked(discard=1) == 0).flatten().tolist()
    assert discard_one == [8, 14, 20, 26, 32, 33]


@pytest.mark.parametrize("eta", [0.0, 1.0])
def test_same_seed_same_motion_two_seeds_differ(eta):
    network = randomised(tiny_config())
    text, mask, audio, speaker = features(network.config, 37)
    run = {
        seed: generate(network, text, mask, audio, speaker, SamplerSettings(3, 1.5, eta, seed))
        for seed in (7, 8)
    }
    again = generate(network, text, mask, audio, speaker, SamplerSettings(3, 1.5, eta, 7))
    torch.testing.assert_close(again, run[7], rtol=0, atol=0)
    assert run[7].shape == (2, 37, network.config.motion_dim)
    per_frame = (run[7] - run[8]).abs().amax(dim=(0, 2))
    assert per_frame.min() > 1e-3  # every frame, every window differs


def test_temperature_scales_the_initial_noise():
    network = randomised(tiny_config())
    text, mask, audio, speaker = features(network.config, 25)

    def sample(seed: int, temperature: float | None = None, eta: float = 0.0) -> torch.Tensor:
        settings = SamplerSettings(3, 1.0, eta, seed)
        if temperature is not None:
            settings = SamplerSettings(3, 1.0, eta, seed, temperature)
        return generate(network, text, mask, audio, speaker, settings)

    # 1 is plain sampling, the same random draws as before the option existed
    torch.testing.assert_close(sample(7, 1.0), sample(7), rtol=0, atol=0)
    # 0 with deterministic DDIM: no noise at all, so the seed no longer matters
    torch.testing.assert_close(sample(7, 0.0), sample(8, 0.0), rtol=0, atol=0)
    assert (sample(7, 0.5) - sample(7)).abs().max() > 1e-3
    assert (sample(7, 0.5) - sample(7, 0.0)).abs().max() > 1e-3
    for bad in (-0.1, float("nan"), 11.0):
        with pytest.raises(ValueError, match="temperature"):
            SamplerSettings(temperature=bad)


@pytest.mark.parametrize(
    "use_text, attention_lookahead, discard, lookahead, blend",
    [
        (True, 0, 0, 3, 0),
        (False, 0, 0, 3, 0),
        (True, 3, 0, 3, 0),
        (True, 3, 5, 3, 4),
        (True, 0, 5, 0, 0),
    ],
)
@pytest.mark.parametrize("chunk", [1, 5, 23, 100])
@pytest.mark.parametrize("total", [16, 17, 45])
def test_stream_equals_offline(
    chunk, total, use_text, attention_lookahead, discard, lookahead, blend
):
    config = tiny_config(
        use_text=use_text,
        attention_lookahead=attention_lookahead,
        discard_frames=discard,
        lookahead=lookahead,
        blend_frames=blend,
    )
    network = randomised(config)
    c = network.config
    text, mask, audio, speaker = features(c, total)
    if not use_text:
        text = mask = None
    settings = SamplerSettings(steps=2, guidance=2.0, seed=3)
    offline = generate(network, text, mask, audio, speaker, settings)
    stream = DiffusionStream(network, speaker, settings)
    pieces, buffered = [], []
    for start in range(0, total, chunk):
        part = slice(start, start + chunk)
        out = stream.push(
            None if text is None else text[:, part],
            None if mask is None else mask[:, part],
            audio[:, part],
        )
        pieces.append(out)
        buffered.append(stream.buffer[2].shape[1])
        assert stream.frames_in - stream.frames_out <= c.window + c.lookahead + chunk
    pieces.append(stream.flush())
    torch.testing.assert_close(torch.cat(pieces, dim=1), offline, rtol=0, atol=1e-6)
    assert max(buffered) <= c.lookbehind + c.window + c.lookahead + chunk  # bounded memory


def test_stream_emits_a_window_once_its_lookahead_arrives():
    network = randomised(tiny_config())
    c = network.config  # window 16, overlap 4, lookahead 3
    text, mask, audio, speaker = features(c, 60)
    stream = DiffusionStream(network, speaker, SamplerSettings(steps=1))
    emitted = []
    for frame in range(60):
        out = stream.push(
            text[:, frame : frame + 1], mask[:, frame : frame + 1], audio[:, frame : frame + 1]
        )
        emitted.append(out.shape[1])
    ready = [frame + 1 for frame, count in enumerate(emitted) if count]
    assert ready == [19, 31, 43, 55]  # window end + lookahead: 16 + 3, then every hop of 12
    assert emitted[18] == 16 and emitted[30] == 12
    assert stream.flush().shape[1] == 60 - 52


def test_blend_join_continues_the_tail_and_fades_out():
    time = torch.arange(12, dtype=torch.float32)
    line = torch.stack([0.5 * time, -time], dim=-1)[None]  # (1, 12, 2): constant velocity
    tail, following = line[:, :4], line[:, 4:]
    offset = torch.tensor([3.0, -1.0])
    joined = blend_join(tail, following + offset, frames=5)
    torch.testing.assert_close(joined[:, 0], line[:, 4])  # continues at the tail's velocity
    torch.testing.assert_close(joined[:, 5:], following[:, 5:] + offset)  # untouched from 5 on
    shift = (following + offset - joined)[0, :, 0] / offset[0]  # 1 at the join, then 0
    assert shift[0] == 1.0 and shift[5] == 0.0 and bool((shift.diff() <= 0).all())
    assert 0.0 < shift[2] < 1.0 and abs(shift[1] - 1.0) < 0.1  # flat at the start
    assert torch.equal(blend_join(tail, following + offset, frames=0), following + offset)
    assert torch.equal(blend_join(None, following, frames=5), following)


def test_discarding_frames_adds_compute_but_no_latency():
    network = randomised(tiny_config(discard_frames=2))
    c = network.config  # window 16, overlap 4, lookahead 3: a window adds 16 - 4 - 2 frames
    assert c.hop == 10 and c.stream_latency_frames == 16 - 4 + 3
    text, mask, audio, speaker = features(c, 60)
    stream = DiffusionStream(network, speaker, SamplerSettings(steps=1))
    emitted = []
    for frame in range(60):
        part = slice(frame, frame + 1)
        emitted.append(stream.push(text[:, part], mask[:, part], audio[:, part]).shape[1])
    ready = [frame + 1 for frame, count in enumerate(emitted) if count]
    assert ready == [19, 29, 39, 49, 59]  # as soon as without discarding, then every 10
    assert emitted[18] == 14 and emitted[28] == 10
    assert stream.flush().shape[1] == 60 - 54
    # the first new frame of a window still waits window - overlap + lookahead frames: the
    # window (10, 26) gives frames 14-23 once frame 28 is in
    assert 28 - 14 == c.stream_latency_frames - 1


# -- seams ------------------------------------------------------------------------------------

SCHEDULE = NoiseSchedule()


def _kernel(frames: int, length: float = 4.0) -> torch.Tensor:
    index = torch.arange(frames, dtype=torch.float64)
    distance = index[:, None] - index[None, :]
    return torch.exp(-(distance**2) / (2 * length**2)) + 1e-6 * torch.eye(frames).double()


def gaussian_process_denoiser(start: int, stop: int):
    """The exact v-denoiser of a smooth Gaussian process over the window's frames (squared
    exponential covariance, 4 frames), conditioned on the known frames (time 0) it is given:
    what a perfectly trained model would predict."""
    covariance = _kernel(stop - start)

    def denoiser(z, time, keep):
        z = z.double()
        if time.ndim == 1:
            time = time[:, None].expand(-1, z.shape[1])
        known = int((time[0] == 0).sum())
        alpha, sigma = SCHEDULE.alpha_sigma(time[0, -1].double())
        k_kk, k_uk, k_uu = (
            covariance[:known, :known],
            covariance[known:, :known],
            covariance[known:, known:],
        )
        gain = k_uk @ torch.linalg.inv(k_kk) if known else k_uk
        mean = torch.einsum("uk,bkm->bum", gain, z[:, :known])  # prior of the new frames
        spread = k_uu - gain @ k_uk.T if known else k_uu
        eye = torch.eye(len(spread), dtype=torch.float64)
        wiener = alpha * spread @ torch.linalg.inv(alpha**2 * spread + sigma**2 * eye)
        x0 = mean + torch.einsum("ij,bjm->bim", wiener, z[:, known:] - alpha * mean)
        noise = (z[:, known:] - alpha * x0) / sigma
        v = torch.zeros_like(z)
        v[:, known:] = alpha * noise - sigma * x0
        return v.float()

    return denoiser


def seam_ratio(motion: torch.Tensor, window: int, overlap: int) -> tuple[float, float]:
    """(mean squared speed at window joins / inside, same for the 90th percentile of speed)."""
    plan = window_plan(motion.shape[1], window, overlap)
    speed = motion.diff(dim=1).abs()  # (b, T - 1, m); speed[:, i] from frame i to i + 1
    at_join = torch.zeros(speed.shape[1], dtype=torch.bool)
    at_join[[stop - 1 for _, stop in plan[:-1]]] = True
    joins, inside = speed[:, at_join].flatten(), speed[:, ~at_join].flatten()
    mean_ratio = (joins.square().mean() / inside.square().mean()).item()
    tail_ratio = (joins.quantile(0.9) / inside.quantile(0.9)).item()
    return mean_ratio, tail_ratio


@pytest.mark.parametrize("overlap", [1, 4, 10])
def test_joins_move_like_the_inside_of_windows(overlap):
    """With the exact denoiser of a smooth process, speed at window joins follows the inside
    distribution; naive independent windows (overlap 0) jump at every join."""
    settings = SamplerSettings(steps=50, seed=0)
    window = 40
    motion = sample_long(
        gaussian_process_denoiser, 300, 200, 1, window, overlap, SCHEDULE, settings
    )
    mean_ratio, tail_ratio = seam_ratio(motion, window, overlap)
    assert 0.8 < mean_ratio < 1.2 and 0.85 < tail_ratio < 1.15

    naive = sample_long(gaussian_process_denoiser, 300, 200, 1, window, 0, SCHEDULE, settings)
    assert seam_ratio(naive, window, 0)[0] > 10  # what the test catches


@pytest.mark.slow
def test_trained_network_joins_windows_without_seams():
    """A tiny network trained (800 steps, ~40 s) on windows of a smooth process, with known
    prefixes as the loss gives them: at its joins the speed is distributed as inside its
    windows; the same weights sampling independent windows jump at every join."""
    import dataclasses

    from llavataros.models.diffusion.loss import diffusion_loss
    from llavataros.models.diffusion.network import DiffusionDenoiser, slice_speech

    window, overlap, batch, steps = 16, 4, 64, 800
    config = tiny_config(num_joints=1, use_text=False, window=window, overlap=overlap, width=32)
    torch.manual_seed(0)
    network = DiffusionDenoiser(config)
    cholesky = torch.linalg.cholesky(_kernel(window, 3.0)).float()
    generator = torch.Generator().manual_seed(0)
    optimiser = torch.optim.Adam(network.parameters(), lr=2e-3)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, 2e-3, total_steps=steps)
    audio = torch.zeros(batch, window, config.audio_dim)
    speech = slice_speech(None, None, audio, 0, window, config.lookbehind, config.lookahead)
    speaker = torch.zeros(batch, dtype=torch.long)
    for _ in range(steps):
        white = torch.randn(batch, window, config.motion_dim, generator=generator)
        motion = torch.einsum("ij,bjm->bim", cholesky, white)
        loss, _ = diffusion_loss(network, motion, speech, speaker, generator)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()
    network.eval()

    count, frames = 100, 80
    audio = torch.zeros(count, frames, config.audio_dim)
    speaker = torch.zeros(count, dtype=torch.long)
    settings = SamplerSettings(steps=16, seed=1)
    motion = generate(network, None, None, audio, speaker, settings)
    mean_ratio, tail_ratio = seam_ratio(motion, window, overlap)
    assert 0.75 < mean_ratio < 1.33 and 0.8 < tail_ratio < 1.25

    independent = DiffusionDenoiser(dataclasses.replace(config, overlap=0))
    independent.load_state_dict(network.state_dict())
    naive = generate(independent.eval(), None, None, audio, speaker, settings)
    assert seam_ratio(naive, window, 0)[0] > 3
