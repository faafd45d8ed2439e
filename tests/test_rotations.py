"""Quaternion / matrix / 6D conversions, products, continuity and slerp (motion/rotations.py)."""

from __future__ import annotations

import numpy as np
import pytest

from llavataros.motion import rotations


def random_quaternions(count: int, seed: int = 0) -> np.ndarray:
    return rotations.normalize(np.random.default_rng(seed).normal(size=(count, 4)))


def same_rotation(a: np.ndarray, b: np.ndarray, atol: float = 1e-9) -> bool:
    """Quaternions equal up to sign."""
    return bool(np.all(np.abs(np.abs(np.sum(a * b, axis=-1)) - 1.0) < atol))


def test_matrix_is_a_proper_rotation():
    matrices = rotations.to_matrix(random_quaternions(500))
    identity = np.broadcast_to(np.eye(3), matrices.shape)
    np.testing.assert_allclose(matrices @ np.swapaxes(matrices, -1, -2), identity, atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(matrices), 1.0, atol=1e-12)


def test_quaternion_matrix_round_trip():
    q = random_quaternions(1000, seed=1)
    back = rotations.from_matrix(rotations.to_matrix(q))
    assert same_rotation(q, back)
    assert np.all(back[..., 3] >= 0)  # canonical sign


def test_from_matrix_near_half_turns():
    # w ~ 0: the branch that picks the largest of x, y, z must be used.
    axes = np.random.default_rng(2).normal(size=(200, 3))  # from_axis_angle normalises
    angles = np.pi - np.linspace(0.0, 1e-3, 200)
    q = rotations.from_axis_angle(axes, angles)
    assert same_rotation(q, rotations.from_matrix(rotations.to_matrix(q)))


def test_sixd_round_trips():
    q = random_quaternions(1000, seed=3)
    assert same_rotation(q, rotations.sixd_to_quat(rotations.quat_to_sixd(q)))
    matrices = rotations.to_matrix(q)
    back = rotations.sixd_to_matrix(rotations.matrix_to_sixd(matrices))
    np.testing.assert_allclose(back, matrices, atol=1e-12)


def test_sixd_to_matrix_orthonormalises_noisy_input():
    sixd = rotations.quat_to_sixd(random_quaternions(100, seed=4))
    noisy = sixd + np.random.default_rng(5).normal(scale=0.05, size=sixd.shape)
    matrices = rotations.sixd_to_matrix(noisy)
    identity = np.broadcast_to(np.eye(3), matrices.shape)
    np.testing.assert_allclose(matrices @ np.swapaxes(matrices, -1, -2), identity, atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(matrices), 1.0, atol=1e-12)


def test_multiply_and_rotate_agree_with_matrices():
    a, b = random_quaternions(300, seed=6), random_quaternions(300, seed=7)
    vectors = np.random.default_rng(8).normal(size=(300, 3))
    product = rotations.to_matrix(rotations.multiply(a, b))
    np.testing.assert_allclose(product, rotations.to_matrix(a) @ rotations.to_matrix(b), atol=1e-12)
    expected = np.einsum("nij,nj->ni", rotations.to_matrix(a), vectors)
    np.testing.assert_allclose(rotations.rotate(a, vectors), expected, atol=1e-12)


def test_conjugate_is_the_inverse():
    q = random_quaternions(100, seed=9)
    identity = rotations.multiply(q, rotations.conjugate(q))
    np.testing.assert_allclose(identity, np.broadcast_to(rotations.IDENTITY, q.shape), atol=1e-12)


def test_axis_angle_known_answer():
    quarter_turn_z = rotations.from_axis_angle(np.array([0.0, 0.0, 2.0]), np.pi / 2)
    np.testing.assert_allclose(quarter_turn_z, [0, 0, np.sqrt(0.5), np.sqrt(0.5)], atol=1e-12)
    turned = rotations.rotate(quarter_turn_z, np.eye(3))
    np.testing.assert_allclose(turned, [[0, 1, 0], [-1, 0, 0], [0, 0, 1]], atol=1e-12)


def test_normalize_maps_zero_to_identity():
    out = rotations.normalize(np.array([[0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 2.0]]))
    np.testing.assert_allclose(out, [rotations.IDENTITY, rotations.IDENTITY])


@pytest.mark.parametrize(
    "u, v",
    [
        ([1.0, 0, 0], [0, 1.0, 0]),
        ([1.0, 2, 3], [1.0, 2, 3]),
        ([0, 1.0, 0], [0, -1.0, 0]),
        ([1.0, 0, 0], [-1.0, 0, 0]),
        ([0.3, -0.2, 0.9], [-0.5, 0.4, 0.1]),
    ],
)
def test_between_rotates_u_onto_v(u, v):
    q = rotations.between(np.array(u), np.array(v))
    np.testing.assert_allclose(np.linalg.norm(q), 1.0, atol=1e-12)
    unit_v = np.array(v) / np.linalg.norm(v)
    np.testing.assert_allclose(
        rotations.rotate(q, np.array(u) / np.linalg.norm(u)), unit_v, atol=1e-9
    )


def test_make_continuous_removes_flips():
    rng = np.random.default_rng(10)
    steps = rotations.from_axis_angle(rng.normal(size=(200, 3, 3)), 0.05)  # small steps
    q = np.empty((200, 3, 4))
    q[0] = random_quaternions(3, seed=11)
    for t in range(1, 200):
        q[t] = rotations.multiply(steps[t], q[t - 1])
    signs = rng.choice([-1.0, 1.0], size=(200, 3, 1))
    flipped = q * signs
    assert np.sum(np.sum(flipped[1:] * flipped[:-1], axis=-1) < 0) > 50
    fixed = rotations.make_continuous(flipped)
    assert np.all(np.sum(fixed[1:] * fixed[:-1], axis=-1) >= 0)
    # Same rotations, and each joint's whole track equals the original up to one global sign.
    np.testing.assert_allclose(np.abs(fixed), np.abs(q), atol=1e-12)
    track_sign = np.sign(np.sum(fixed * q, axis=-1))  # (t, j)
    assert np.all(track_sign == track_sign[:1])


def test_make_continuous_along_another_axis():
    q = random_quaternions(2, seed=12)
    track = np.stack([q[0], -q[0], q[0], -q[0]])[None]  # (1, t=4, 4)
    fixed = rotations.make_continuous(track, axis=1)
    np.testing.assert_allclose(fixed[0], np.broadcast_to(q[0], (4, 4)))


def test_slerp_endpoints_and_midpoint():
    q0 = rotations.from_axis_angle(np.array([0.0, 1, 0]), 0.2)
    q1 = rotations.from_axis_angle(np.array([0.0, 1, 0]), 1.4)
    np.testing.assert_allclose(rotations.slerp(q0, q1, 0.0), q0, atol=1e-12)
    np.testing.assert_allclose(rotations.slerp(q0, q1, 1.0), q1, atol=1e-12)
    middle = rotations.from_axis_angle(np.array([0.0, 1, 0]), 0.8)
    np.testing.assert_allclose(rotations.slerp(q0, q1, 0.5), middle, atol=1e-12)
    # Shortest path: the opposite sign of q1 gives the same rotation path.
    assert same_rotation(
        rotations.slerp(q0, -q1, 0.25), rotations.from_axis_angle(np.array([0.0, 1, 0]), 0.5)
    )


def test_slerp_broadcasts_over_times_and_handles_equal_inputs():
    q = random_quaternions(1, seed=13)[0]
    out = rotations.slerp(q, q, np.linspace(0, 1, 5))
    np.testing.assert_allclose(out, np.broadcast_to(q, (5, 4)), atol=1e-12)


def test_from_axis_angle_broadcasts_axes_and_angles():
    axes = np.eye(3)  # (3, 3)
    one_angle = rotations.from_axis_angle(axes, np.pi)  # scalar angle for every axis
    np.testing.assert_allclose(one_angle, np.hstack([axes, np.zeros((3, 1))]), atol=1e-12)
    many_angles = rotations.from_axis_angle(np.array([0.0, 0, 1]), np.zeros((5, 2)))
    assert many_angles.shape == (5, 2, 4)
