"""From body-model output rows to AvatarOS frames: the one post-processing path of offline
generation and the stream.

Model rows ``(t, 3 + 6 j)`` at the model's fps become root positions and sign-continuous
global quaternions (:func:`~llavataros.models.geometry.output_to_root_and_rotations`), are
resampled to the output fps by slerp (as :func:`llavataros.motion.resample.resample`), and
smoothed with Savitzky-Golay (order 2, as in the paper; :func:`llavataros.motion.smoothing.smooth`),
with positions by forward kinematics. The window spans a fixed time, the model's
``smoothing_seconds`` (:func:`smoothing_window`: 9 frames at 30 fps, 17 at 60 for 0.267 s), so
a model's motion is the same at any output rate. A model may also set a ``speed_limit``
(:class:`~llavataros.motion.smoothing.SpeedLimit`): more smoothing where its wrists move faster
than people's do.

:class:`MotionAssembler` does this incrementally: it keeps a short trailing buffer, and
releases an output frame once every model frame it interpolates and every frame its smoothing
reads are known. Offline generation pushes all rows at once and finishes, so both
run the same code.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from llavataros.models.geometry import RootStatistics, output_to_root_and_rotations
from llavataros.motion import rotations
from llavataros.motion.skeleton import Skeleton
from llavataros.motion.smoothing import SpeedLimit, smooth_root_and_rotations, smoothing_window
from llavataros.motion.take import Motion

SMOOTH_ORDER = 2  # LLAniMAtion's post-processing: Savitzky-Golay, window 9 at 30 fps, order 2
DEFAULT_SMOOTHING_SECONDS = 8 / 30  # the span of that window (9 frames at 30 fps)
EXACT = 1e-6  # frame times closer than this to a whole model frame are on it


class MotionAssembler:
    """Push model output rows; receive output frames ``(n, j, 7)`` float32 at ``fps`` once
    they are final; :meth:`finish` with the total frame count returns the rest. ``smooth``:
    the Savitzky-Golay window spans ``smoothing_seconds``, with ``speed_limit`` if given."""

    def __init__(
        self,
        skeleton: Skeleton,
        root_statistics: RootStatistics,
        model_fps: float,
        fps: float,
        smooth: bool = True,
        smoothing_seconds: float = DEFAULT_SMOOTHING_SECONDS,
        speed_limit: SpeedLimit | None = None,
    ):
        self.skeleton, self.root_statistics = skeleton, root_statistics
        self.model_fps, self.fps = float(model_fps), float(fps)
        self.window = smoothing_window(smoothing_seconds, self.fps) if smooth else 1
        self.speed_limit = speed_limit if smooth else None
        # frames each side an output frame reads (0: no smoothing, a window of 1)
        self.half = self.window // 2
        if self.speed_limit is not None:
            self.half = self.speed_limit.reach(self.fps, self.window)
        self.model_root = np.zeros((0, 3))  # model-rate frames kept for resampling
        self.model_quats = np.zeros((0, skeleton.num_joints, 4))
        self.model_first = 0  # absolute index of model_root[0]
        self.model_total = 0  # model frames received so far
        self.frames_out = 0  # output frames released

    @property
    def latency_frames(self) -> int:
        """Output frames held back for the smoothing window."""
        return self.half

    @property
    def interpolation_seconds(self) -> float:
        """The longest wait of an output frame for the next model frame it interpolates
        (0 when the output rate divides the model rate)."""
        ratio = self.model_fps / self.fps
        frames = np.arange(math.ceil(self.fps) * 10)  # every phase of common rates
        needed = np.ceil(frames * ratio - EXACT)  # the latest model frame each one reads
        return float(np.max(needed / self.model_fps - frames / self.fps))

    def push(self, output: torch.Tensor) -> np.ndarray:
        """Add model rows ``(n, 3 + 6 j)``; return the output frames now final."""
        self.add(output)
        return self._as_frames(self._release(None))

    def finish(self, total_frames: int) -> np.ndarray:
        """The remaining frames of a sequence of ``total_frames`` output frames."""
        return self._as_frames(self._release(total_frames))

    def finish_motion(self, total_frames: int) -> Motion | None:
        """As :meth:`finish`, as a :class:`Motion` (None when no frame is left)."""
        return self._release(total_frames)

    def _as_frames(self, motion: Motion | None) -> np.ndarray:
        if motion is None:
            return np.zeros((0, self.skeleton.num_joints, 7), np.float32)
        return motion.to_array(np.float32)

    def add(self, output: torch.Tensor) -> None:
        """Add model rows ``(n, 3 + 6 j)`` without releasing frames."""
        if output.shape[0] == 0:
            return
        root, quats = output_to_root_and_rotations(output, self.root_statistics)
        if len(self.model_quats):
            quats = rotations.make_continuous(np.concatenate([self.model_quats[-1:], quats]))[1:]
        else:
            quats = rotations.make_continuous(quats)
        self.model_root = np.concatenate([self.model_root, root])
        self.model_quats = np.concatenate([self.model_quats, quats])
        self.model_total += len(root)

    def _release(self, total_frames: int | None) -> Motion | None:
        """The output frames now final (all of them when ``total_frames`` is given)."""
        final = total_frames is not None
        ratio = self.model_fps / self.fps  # model frames per output frame
        if final:
            ready = total_frames
        else:
            # output frame k sits at model time k r: it needs model frames floor(k r) and
            # ceil(k r) (one frame when k r is whole), so frames up to (total - 1) / r are ready
            ready = 0
            if self.model_total:
                ready = math.floor((self.model_total - 1) / ratio + EXACT) + 1
        release = ready if final else ready - self.half
        if ready <= self.frames_out or release <= self.frames_out:
            return None
        start = max(0, self.frames_out - 2 * self.half)
        if self.half and not final and ready - start < 2 * self.half + 1:
            return None  # not yet a whole smoothing window of new context
        root, quats = self._interpolate(start, ready, final)
        edges = start == 0 or final  # only the first and the last chunk keep edge frames
        if self.speed_limit is not None:
            root, quats = self.speed_limit.apply(
                root, quats, self.fps, self.skeleton, self.window, SMOOTH_ORDER, edges
            )
        elif self.half:
            root, quats = smooth_root_and_rotations(root, quats, self.window, SMOOTH_ORDER, edges)
        keep = slice(self.frames_out - start, release - start)
        motion = Motion.from_root_and_rotations(root[keep], quats[keep], self.fps, self.skeleton)
        self.frames_out = release
        self._forget(ratio)
        return motion

    def _interpolate(self, start: int, stop: int, final: bool) -> tuple[np.ndarray, np.ndarray]:
        """Root positions and global quaternions of output frames ``start .. stop - 1`` by
        slerp between model frames."""
        source = np.arange(start, stop) * (self.model_fps / self.fps)
        if final:
            source = np.clip(source, 0.0, self.model_total - 1)
        before = np.floor(source).astype(int)
        after = np.minimum(before + 1, self.model_total - 1)
        fraction = source - before
        b, a = before - self.model_first, after - self.model_first
        root = self.model_root[b] + fraction[:, None] * (self.model_root[a] - self.model_root[b])
        return root, rotations.slerp(self.model_quats[b], self.model_quats[a], fraction[:, None])

    def _forget(self, ratio: float) -> None:
        """Drop model frames no later output frame can read."""
        needed = max(0, self.frames_out - 2 * self.half - 1)
        drop = max(0, math.floor(needed * ratio) - self.model_first)
        if drop:
            self.model_root, self.model_quats = self.model_root[drop:], self.model_quats[drop:]
            self.model_first += drop


def assemble_motion(
    output: torch.Tensor,
    skeleton: Skeleton,
    root_statistics: RootStatistics,
    model_fps: float,
    fps: float,
    total_frames: int,
    smooth: bool = True,
    smoothing_seconds: float = DEFAULT_SMOOTHING_SECONDS,
    speed_limit: SpeedLimit | None = None,
) -> Motion:
    """A whole sequence of model rows ``(t, 3 + 6 j)`` to ``total_frames`` output frames."""
    assembler = MotionAssembler(
        skeleton, root_statistics, model_fps, fps, smooth, smoothing_seconds, speed_limit
    )
    assembler.add(output)
    return assembler.finish_motion(total_frames)
