"""LlanimationModel fusion variants, lookahead, config, torch geometry and losses."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from llavataros.errors import InputError
from llavataros.models.geometry import (
    RootStatistics,
    forward_kinematics,
    matrix_to_quaternion,
    matrix_to_sixd,
    output_to_motion,
    quaternion_to_matrix,
    sixd_to_matrix,
)
from llavataros.models.llanimation.config import FUSIONS, ModelConfig, paper_scale_config
from llavataros.models.llanimation.network import LlanimationModel
from llavataros.motion import kinematics, rotations
from llavataros.motion.skeleton import AVATAROS
from llavataros.training.losses import LossWeights, geodesic_angle, motion_loss, motion_to_target

TEXT, AUDIO, FRAMES = 12, 5, 24


def tiny_config(fusion="concat", **overrides) -> ModelConfig:
    values = dict(
        fusion=fusion,
        text_dim=TEXT,
        audio_dim=AUDIO,
        num_speakers=3,
        width=16,
        depth=2,
        heads=2,
        feedforward_multiplier=2,
        dropout=0.0,
        segment_length=8,
        memory_length=6,
        lookahead=3,
        lookbehind=1,
    )
    values.update(overrides)
    return ModelConfig(**values)


def tiny_model(fusion="concat", **overrides) -> LlanimationModel:
    torch.manual_seed(0)
    return LlanimationModel(tiny_config(fusion, **overrides)).eval()


def random_inputs(batch=2, frames=FRAMES, seed=1):
    generator = torch.Generator().manual_seed(seed)
    text = torch.randn(batch, frames, TEXT, generator=generator)
    mask = torch.rand(batch, frames, generator=generator) > 0.3
    audio = torch.randn(batch, frames, AUDIO, generator=generator)
    speaker = torch.arange(batch) % 3
    return text, mask, audio, speaker


def random_quaternions(shape, seed=0):
    return rotations.normalize(np.random.default_rng(seed).normal(size=(*shape, 4)))


# --- model ---------------------------------------------------------------------------------


@pytest.mark.parametrize("fusion", FUSIONS)
def test_forward_shapes_and_memory(fusion):
    model = tiny_model(fusion)
    text, mask, audio, speaker = random_inputs()
    output, memory = model(text, mask, audio, speaker)
    assert output.shape == (2, FRAMES, 3 + 6 * 9)
    assert [m.shape for m in memory.layers] == [(2, 6, 16)] * 2
    assert memory.history.shape == (2, 1, 16)
    assert (memory.context is not None) == (fusion == "cross")
    output, _ = model(text, mask, audio, speaker, memory, context_after=3)
    assert output.shape == (2, FRAMES - 3, 57)


@pytest.mark.parametrize(
    ("fusion", "reads_text", "reads_audio"),
    [("text", True, False), ("audio", False, True), ("concat", True, True), ("cross", True, True)],
)
def test_each_fusion_reads_its_modalities(fusion, reads_text, reads_audio):
    model = tiny_model(fusion)
    text, mask, audio, speaker = random_inputs()
    mask[:] = True
    with torch.no_grad():
        base, _ = model(text, mask, audio, speaker)
        other_text, _ = model(text + torch.randn_like(text), mask, audio, speaker)
        other_audio, _ = model(text, mask, audio + torch.randn_like(audio), speaker)
        other_speaker, _ = model(text, mask, audio, (speaker + 1) % 3)
    assert ((other_text - base).abs().max() > 1e-4) == reads_text
    assert ((other_audio - base).abs().max() > 1e-4) == reads_audio
    assert (other_speaker - base).abs().max() > 1e-4


def test_frames_without_a_word_use_the_no_word_vector():
    model = tiny_model("text")
    text, mask, audio, speaker = random_inputs()
    with torch.no_grad():
        base, _ = model(text, mask, audio, speaker)
        noise = torch.randn_like(text) * (~mask[..., None])  # only where there is no word
        masked, _ = model(text + noise, mask, audio, speaker)
        replaced, _ = model(
            torch.where(mask[..., None], text, model.no_word), mask.clone() | True, audio, speaker
        )
    torch.testing.assert_close(masked, base)
    torch.testing.assert_close(replaced, base)


@pytest.mark.parametrize("fusion", ["concat", "cross"])
def test_lookahead_output_at_t_anticipates_input_up_to_a_frames_ahead(fusion):
    model = tiny_model(fusion)
    text, mask, audio, speaker = random_inputs(batch=1)
    changed_audio = audio.clone()
    changed_audio[:, 15] += torch.randn(AUDIO)
    with torch.no_grad():
        base, _ = model(text, mask, audio, speaker)
        after, _ = model(text, mask, changed_audio, speaker)
    difference = (after - base).abs().amax(dim=(0, 2))
    lookahead = model.config.lookahead
    assert torch.all(difference[: 15 - lookahead] == 0)  # causal up to the lookahead
    assert difference[15 - lookahead] > 1e-5  # ... which is really used


def test_unknown_speaker_is_an_input_error():
    model = tiny_model()
    text, mask, audio, _ = random_inputs()
    with pytest.raises(InputError, match="unknown speaker id 3"):
        model(text, mask, audio, torch.tensor([0, 3]))


def test_wrong_feature_width_is_rejected():
    model = tiny_model()
    text, mask, audio, speaker = random_inputs()
    with pytest.raises(ValueError, match="audio must be"):
        model(text, mask, audio[..., :2], speaker)


def test_initial_output_is_near_the_rest_pose():
    model = tiny_model()
    output, _ = model(*random_inputs())
    identity = torch.tensor([1.0, 0, 0, 0, 1, 0]).repeat(9)
    assert (output[..., 3:] - identity).abs().mean() < 0.2


# --- config --------------------------------------------------------------------------------


def test_config_round_trip_and_unknown_keys():
    config = tiny_config("cross")
    assert ModelConfig.from_dict(config.to_dict()) == config
    with pytest.raises(InputError, match="unknown model config keys: colour"):
        ModelConfig.from_dict({**config.to_dict(), "colour": "red"})
    with pytest.raises(InputError, match="fusion"):
        ModelConfig.from_dict({"fusion": "sum"})
    with pytest.raises(InputError, match="divisible"):
        ModelConfig(width=30, heads=4)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.width = 8


def test_default_and_paper_scale_parameter_counts():
    default = LlanimationModel(ModelConfig()).num_parameters()
    assert 1_000_000 <= default <= 3_000_000
    assert LlanimationModel(paper_scale_config()).num_parameters() > 20_000_000


# --- geometry ------------------------------------------------------------------------------


def test_torch_rotations_match_numpy():
    q = random_quaternions((50, 9))
    matrices = rotations.to_matrix(q)
    torch_matrices = quaternion_to_matrix(torch.from_numpy(q))
    np.testing.assert_allclose(torch_matrices.numpy(), matrices, atol=1e-12)
    sixd = rotations.matrix_to_sixd(matrices) + np.random.default_rng(1).normal(0, 0.1, (50, 9, 6))
    np.testing.assert_allclose(
        sixd_to_matrix(torch.from_numpy(sixd)).numpy(), rotations.sixd_to_matrix(sixd), atol=1e-12
    )
    np.testing.assert_allclose(
        matrix_to_sixd(torch.from_numpy(matrices)).numpy(),
        rotations.matrix_to_sixd(matrices),
        atol=1e-12,
    )
    np.testing.assert_allclose(
        matrix_to_quaternion(torch.from_numpy(matrices)).numpy(),
        rotations.from_matrix(matrices),
        atol=1e-12,
    )


def test_matrix_to_quaternion_is_stable_near_180_degrees():
    axes = np.random.default_rng(2).normal(size=(20, 3))
    q = rotations.from_axis_angle(axes, np.full(20, np.pi - 1e-7))
    back = matrix_to_quaternion(quaternion_to_matrix(torch.from_numpy(q))).numpy()
    aligned = np.where(np.sum(back * q, -1, keepdims=True) < 0, -back, back)
    np.testing.assert_allclose(aligned, q, atol=1e-7)
    assert np.all(back[..., 3] >= 0)


def test_geodesic_angle_known_values():
    angles = np.array([0.0, 0.3, np.pi / 2, np.pi - 1e-3])
    q = rotations.from_axis_angle(np.array([[0.3, -1.0, 0.5]] * 4), angles)
    identity = torch.eye(3, dtype=torch.float64).expand(4, 3, 3)
    measured = geodesic_angle(identity, quaternion_to_matrix(torch.from_numpy(q)))
    np.testing.assert_allclose(measured.numpy(), angles, atol=1e-6)


def test_torch_forward_kinematics_matches_numpy():
    q = random_quaternions((30, 9), seed=3)
    root = np.random.default_rng(4).normal(size=(30, 3))
    expected = kinematics.forward_kinematics(root, q, AVATAROS)
    positions = forward_kinematics(
        torch.from_numpy(root),
        quaternion_to_matrix(torch.from_numpy(q)),
        torch.from_numpy(AVATAROS.offsets),
    )
    np.testing.assert_allclose(positions.numpy(), expected, atol=1e-12)


def test_output_to_motion_round_trips_a_consistent_take():
    q = rotations.make_continuous(random_quaternions((40, 9), seed=5))
    root = np.random.default_rng(6).normal(0, 0.05, size=(40, 3)) + [0, 1.0, 0]
    positions = kinematics.forward_kinematics(root, q, AVATAROS)
    take = np.concatenate([positions, q], axis=-1)
    stats = RootStatistics.from_root_positions(root)
    target = motion_to_target(take, stats)
    assert target.shape == (40, 57) and target.dtype == torch.float32
    assert abs(float(target[:, :3].mean())) < 1e-5  # normalised root
    motion = output_to_motion(target, stats, AVATAROS, fps=30.0)
    assert motion.fps == 30.0 and motion.rotations.shape == (40, 9, 4)
    np.testing.assert_allclose(motion.positions, positions, atol=1e-4)
    dots = np.abs(np.sum(motion.rotations * q, axis=-1))
    np.testing.assert_allclose(dots, 1.0, atol=1e-5)
    assert np.all(np.sum(motion.rotations[1:] * motion.rotations[:-1], -1) >= 0)  # continuous


def test_output_to_motion_keeps_bone_lengths_exact_for_any_output():
    output = torch.randn(25, 57)
    stats = RootStatistics((0.0, 1.0, 0.0), (0.05, 0.05, 0.05))
    motion = output_to_motion(output[None], stats, AVATAROS, fps=30.0)
    lengths = kinematics.bone_lengths(motion.positions)
    np.testing.assert_allclose(
        lengths, np.broadcast_to(AVATAROS.bone_lengths, lengths.shape), atol=1e-12
    )
    np.testing.assert_allclose(np.linalg.norm(motion.rotations, axis=-1), 1.0, atol=1e-12)
    assert RootStatistics.from_dict(stats.to_dict()) == stats


# --- losses --------------------------------------------------------------------------------


def test_loss_is_zero_on_the_target_and_positive_elsewhere():
    q = random_quaternions((2, 10, 9), seed=7)
    stats = RootStatistics((0.0, 1.0, 0.0), (0.1, 0.1, 0.1))
    target = torch.stack(
        [
            motion_to_target(np.concatenate([np.zeros((10, 9, 3)), q[b]], -1), stats)
            for b in range(2)
        ]
    )
    for measure in ("sixd", "geodesic"):
        total, parts = motion_loss(target, target, AVATAROS, stats, rotation=measure)
        assert float(total) < 1e-5
        assert set(parts) == {"rotation", "position", "velocity", "acceleration"}
    shifted = target.clone()
    shifted[..., 0] += 1.0  # root moved by one std = 0.1 m along x everywhere
    total, parts = motion_loss(shifted, target, AVATAROS, stats, LossWeights())
    assert float(parts["position"]) == pytest.approx(0.1 / 3, abs=1e-5)  # x of 3 coordinates
    assert float(parts["velocity"]) == pytest.approx(0.0, abs=1e-6)
    mask = torch.ones(2, 10, dtype=torch.bool)
    mask[:, 5:] = False
    shifted[:, 5:, 0] += 5.0  # ignored frames
    _, masked = motion_loss(shifted, target, AVATAROS, stats, frame_mask=mask)
    assert float(masked["position"]) == pytest.approx(0.1 / 3, abs=1e-5)


def test_squared_error_loss_squares_each_term():
    q = random_quaternions((1, 10, 9), seed=9)
    stats = RootStatistics((0.0, 1.0, 0.0), (0.1, 0.1, 0.1))
    target = motion_to_target(np.concatenate([np.zeros((10, 9, 3)), q[0]], -1), stats)[None]
    shifted = target.clone()
    shifted[..., 0] += 2.0  # root 0.2 m along x everywhere
    _, absolute = motion_loss(shifted, target, AVATAROS, stats, error="l1")
    _, squared = motion_loss(shifted, target, AVATAROS, stats, error="l2")
    assert float(absolute["position"]) == pytest.approx(0.2 / 3, abs=1e-5)
    assert float(squared["position"]) == pytest.approx(0.2**2 / 3, abs=1e-5)
    with pytest.raises(ValueError, match="error must be"):
        motion_loss(shifted, target, AVATAROS, stats, error="huber")


def test_absolute_error_fits_a_snap_and_squared_error_a_ramp_to_uncertain_timing():
    """Targets: the root steps from 0 to 1 at one of five times. A free trajectory fitted with
    L1 becomes a step (the median); with L2 it becomes the average ramp (the mean)."""
    frames, times = 20, (6, 8, 10, 12, 14)
    stats = RootStatistics((0.0, 0.0, 0.0), (1.0, 1.0, 1.0))
    rest = motion_to_target(
        np.concatenate(
            [np.zeros((frames, 9, 3)), np.tile([1.0, 0.0, 0.0, 0.0], (frames, 9, 1))], -1
        ),
        stats,
    )
    targets = rest.repeat(len(times), 1, 1)
    for index, time in enumerate(times):
        targets[index, time:, 0] = 1.0
    fitted = {}
    for error in ("l1", "l2"):
        trajectory = torch.zeros(frames, requires_grad=True)
        optimiser = torch.optim.Adam([trajectory], lr=0.02)
        for _ in range(600):
            output = rest.repeat(len(times), 1, 1).clone()
            output[..., 0] = trajectory
            weights = LossWeights(rotation=0.0, position=1.0, velocity=0.0, acceleration=0.0)
            loss, _ = motion_loss(output, targets, AVATAROS, stats, weights, error=error)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        fitted[error] = trajectory.detach().numpy()
    mean = (np.arange(frames)[None] >= np.array(times)[:, None]).mean(0)
    np.testing.assert_allclose(fitted["l2"], mean, atol=0.03)
    assert np.abs(fitted["l1"][:9]).max() < 0.05 and np.abs(fitted["l1"][11:] - 1).max() < 0.05
    assert np.abs(np.diff(fitted["l1"])).max() > 0.9  # one jump (the median's step)
    assert np.abs(np.diff(fitted["l2"])).max() < 0.25  # five small ones


@pytest.mark.parametrize("fusion", FUSIONS)
def test_every_fusion_learns_a_tiny_batch(fusion):
    torch.manual_seed(0)
    model = LlanimationModel(tiny_config(fusion)).train()
    text, mask, audio, speaker = random_inputs(frames=16)
    stats = RootStatistics((0.0, 1.0, 0.0), (0.05, 0.05, 0.05))
    q = rotations.make_continuous(random_quaternions((2, 16, 9), seed=8), axis=1)
    target = torch.stack(
        [
            motion_to_target(np.concatenate([np.zeros((16, 9, 3)), q[b]], -1), stats)
            for b in range(2)
        ]
    )
    optimiser = torch.optim.AdamW(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(30):
        output, _ = model(text, mask, audio, speaker)
        loss, _ = motion_loss(output, target, AVATAROS, stats)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    assert np.isfinite(losses).all()
    assert losses[-1] < 0.7 * losses[0]
