"""The :class:`Motion` container and AvatarOS ``.npy`` take I/O with frame-rate detection.

An AvatarOS take is a float array ``(t, 9, 7)``: per joint ``[px, py, pz, qx, qy, qz, qw]``,
global quaternions, metres (SPEC section 1).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from llavataros.errors import InputError
from llavataros.face.take import FACE_SUFFIX
from llavataros.motion import rotations
from llavataros.motion.kinematics import forward_kinematics
from llavataros.motion.skeleton import AVATAROS, NUM_JOINTS, Skeleton
from llavataros.motion.timing import COMMON_FRAME_RATES

FPS_TOLERANCE = 0.02  # relative mismatch allowed between frame count and audio duration


@dataclass
class Motion:
    """Joint positions ``(t, j, 3)`` in metres and global quaternions ``(t, j, 4)`` at ``fps``."""

    positions: np.ndarray
    rotations: np.ndarray
    fps: float
    skeleton: Skeleton = field(default=AVATAROS)

    def __post_init__(self):
        self.positions = np.asarray(self.positions, dtype=np.float64)
        self.rotations = np.asarray(self.rotations, dtype=np.float64)
        if self.positions.shape[:-1] != self.rotations.shape[:-1]:
            raise ValueError("positions and rotations disagree on frames/joints")

    @property
    def num_frames(self) -> int:
        return len(self.positions)

    @property
    def duration(self) -> float:
        return self.num_frames / self.fps

    @classmethod
    def from_array(cls, array: np.ndarray, fps: float, skeleton: Skeleton = AVATAROS) -> Motion:
        array = np.asarray(array, dtype=np.float64)
        return cls(array[..., :3], array[..., 3:], fps, skeleton)

    @classmethod
    def from_root_and_rotations(
        cls,
        root_positions: np.ndarray,
        global_rotations: np.ndarray,
        fps: float,
        skeleton: Skeleton = AVATAROS,
    ) -> Motion:
        """Kinematically consistent motion: positions by forward kinematics."""
        q = rotations.make_continuous(rotations.normalize(global_rotations))
        return cls(forward_kinematics(root_positions, q, skeleton), q, fps, skeleton)

    def to_array(self, dtype=np.float32) -> np.ndarray:
        return np.concatenate([self.positions, self.rotations], axis=-1).astype(dtype)

    def with_continuous_rotations(self) -> Motion:
        q = rotations.make_continuous(rotations.normalize(self.rotations))
        return replace(self, rotations=q)

    def slice(self, start: int, stop: int) -> Motion:
        return replace(
            self, positions=self.positions[start:stop], rotations=self.rotations[start:stop]
        )


def motion_paths(folder: Path) -> list[Path]:
    """The ``NAME.npy`` takes in ``folder`` (not recursive), sorted by name; a take's face
    (``NAME.face.npy``, written beside it by ``animate`` and ``synth-corpus``) is not a take."""
    return sorted(p for p in Path(folder).glob("*.npy") if not p.name.endswith(FACE_SUFFIX))


def validate_array(array: np.ndarray, source: str | Path) -> np.ndarray:
    """Check shape ``(t, 9, 7)``, finiteness and non-degenerate quaternions."""
    if not isinstance(array, np.ndarray):
        raise InputError(source, "expected a single .npy array (not an .npz archive)")
    if not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
        raise InputError(source, f"expected a numeric array, got dtype {array.dtype}")
    if array.ndim != 3 or array.shape[1:] != (NUM_JOINTS, 7):
        raise InputError(
            source, f"expected an array of shape (T, {NUM_JOINTS}, 7), got {tuple(array.shape)}"
        )
    if len(array) == 0:
        raise InputError(source, "motion has no frames")
    if not np.all(np.isfinite(array)):
        bad = int(np.argwhere(~np.isfinite(array))[0, 0])
        raise InputError(source, f"motion contains NaN or infinite values (first at frame {bad})")
    norms = np.linalg.norm(array[..., 3:], axis=-1)
    if np.any(norms < 1e-6):
        raise InputError(source, "motion contains zero-length quaternions")
    return array


def detect_fps(num_frames: int, audio_duration: float | None, source: str | Path) -> float:
    """Frame rate from frame count and audio duration, snapped to a common rate."""
    if audio_duration is None or audio_duration <= 0:
        raise InputError(
            source,
            "cannot determine the frame rate: no fps given, no "
            "metadata and no audio beside the take (pass --fps)",
        )
    estimate = num_frames / audio_duration
    best = min(COMMON_FRAME_RATES, key=lambda rate: abs(rate - estimate))
    if abs(best - estimate) / best > FPS_TOLERANCE:
        raise InputError(
            source,
            f"cannot determine the frame rate: {num_frames} frames for "
            f"{audio_duration:.2f} s of audio is {estimate:.2f} fps, "
            "not a common rate (pass --fps)",
        )
    return best


def audio_duration_beside(npy_path: Path) -> float | None:
    """Duration in seconds of ``NAME.wav`` beside ``NAME.npy``, or None if absent/unreadable."""
    path = Path(npy_path).with_suffix(".wav")
    if not path.exists():
        return None
    import soundfile

    try:
        info = soundfile.info(str(path))
    except Exception:  # noqa: BLE001 - unreadable audio just means "no duration"
        return None
    return info.frames / info.samplerate


def _metadata_fps(npy_path: Path) -> float | None:
    meta = npy_path.with_suffix(".json")
    if not meta.exists():
        return None
    try:
        data = json.loads(meta.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise InputError(meta, f"unreadable metadata ({error})") from None
    if not (isinstance(data, dict) and "fps" in data):
        return None
    try:
        return float(data["fps"])
    except (TypeError, ValueError):
        raise InputError(meta, f"fps must be a number, got {data['fps']!r}") from None


def load_raw_array(path: str | Path) -> np.ndarray:
    """The validated ``(t, 9, 7)`` float64 array of a take, exactly as stored (no sign fixes)."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "file not found")
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as error:
        raise InputError(path, f"not a readable .npy array ({error or 'empty file'})") from None
    return validate_array(array, path).astype(np.float64)  # validate first: dtype, npz


def take_fps(
    path: str | Path, num_frames: int, fps: float | None = None, audio: str | Path | None = None
) -> float:
    """The frame rate of take ``path``: ``fps`` if given, else ``NAME.json``, else derived from
    the duration of ``audio`` (the take's speech, e.g. ``render --audio``) or of ``NAME.wav``
    beside it."""
    path = Path(path)
    if fps is None:
        fps = _metadata_fps(path)
    if fps is None:
        if audio is not None:
            from llavataros.speech.audio import audio_duration

            duration = audio_duration(audio)
        else:
            duration = audio_duration_beside(path)
        fps = detect_fps(num_frames, duration, path)
    if not (np.isfinite(fps) and fps > 0):
        raise InputError(path, f"frame rate must be a positive number, got {fps}")
    return float(fps)


def load_take(
    path: str | Path,
    fps: float | None = None,
    skeleton: Skeleton = AVATAROS,
    audio: str | Path | None = None,
) -> Motion:
    """Load an AvatarOS ``.npy`` take; fps from the argument, ``NAME.json``, the duration of
    ``audio`` or of ``NAME.wav``."""
    array = load_raw_array(path)
    motion = Motion.from_array(array, take_fps(path, len(array), fps, audio), skeleton)
    return motion.with_continuous_rotations()


def save_take(motion: Motion, path: str | Path, write_metadata: bool = False, **fields) -> Path:
    """Write ``(t, 9, 7)`` float32; optionally ``NAME.json`` beside it with the fps and any
    further ``fields``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, motion.to_array(np.float32))
    if write_metadata:
        metadata = {"fps": motion.fps, **fields}
        path.with_suffix(".json").write_text(json.dumps(metadata) + "\n")
    return path
