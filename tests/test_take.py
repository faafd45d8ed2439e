"""The Motion container, take loading/saving and frame-rate detection (motion/take.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile

from llavataros.errors import InputError
from llavataros.motion import rotations
from llavataros.motion.kinematics import bone_lengths, forward_kinematics
from llavataros.motion.skeleton import AVATAROS
from llavataros.motion.take import Motion, detect_fps, load_take, save_take


def small_take(frames: int = 60, seed: int = 0) -> np.ndarray:
    """A kinematically consistent ``(frames, 9, 7)`` take with random rotations."""
    rng = np.random.default_rng(seed)
    q = rotations.normalize(rng.normal(size=(frames, 9, 4)))
    motion = Motion.from_root_and_rotations(rng.normal(size=(frames, 3)), q, 60.0)
    return motion.to_array(np.float64)


def write_silence(path, seconds: float, rate: int = 16000) -> None:
    soundfile.write(str(path), np.zeros(int(round(seconds * rate)), dtype=np.float32), rate)


# --- frame-rate detection -------------------------------------------------------------------


def test_sample_is_detected_as_60_fps(sample_npy):
    motion = load_take(sample_npy)
    assert motion.fps == 60.0
    assert motion.num_frames == 7076
    assert motion.duration == pytest.approx(117.93, abs=0.01)


def test_detect_fps_discriminates_60_from_30():
    assert detect_fps(7076, 117.93, "take.npy") == 60.0
    assert detect_fps(3538, 117.93, "take.npy") == 30.0
    assert detect_fps(7076, 2 * 117.93, "take.npy") == 30.0
    assert detect_fps(2950, 117.93, "take.npy") == 25.0


@pytest.mark.parametrize("duration", [None, 0.0, 167.0])  # 7076 / 167 s = 42.4 fps
def test_unknown_rate_raises(duration):
    with pytest.raises(InputError, match="take.npy: cannot determine the frame rate"):
        detect_fps(7076, duration, "take.npy")


@pytest.mark.parametrize("seconds, fps", [(1.0, 60.0), (2.0, 30.0), (2.4, 25.0)])
def test_load_detects_fps_from_the_audio_beside(tmp_path, seconds, fps):
    np.save(tmp_path / "take.npy", small_take(60))
    write_silence(tmp_path / "take.wav", seconds)
    assert load_take(tmp_path / "take.npy").fps == fps


def test_load_with_unknown_rate_names_the_file(tmp_path):
    np.save(tmp_path / "take.npy", small_take(60))
    write_silence(tmp_path / "take.wav", 1.4)  # 42.9 fps
    with pytest.raises(InputError, match="take.npy: .*42.86 fps"):
        load_take(tmp_path / "take.npy")
    (tmp_path / "take.wav").unlink()
    with pytest.raises(InputError, match="no audio beside the take"):
        load_take(tmp_path / "take.npy")


def test_fps_from_argument_and_metadata(tmp_path):
    np.save(tmp_path / "take.npy", small_take(60))
    write_silence(tmp_path / "take.wav", 1.0)
    (tmp_path / "take.json").write_text(json.dumps({"fps": 30}))
    assert load_take(tmp_path / "take.npy").fps == 30.0  # metadata beats audio
    assert load_take(tmp_path / "take.npy", fps=24).fps == 24.0  # argument beats metadata
    with pytest.raises(InputError, match="take.npy: frame rate must be a positive"):
        load_take(tmp_path / "take.npy", fps=-5)
    (tmp_path / "take.json").write_text(json.dumps({"fps": "fast"}))
    with pytest.raises(InputError, match="take.json: fps must be a number"):
        load_take(tmp_path / "take.npy")


# --- load errors name the file -----------------------------------------------------------------


def _nan_take(path):
    array = small_take(10)
    array[4, 2, 1] = np.nan
    np.save(path, array)


BROKEN = {
    "missing": (lambda path: None, "file not found"),
    "nan": (_nan_take, "NaN or infinite values .first at frame 4"),
    "wrong_shape": (lambda path: np.save(path, np.zeros((10, 9, 6))), "shape .T, 9, 7."),
    "two_dims": (lambda path: np.save(path, np.zeros((10, 63))), "shape .T, 9, 7."),
    "no_frames": (lambda path: np.save(path, np.zeros((0, 9, 7))), "no frames"),
    "zero_quaternion": (lambda path: np.save(path, np.zeros((3, 9, 7))), "zero-length"),
    "text": (lambda path: path.write_text("this is not an array\n"), "not a readable .npy"),
    "empty": (lambda path: path.write_bytes(b""), "not a readable .npy"),
    "truncated": (lambda path: path.write_bytes(_npy_bytes()[:200]), "not a readable .npy"),
    "strings": (lambda path: np.save(path, np.full((2, 9, 7), "a")), "numeric array"),
    "archive": (lambda path: np.savez(path.with_suffix(".npz"), small_take(3)), "npz archive"),
}


def _npy_bytes() -> bytes:
    import io

    buffer = io.BytesIO()
    np.save(buffer, small_take(10))
    return buffer.getvalue()


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_load_errors_name_the_file(tmp_path, case):
    make, problem = BROKEN[case]
    path = tmp_path / f"{case}.npy"
    make(path)
    if case == "archive":
        path = path.with_suffix(".npz")
    with pytest.raises(InputError, match=problem) as error:
        load_take(path, fps=60)
    assert str(error.value).startswith(str(path) + ": ")
    assert error.value.source == str(path)


# --- Motion and saving ----------------------------------------------------------------------------


def test_load_makes_signs_continuous(tmp_path):
    frames = 40
    axes = np.random.default_rng(1).normal(size=(9, 3))
    angles = np.linspace(0.0, 1.0, frames)[:, None] + np.arange(9)  # slow turns, (t, j)
    q = rotations.from_axis_angle(axes, angles)  # (t, j, 4), continuous
    array = np.concatenate([forward_kinematics(np.zeros((frames, 3)), q, AVATAROS), q], axis=-1)
    array[1::2, :, 3:] *= -1.0  # flip every other frame
    np.save(tmp_path / "take.npy", array)
    loaded = load_take(tmp_path / "take.npy", fps=60).rotations
    assert np.all(np.sum(loaded[1:] * loaded[:-1], axis=-1) >= 0)
    track_sign = np.sign(np.sum(loaded * q, axis=-1))  # (t, j): one sign per joint track
    assert np.all(track_sign == track_sign[:1])


def test_save_and_load_round_trip(tmp_path):
    motion = Motion.from_array(small_take(20, seed=2), 30.0)
    path = save_take(motion, tmp_path / "out" / "take.npy", write_metadata=True)
    saved = np.load(path)
    assert saved.dtype == np.float32 and saved.shape == (20, 9, 7)
    again = load_take(path)  # fps from the metadata written beside it
    assert again.fps == 30.0
    np.testing.assert_allclose(again.positions, motion.positions, atol=1e-6)
    dots = np.abs(np.sum(again.rotations * motion.rotations, axis=-1))
    np.testing.assert_allclose(dots, 1.0, atol=1e-6)


def test_motion_from_root_and_rotations_is_consistent():
    rng = np.random.default_rng(3)
    q = rng.normal(size=(25, 9, 4))  # not normalised, random signs
    motion = Motion.from_root_and_rotations(rng.normal(size=(25, 3)), q, 60.0)
    np.testing.assert_allclose(np.linalg.norm(motion.rotations, axis=-1), 1.0, atol=1e-12)
    np.testing.assert_allclose(
        bone_lengths(motion.positions), np.broadcast_to(AVATAROS.bone_lengths, (25, 8)), atol=1e-12
    )
    part = motion.slice(5, 15)
    assert part.num_frames == 10 and part.duration == pytest.approx(10 / 60)
    np.testing.assert_array_equal(part.positions, motion.positions[5:15])
    assert motion.to_array().shape == (25, 9, 7) and motion.to_array().dtype == np.float32


def test_motion_rejects_mismatched_arrays():
    with pytest.raises(ValueError):
        Motion(np.zeros((5, 9, 3)), np.zeros((4, 9, 4)), 60.0)
