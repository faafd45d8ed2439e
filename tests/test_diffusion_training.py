"""Training the diffusion model (models/diffusion/loss.py) on known toy problems: a two-mode
distribution a regressor would average, progressive distillation to one step, the loss going
down with geometric terms, and safetensors checkpoints."""

from __future__ import annotations

import copy
import json
from dataclasses import replace

import pytest
import torch

from diffusion_helpers import TOY_FRAMES, features, randomised, tiny_config, toy_batch
from diffusion_helpers import toy_teacher as trained_toy_teacher
from llavataros.errors import InputError
from llavataros.models.base import FrameInputs, ModelStream
from llavataros.models.checkpoint import load_checkpoint, save_checkpoint
from llavataros.models.diffusion.loss import (
    GeometryTerms,
    diffusion_loss,
    distillation_loss,
    geometric_errors,
    known_prefix,
    noisy_word_vectors,
    snr_weights,
)
from llavataros.models.diffusion.network import DiffusionDenoiser, slice_speech
from llavataros.models.diffusion.sampling import guided
from llavataros.models.diffusion.schedule import NoiseSchedule
from llavataros.models.diffusion.windows import SamplerSettings, generate, network_denoiser
from llavataros.models.geometry import RootStatistics
from llavataros.motion.skeleton import AVATAROS

FRAMES = TOY_FRAMES


@pytest.fixture(scope="module")
def toy_teacher() -> DiffusionDenoiser:
    return trained_toy_teacher()


def _frame_means(network: DiffusionDenoiser, steps: int, count: int = 500) -> torch.Tensor:
    audio = torch.zeros(count, FRAMES, network.config.audio_dim)
    speaker = torch.zeros(count, dtype=torch.long)
    motion = generate(network, None, None, audio, speaker, SamplerSettings(steps=steps, seed=1))
    return motion.mean(dim=2).flatten()  # (count * FRAMES,): one value per sampled frame


def test_sampler_recovers_both_modes(toy_teacher):
    means = _frame_means(toy_teacher, steps=16)
    assert ((means.abs() - 1).abs() < 0.25).float().mean() > 0.95  # at +1 or -1 ...
    assert 0.4 < (means > 0).float().mean() < 0.6  # ... with equal mass ...
    assert (means.abs() < 0.5).float().mean() < 0.02  # ... and almost never between
    # One DDIM step is the regressor's answer: the posterior mean of x0 at t = 1, about 0.
    assert (_frame_means(toy_teacher, steps=1).abs() < 0.5).all()


def test_progressive_distillation_reaches_one_step(toy_teacher):
    """Two rounds (Salimans & Ho 2022): 4 teacher steps -> 2 student steps -> 1. The one-step
    student samples both modes where the teacher's one step gives their mean."""
    generator = torch.Generator().manual_seed(2)
    teacher = toy_teacher
    for student_steps in (2, 1):
        student = copy.deepcopy(teacher).train()
        optimiser = torch.optim.Adam(student.parameters(), lr=1e-3)
        for _ in range(120):
            motion, speech, speaker = toy_batch(generator)
            predict = guided(network_denoiser(teacher, speech, speaker))
            loss = distillation_loss(
                student, predict, motion, speech, speaker, student_steps, generator
            )
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        teacher = student.eval()
    one_step = _frame_means(teacher, steps=1)
    assert ((one_step.abs() - 1).abs() < 0.25).float().mean() > 0.85
    assert 0.4 < (one_step > 0).float().mean() < 0.6
    assert (_frame_means(toy_teacher, steps=1).abs() < 0.5).all()


def test_known_prefix():
    generator = torch.Generator().manual_seed(0)
    known = known_prefix(2000, 10, 4, 0.5, generator)
    counts = known.sum(dim=1)
    assert known[:, 0].float().mean().item() == pytest.approx(0.5, abs=0.05)
    assert counts.max() == 4 and not known[:, 4:].any()
    assert (known == (torch.arange(10) < counts[:, None])).all()  # a prefix
    assert not known_prefix(5, 10, 0, 0.5).any() and not known_prefix(5, 10, 4, 0.0).any()


def test_word_vector_noise_is_a_share_of_each_vectors_rms():
    generator = torch.Generator().manual_seed(0)
    text = (
        torch.randn(4, 500, 64, generator=generator)
        * torch.tensor([0.1, 1.0, 3.0, 0.0])[:, None, None]
    )  # three scales and a zero (no-word) vector
    noisy = noisy_word_vectors(text, 0.5, generator)
    spread = (noisy - text).std(dim=(1, 2))
    assert spread[:3] / torch.tensor([0.1, 1.0, 3.0]) == pytest.approx([0.5] * 3, rel=0.03)
    assert (noisy[3] == 0).all()
    assert noisy_word_vectors(text, 0.0, generator) is text


def test_word_vector_noise_changes_the_loss_only_when_asked():
    def loss(share: float, use_text: bool = True) -> float:
        config = tiny_config(
            num_joints=AVATAROS.num_joints, width=16, depth=1, text_noise=share, use_text=use_text
        )
        network = randomised(config)
        motion = _smooth_motion(config, 4, 16)
        text, mask, audio, speaker = features(config, 16, batch=4)
        speech = slice_speech(text, mask, audio, 0, 16, config.lookbehind, config.lookahead)
        generator = torch.Generator().manual_seed(1)  # same times, noise, dropout and prefixes
        with torch.no_grad():
            return diffusion_loss(network, motion, speech, speaker, generator)[0].item()

    clean = loss(0.0)
    assert loss(0.0) == clean
    assert abs(loss(2.0) - clean) > 1e-4 * clean  # the words the network reads changed
    assert loss(2.0, use_text=False) == loss(0.0, use_text=False)  # no words, nothing to noise
    with pytest.raises(InputError, match="text_noise"):
        tiny_config(text_noise=-0.1)


def test_geometric_errors_separate_offset_drift_and_jitter():
    actual = torch.randn(2, 12, 3, 3)
    weight = torch.ones(2, 12, 1, 1)
    frames = torch.arange(12.0)[None, :, None, None]

    def errors(offset):
        return {
            k: round(v.item(), 6)
            for k, v in geometric_errors(actual + offset, actual, weight).items()
        }

    # a constant offset: a position error only
    assert errors(torch.full((1, 1, 1, 1), 0.5)) == {
        "position": 0.25,
        "velocity": 0.0,
        "acceleration": 0.0,
    }
    # a drift of 0.1 per frame: no acceleration error
    drift = errors(0.1 * frames)
    assert drift["velocity"] == pytest.approx(0.01) and drift["acceleration"] == 0.0
    # jitter of +-0.1 frame to frame: its second difference is +-0.4
    jitter = errors(0.1 * (-1.0) ** frames)
    assert jitter["velocity"] == pytest.approx(0.04)
    assert jitter["acceleration"] == pytest.approx(0.16)
    # a difference is weighed by the frame it reaches: a known (weight 0) last frame drops out
    weight[:, -1] = 0.0
    last = geometric_errors(actual + 0.1 * frames, actual, weight)
    assert last["velocity"].item() == pytest.approx(0.01 * 10 / 11)


def test_the_acceleration_weight_adds_its_term_to_the_loss():
    config = tiny_config(num_joints=AVATAROS.num_joints, width=16, depth=1)
    network = randomised(config)
    motion = _smooth_motion(config, 4, 16)
    text, mask, audio, speaker = features(config, 16, batch=4)
    speech = slice_speech(text, mask, audio, 0, 16, config.lookbehind, config.lookahead)
    statistics = RootStatistics((0.0, 1.0, 0.0), (0.1, 0.1, 0.1))

    def loss(weight: float):
        geometry = GeometryTerms(AVATAROS, statistics, acceleration=weight)
        generator = torch.Generator().manual_seed(5)  # same times, noise and dropout
        with torch.no_grad():
            return diffusion_loss(network, motion, speech, speaker, generator, geometry)

    without, parts = loss(0.0)
    with_term, _ = loss(1000.0)
    assert parts["acceleration"] > 0
    added = (with_term - without).item()
    assert added == pytest.approx(1000.0 * parts["acceleration"].item(), rel=1e-4)


class _OffAtKnownFrames(DiffusionDenoiser):
    """The network plus ``offset`` wherever a frame is known (time 0): what an untrained output
    there looks like."""

    offset = 0.0

    def forward(self, z, time, speech, speaker, keep):
        output = super().forward(z, time, speech, speaker, keep)
        return output + self.offset * (time == 0)[..., None].to(output)


@pytest.mark.parametrize("prediction", ["x0", "v"])
def test_known_frames_enter_the_geometric_loss_as_the_clean_motion(prediction):
    """The sampler puts the clean tail before the first new frame, so the velocity and
    acceleration reaching the new frames are measured from it, not from whatever the network
    outputs at known frames (the loss leaves those outputs untrained)."""
    config = tiny_config(num_joints=AVATAROS.num_joints, width=16, depth=1)
    config = replace(config, prediction=prediction, prefix_probability=0.99)
    network = _OffAtKnownFrames(config)
    network.load_state_dict(randomised(config).state_dict())
    motion = _smooth_motion(config, 8, 16)
    text, mask, audio, speaker = features(config, 16, batch=8)
    speech = slice_speech(text, mask, audio, 0, 16, config.lookbehind, config.lookahead)
    geometry = GeometryTerms(
        AVATAROS, RootStatistics((0.0, 1.0, 0.0), (0.1, 0.1, 0.1)), acceleration=100.0
    )

    def parts(offset: float) -> dict:
        network.offset = offset
        generator = torch.Generator().manual_seed(5)  # same times, noise, prefixes
        with torch.no_grad():
            return diffusion_loss(network, motion, speech, speaker, generator, geometry)[1]

    plain, shifted = parts(0.0), parts(3.0)
    for name in ("target", "position", "velocity", "acceleration"):
        assert shifted[name].item() == pytest.approx(plain[name].item(), rel=1e-6), name
    assert plain["velocity"] > 0


def test_snr_weights_clamp_the_x0_weight_between_one_and_the_cap():
    schedule = NoiseSchedule("cosine")
    time = torch.tensor([0.1, 0.5, 0.9])  # snr = cot^2(pi t / 2): 39.9, 1, 0.025
    snr = schedule.snr(time)
    assert snr[1].item() == pytest.approx(1.0, rel=1e-5)
    x0 = snr_weights(schedule, time, 5.0, "x0")
    assert x0.tolist() == pytest.approx([5.0, 1.0, 1.0], rel=1e-5)
    v = snr_weights(schedule, time, 5.0, "v")  # v MSE = (1 + snr) x0 MSE
    assert v.tolist() == pytest.approx((x0 / (1 + snr)).tolist(), rel=1e-5)
    assert v[1].item() == pytest.approx(0.5, rel=1e-5)
    eps = snr_weights(schedule, time, 5.0, "epsilon")  # eps MSE = snr x0 MSE
    assert eps[0].item() == pytest.approx(5.0 / snr[0].item(), rel=1e-5)
    assert snr_weights(schedule, time, 0.0, "x0").tolist() == [1.0, 1.0, 1.0]


def test_the_snr_cap_only_raises_the_weight_of_nearly_clean_windows():
    config = replace(
        tiny_config(num_joints=AVATAROS.num_joints, width=16, depth=1), prediction="x0"
    )
    network = randomised(config)
    motion = _smooth_motion(config, 8, 16)
    text, mask, audio, speaker = features(config, 16, batch=8)
    speech = slice_speech(text, mask, audio, 0, 16, config.lookbehind, config.lookahead)

    def loss(cap: float) -> float:
        generator = torch.Generator().manual_seed(5)  # same times, noise and dropout
        with torch.no_grad():
            return diffusion_loss(network, motion, speech, speaker, generator, None, cap)[0].item()

    plain = loss(0.0)
    assert loss(1.0) == pytest.approx(plain, rel=1e-6)  # clamp(snr, 1, 1) = 1 everywhere
    assert loss(5.0) > plain


def _smooth_motion(config, batch: int, frames: int) -> torch.Tensor:
    """Model-layout motion: root on sine curves, joint 6D near identity, smoothly varying."""
    phase = torch.arange(batch)[:, None, None] * 0.7 + torch.arange(config.motion_dim) * 0.3
    time = torch.arange(frames)[None, :, None] / 8.0
    wave = torch.sin(time + phase)  # (b, n, m)
    identity = torch.tensor([1.0, 0, 0, 0, 1, 0]).repeat(config.num_joints)
    return torch.cat([wave[..., :3], identity + 0.2 * wave[..., 3:]], dim=-1)


def test_a_few_training_steps_lower_the_loss():
    config = tiny_config(num_joints=AVATAROS.num_joints, width=16, depth=1)
    torch.manual_seed(0)
    network = DiffusionDenoiser(config)
    motion = _smooth_motion(config, 8, 16)
    network.set_motion_statistics(motion.mean(dim=(0, 1)), motion.std(dim=(0, 1)))
    text, mask, audio, speaker = features(config, 16, batch=8)
    speech = slice_speech(text, mask, audio, 0, 16, config.lookbehind, config.lookahead)
    geometry = GeometryTerms(AVATAROS, RootStatistics((0.0, 1.0, 0.0), (0.1, 0.1, 0.1)))

    def evaluate():
        with torch.no_grad():
            generator = torch.Generator().manual_seed(123)  # same noise, times and dropout
            return diffusion_loss(network, motion, speech, speaker, generator, geometry)

    before, parts = evaluate()
    assert set(parts) == {"target", "position", "velocity", "acceleration"}
    optimiser = torch.optim.Adam(network.parameters(), lr=3e-3)
    generator = torch.Generator().manual_seed(0)
    for _ in range(100):
        loss, _ = diffusion_loss(network, motion, speech, speaker, generator, geometry)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    after, after_parts = evaluate()
    assert after < 0.7 * before
    assert after_parts["target"] < parts["target"] and after_parts["position"] < parts["position"]


def test_checkpoint_round_trip_without_pickle(tmp_path):
    from safetensors import safe_open

    network = randomised(tiny_config())
    text, mask, audio, speaker = features(network.config, 20)
    settings = SamplerSettings(steps=2, seed=4)
    expected = generate(network, text, mask, audio, speaker, settings)
    extra = {"speakers": {"names": ["a", "b", "c"]}}
    metadata_path = save_checkpoint(tmp_path / "model", network, network.config, extra)
    loaded, metadata = load_checkpoint(tmp_path / "model")
    assert metadata.family == "diffusion" and metadata.speakers.names == ("a", "b", "c")
    assert loaded.config == network.config and type(loaded).family == "diffusion"
    torch.testing.assert_close(generate(loaded, text, mask, audio, speaker, settings), expected)
    with safe_open(str(tmp_path / "model" / "model.safetensors"), "pt") as weights:
        assert "motion_std" in set(weights.keys())  # normalisation travels with the weights

    stored = json.loads(metadata_path.read_text())
    stored["config"]["colour"] = "red"
    metadata_path.write_text(json.dumps(stored))
    with pytest.raises(InputError, match="unknown diffusion config keys: colour"):
        load_checkpoint(tmp_path / "model")
    save_checkpoint(tmp_path / "model", network, network.config)
    (tmp_path / "model" / "model.safetensors").write_bytes(b"\x80\x04 not weights")
    with pytest.raises(InputError, match="do not match"):
        load_checkpoint(tmp_path / "model")


def test_the_family_protocol_streams_what_it_generates():
    network = randomised(tiny_config())
    network.sampler = SamplerSettings(steps=2, seed=7)
    text, mask, audio, speaker = features(network.config, 37)
    offline = network.generate(FrameInputs(text, mask, audio), speaker)
    torch.testing.assert_close(
        offline, generate(network, text, mask, audio, speaker, network.sampler)
    )
    stream, pieces = ModelStream(network), []
    for start in range(0, 37, 5):
        stop = min(start + 5, 37)
        pieces.append(
            stream.push(text[:, start:stop], mask[:, start:stop], audio[:, start:stop], speaker)
        )
    pieces.append(stream.flush())
    torch.testing.assert_close(torch.cat(pieces, dim=1), offline)
