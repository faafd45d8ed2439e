"""Known-answer tests of the SPEC section 5 metrics and the audio onset detector."""

from __future__ import annotations

import numpy as np
import pytest

from llavataros.errors import InputError
from llavataros.eval import metrics, onsets
from llavataros.motion.skeleton import LEFT_WRIST, RIGHT_WRIST
from llavataros.motion.take import Motion

PERIOD = 1.0  # seconds between speed minima of the circling motion
FIRST_BEAT = 0.5  # seconds
RADIUS = 0.3  # metres


def circling_positions(fps: float, duration: float = 12.5) -> np.ndarray:
    """All 9 joints translate on a circle whose angular speed ``1 - 0.4 cos(2 pi (t - 0.5))``
    dips to a minimum at 0.5 s, 1.5 s, 2.5 s, ... (a motion beat every second)."""
    t = np.arange(int(round(duration * fps))) / fps
    angle = t - 0.4 * PERIOD / (2 * np.pi) * np.sin(2 * np.pi * (t - FIRST_BEAT) / PERIOD)
    circle = RADIUS * np.stack([np.cos(angle), np.sin(angle), np.zeros_like(angle)], axis=-1)
    rest = np.linspace(0.0, 1.0, 27).reshape(9, 3)
    return rest[None] + circle[:, None, :]  # (t, 9, 3)


BEAT_TIMES = FIRST_BEAT + np.arange(12) * PERIOD  # 0.5 ... 11.5 s


@pytest.mark.parametrize("fps", [30.0, 60.0])
def test_motion_beats_sit_on_speed_minima(fps):
    positions = circling_positions(fps)
    mean_speed = metrics.training_mean_speed([positions], fps)
    found = metrics.motion_beats(positions, fps, mean_speed)
    np.testing.assert_allclose(found, BEAT_TIMES, atol=1e-9)


@pytest.mark.parametrize("fps", [30.0, 60.0])
def test_beat_alignment_is_one_on_the_onsets(fps):
    positions = circling_positions(fps)
    mean_speed = metrics.training_mean_speed([positions], fps)
    score = metrics.beat_alignment(positions, fps, BEAT_TIMES, mean_speed)
    assert score == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("shift", [0.1, 0.2, 0.3])
def test_beat_alignment_known_value_for_a_shift(shift):
    positions = circling_positions(30.0)
    mean_speed = metrics.training_mean_speed([positions], 30.0)
    score = metrics.beat_alignment(positions, 30.0, BEAT_TIMES + shift, mean_speed)
    assert score == pytest.approx(np.exp(-(shift**2) / 0.18), abs=1e-9)
    assert score < 1.0


def test_beat_alignment_accepts_a_motion_and_drops_slow_minima():
    positions = circling_positions(30.0)
    rotations = np.tile([0.0, 0.0, 0.0, 1.0], positions.shape[:2] + (1,))
    motion = Motion(positions, rotations, 30.0)
    mean_speed = metrics.training_mean_speed([motion])
    assert metrics.beat_alignment(motion, None, BEAT_TIMES, mean_speed) == pytest.approx(1.0)
    # Speed at the dips is 0.6 of the mean: a 3x larger training speed puts it under 0.3.
    assert metrics.beat_alignment(motion, None, BEAT_TIMES, 3.0 * mean_speed) == 0.0


def test_beat_alignment_score_by_hand():
    onsets = np.array([1.0, 3.0, 4.0, 9.5])  # 1.0 and 9.5 fall in the excluded edges
    score = metrics.beat_alignment_score(onsets, np.array([3.1, 4.3, 9.5]), duration=10.0)
    expected = np.mean([np.exp(-0.01 / 0.18), np.exp(-0.09 / 0.18)])
    assert score == pytest.approx(expected)
    assert np.isnan(metrics.beat_alignment_score(np.array([0.5, 9.9]), np.array([1.0]), 10.0))
    assert metrics.beat_alignment_score(np.array([5.0]), np.zeros(0), 10.0) == 0.0


def test_positions_array_needs_fps():
    with pytest.raises(InputError):
        metrics.beat_alignment(circling_positions(30.0), None, BEAT_TIMES, 1.0)


def test_l1_diversity_known_value():
    positions = np.zeros((4, 9, 3))
    positions[::2, RIGHT_WRIST, 0] = 0.27
    positions[1::2, RIGHT_WRIST, 0] = -0.27  # mean 0, |deviation| 0.27 on 1 of 27 coordinates
    assert metrics.l1_diversity(positions) == pytest.approx(0.27 / 27)
    assert metrics.l1_diversity(np.ones((5, 9, 3))) == 0.0


def test_mean_jerk_known_value():
    fps = 30.0
    t = np.arange(40) / fps
    positions = np.zeros((40, 9, 3))
    positions[..., 1] = (2.5 * t**3 / 6)[:, None]  # constant jerk 2.5 m/s^3 along y
    assert metrics.mean_jerk(positions, fps) == pytest.approx(2.5)
    positions[..., 1] = (0.7 * t)[:, None]  # constant velocity
    assert metrics.mean_jerk(positions, fps) == pytest.approx(0.0, abs=1e-9)


def wrists_moving_at(speed: float, fps: float = 30.0, frames: int = 60) -> np.ndarray:
    positions = np.zeros((frames, 9, 3))
    path = speed * np.arange(frames) / fps
    positions[:, RIGHT_WRIST, 0] = path
    positions[:, LEFT_WRIST, 2] = path
    return positions


def test_wrist_speed_histogram_and_hellinger():
    bins = metrics.speed_bins()
    slow, fast = wrists_moving_at(0.12), wrists_moving_at(1.03)
    histogram = metrics.wrist_speed_histogram(slow, 30.0, bins)
    assert histogram.sum() == pytest.approx(1.0)
    assert histogram[2] == pytest.approx(1.0)  # 0.12 m/s lies in [0.10, 0.15)
    assert metrics.speed_hellinger(slow, slow, 30.0) == pytest.approx(0.0, abs=1e-12)
    assert metrics.speed_hellinger(fast, slow, 30.0) == pytest.approx(1.0)
    # Faster than the last edge counts in the last bin.
    assert metrics.wrist_speed_histogram(wrists_moving_at(9.0), 30.0, bins)[-1] == 1.0
    # A list of motions pools its frames: half slow, half fast.
    pooled = metrics.wrist_speed_histogram([slow, fast], 30.0, bins)
    assert metrics.hellinger_distance(pooled, histogram) == pytest.approx(np.sqrt(1 - np.sqrt(0.5)))


def test_hellinger_distance_known_values():
    assert metrics.hellinger_distance([0.5, 0.5], [0.5, 0.5]) == pytest.approx(0.0, abs=1e-12)
    assert metrics.hellinger_distance([1, 0], [0, 1]) == pytest.approx(1.0)
    assert metrics.hellinger_distance([1, 1], [1, 0]) == pytest.approx(np.sqrt(1 - np.sqrt(0.5)))
    with pytest.raises(InputError):
        metrics.hellinger_distance([1, 0], [1, 0, 0])


def test_frechet_distance_of_diagonal_gaussians():
    mu1, mu2 = np.array([0.0, 0.0]), np.array([1.0, 2.0])
    sigma1, sigma2 = np.diag([1.0, 4.0]), np.diag([4.0, 9.0])
    # |mu1 - mu2|^2 + sum (s1 - s2)^2 over standard deviations = 5 + 1 + 1
    assert metrics.frechet_distance(mu1, sigma1, mu2, sigma2) == pytest.approx(7.0)
    assert metrics.frechet_distance(mu1, sigma1, mu1, sigma1) == pytest.approx(0.0, abs=1e-9)


def test_frechet_distance_handles_singular_covariances():
    sigma = np.zeros((3, 3))
    sigma[0, 0] = 1.0  # rank one
    value = metrics.frechet_distance(np.zeros(3), sigma, np.ones(3), sigma)
    assert value == pytest.approx(3.0, abs=1e-3)


def test_fgd_of_feature_sets():
    rng = np.random.default_rng(0)
    features = rng.normal(size=(500, 4))
    assert metrics.fgd(features, features) == pytest.approx(0.0, abs=1e-8)
    # Large samples of N(0, I) and N(m, 4 I): 4 * 1 + 4 * (2 - 1)^2 = 8.
    a = rng.normal(size=(20000, 4))
    b = 1.0 + 2.0 * rng.normal(size=(20000, 4)) - 0.5
    assert metrics.fgd(a, b) == pytest.approx(4 * 0.25 + 4 * 1.0, rel=0.05)
    with pytest.raises(InputError):
        metrics.fgd(features[:1], features)


def noise_burst(length: int, rng: np.random.Generator) -> np.ndarray:
    return rng.normal(0.0, 0.3, length) * np.exp(-np.arange(length) / 100.0)


def test_onsets_of_a_click_train():
    sample_rate = 16000
    rng = np.random.default_rng(1)
    truth = np.array([0.5, 1.25, 2.0, 2.61, 3.9])
    audio = rng.normal(0.0, 1e-4, 5 * sample_rate)
    for time in truth:
        start = int(time * sample_rate)
        audio[start : start + 400] += noise_burst(400, rng)
    hop = onsets.default_hop(sample_rate)
    strength = onsets.onset_strength(audio, sample_rate, hop)
    assert strength.shape == (len(audio) // hop + 1,)
    found = onsets.audio_onsets(audio, sample_rate)
    assert len(found) == len(truth)
    assert np.all((found - truth >= -1e-9) & (found - truth <= 0.03))


def test_onsets_of_silence_and_spacing():
    sample_rate = 8000
    assert len(onsets.audio_onsets(np.zeros(sample_rate), sample_rate)) == 0
    strength = np.zeros(200)
    strength[[50, 53, 120]] = [1.0, 0.9, 0.8]  # 53 is 30 ms after 50: closer than 0.1 s
    found = onsets.detect_onsets(strength, frame_rate=100.0)
    np.testing.assert_allclose(found, [0.5, 1.2])
