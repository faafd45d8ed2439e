"""Baselines for the evaluation: each makes a :class:`Motion` for a test take and is scored
with the same metrics as a model (SPEC section 5).

- :func:`mean_pose_baseline`: the training mean pose with smooth low-amplitude idle noise on
  the joints' local rotations (a lower bound for BA, diversity and FGD);
- :func:`random_segment_baseline`: a random stretch of real training motion, audio ignored
  (real motion quality without any speech correspondence);
- :func:`nearest_neighbour_baseline`: retrieval by audio features, window by window, with
  crossfades (speech correspondence through copying).

Every output is built with :meth:`Motion.from_root_and_rotations`, so its positions come from
forward kinematics and its bone lengths are the skeleton's (kinematically consistent). Joined
pieces are crossfaded over their overlap: the root linearly, rotations by slerp.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy.ndimage import gaussian_filter1d

from llavataros.errors import InputError
from llavataros.motion import rotations
from llavataros.motion.take import Motion

IDLE_DEGREES = 1.5  # standard deviation of the idle rotation noise per axis
IDLE_SECONDS = 0.5  # time scale (Gaussian sigma) of the idle noise
SEGMENT_CROSSFADE = 15  # frames blended where two random segments meet

Piece = tuple[int, np.ndarray, np.ndarray]  # (first output frame, root (t, 3), quats (t, j, 4))


def average_quaternion(quats: np.ndarray) -> np.ndarray:
    """Sign-invariant average ``(4,)`` of unit quaternions ``(n, 4)``: the principal
    eigenvector of ``sum q q^T`` (Markley et al. 2007)."""
    quats = rotations.normalize(quats)
    scatter = np.einsum("ni,nk->ik", quats, quats)  # (4, 4)
    _, vectors = np.linalg.eigh(scatter)
    mean = vectors[:, -1]
    return mean if mean[3] >= 0 else -mean


def mean_pose(train_motions: Sequence[Motion]) -> tuple[np.ndarray, np.ndarray]:
    """Mean root position ``(3,)`` and per-joint average global rotation ``(j, 4)``."""
    _check_training(train_motions)
    roots = np.concatenate([motion.positions[:, 0] for motion in train_motions])
    quats = np.concatenate([motion.rotations for motion in train_motions])  # (n, j, 4)
    average = np.stack([average_quaternion(quats[:, joint]) for joint in range(quats.shape[1])])
    return roots.mean(axis=0), average


def smooth_noise(
    rng: np.random.Generator, num_frames: int, channels: int, sigma_frames: float
) -> np.ndarray:
    """Gaussian-smoothed white noise ``(num_frames, channels)`` with unit standard deviation."""
    margin = int(math.ceil(4 * sigma_frames))
    white = rng.normal(size=(num_frames + 2 * margin, channels))
    smoothed = gaussian_filter1d(white, sigma_frames, axis=0, mode="nearest")
    # Variance of white noise filtered by a unit-sum Gaussian of width s: 1 / (2 sqrt(pi) s).
    scale = math.sqrt(2.0 * math.sqrt(math.pi) * sigma_frames) if sigma_frames > 0 else 1.0
    return smoothed[margin : margin + num_frames] * scale


def mean_pose_baseline(
    train_motions: Sequence[Motion],
    num_frames: int,
    fps: float,
    rng: np.random.Generator,
    idle_degrees: float = IDLE_DEGREES,
    idle_seconds: float = IDLE_SECONDS,
) -> Motion:
    """The training mean pose held for ``num_frames`` at ``fps``, each joint's local rotation
    turned by smooth noise (``idle_degrees`` per axis, time scale ``idle_seconds``)."""
    _check_frames(num_frames)
    root, average = mean_pose(train_motions)
    skeleton = train_motions[0].skeleton
    parents = skeleton.parents
    joints = len(parents)
    local = to_local(average[None], parents)[0]  # (j, 4) rotation relative to the parent
    noise = smooth_noise(rng, num_frames, 3 * joints, idle_seconds * fps)
    turn = np.radians(idle_degrees) * noise.reshape(num_frames, joints, 3)  # (t, j, 3)
    delta = rotations.from_axis_angle(turn, np.linalg.norm(turn, axis=-1))  # (t, j, 4)
    global_quats = to_global(rotations.multiply(local[None], delta), parents)  # (t, j, 4)
    roots = np.repeat(root[None], num_frames, axis=0)
    return Motion.from_root_and_rotations(roots, global_quats, float(fps), skeleton)


def to_local(global_quats: np.ndarray, parents: Sequence[int]) -> np.ndarray:
    """Rotations relative to the parent ``(..., j, 4)`` from global ones (root unchanged)."""
    local = np.array(global_quats, dtype=np.float64)
    for joint, parent in enumerate(parents):
        if parent >= 0:
            local[..., joint, :] = rotations.multiply(
                rotations.conjugate(global_quats[..., parent, :]), global_quats[..., joint, :]
            )
    return local


def to_global(local_quats: np.ndarray, parents: Sequence[int]) -> np.ndarray:
    """Global rotations ``(..., j, 4)`` from parent-relative ones (parents precede children)."""
    global_quats = np.array(local_quats, dtype=np.float64)
    for joint, parent in enumerate(parents):
        if parent >= 0:
            global_quats[..., joint, :] = rotations.multiply(
                global_quats[..., parent, :], local_quats[..., joint, :]
            )
    return global_quats


def random_segment_baseline(
    train_motions: Sequence[Motion],
    num_frames: int,
    rng: np.random.Generator,
    crossfade: int = SEGMENT_CROSSFADE,
) -> Motion:
    """A random ``num_frames`` stretch of training motion at the training fps (audio ignored).
    When no take is long enough, random segments are joined with ``crossfade``-frame blends."""
    _check_frames(num_frames)
    fps = _check_training(train_motions)
    longest = max(motion.num_frames for motion in train_motions)
    crossfade = max(0, min(int(crossfade), (longest - 1) // 2))  # every join must add frames
    pieces: list[Piece] = []
    covered = 0
    while covered < num_frames:
        start = 0 if not pieces else covered - crossfade
        needed = num_frames - start
        motion, first = _random_stretch(train_motions, needed, rng)
        length = min(needed, motion.num_frames - first)
        if pieces and length <= crossfade:  # too short to add anything after blending
            continue
        stop = first + length
        pieces.append((start, motion.positions[first:stop, 0], motion.rotations[first:stop]))
        covered = start + length
    root, quats = blend_pieces(pieces, num_frames)
    return Motion.from_root_and_rotations(root, quats, fps, train_motions[0].skeleton)


def nearest_neighbour_baseline(
    train_features: Sequence[np.ndarray],
    train_motions: Sequence[Motion],
    test_features: np.ndarray,
    window: int,
    crossfade: int | None = None,
    stride: int | None = None,
    segments: int = 4,
) -> Motion:
    """Motion for ``test_features (t, d)`` by retrieval: each ``window``-frame stretch of the
    test features is matched (L2 distance of z-scored features, averaged over ``segments``
    equal parts of the window) to the nearest training window (one every ``stride`` frames,
    default ``window // 4``); the training motion under it is copied and neighbours are
    crossfaded over ``crossfade`` frames (default ``window // 4``). Test windows start every
    ``window - crossfade`` frames, the last one flush with the end; a clip shorter than
    ``window`` is matched as a single window of its own length.

    ``train_features[i]`` ``(t_i, d)`` is frame-aligned with ``train_motions[i]`` (same fps;
    the longer of the two is cut to the shorter); ``test_features`` are at that fps too. The
    result has ``t`` frames at the training fps."""
    fps = _check_training(train_motions)
    test_features = np.asarray(test_features, dtype=np.float64)
    crossfade = max(1, window // 4) if crossfade is None else int(crossfade)
    stride = max(1, window // 4) if stride is None else int(stride)
    if window < 2 or not 0 <= crossfade < window or stride < 1 or segments < 1:
        raise InputError(
            None,
            f"need window >= 2, 0 <= crossfade < window, stride >= 1, got "
            f"window={window}, crossfade={crossfade}, stride={stride}",
        )
    if len(train_features) != len(train_motions):
        raise InputError(None, "one feature array per training motion is needed")
    if test_features.ndim != 2 or len(test_features) == 0:
        raise InputError(
            None, f"test features must be (t, d) with t >= 1, got {test_features.shape}"
        )
    aligned = [
        np.asarray(f, dtype=np.float64)[: m.num_frames]
        for f, m in zip(train_features, train_motions, strict=True)
    ]
    if any(f.ndim != 2 or f.shape[1] != test_features.shape[1] for f in aligned):
        raise InputError(None, "training and test features disagree in dimension")
    total = len(test_features)
    window = min(window, total)  # a clip shorter than a window is matched as one window
    frames = np.concatenate(aligned)
    mean, std = frames.mean(axis=0), frames.std(axis=0)
    std = np.where(std > 1e-8, std, 1.0)

    bank, owners = [], []  # descriptors (n, segments * d); (motion index, first frame)
    for index, features in enumerate(aligned):
        if len(features) < window:
            continue
        starts = np.arange(0, len(features) - window + 1, stride)
        bank.append(window_descriptors((features - mean) / std, starts, window, segments))
        owners.extend((index, int(s)) for s in starts)
    if not bank:
        raise InputError(None, f"no training take is at least {window} frames long")
    bank = np.concatenate(bank)

    hop = max(1, window - crossfade)
    count = math.ceil((total - window) / hop) + 1
    starts = np.minimum(np.arange(count) * hop, total - window)  # every window is full
    queries = window_descriptors((test_features - mean) / std, starts, window, segments)
    nearest = _nearest(queries, bank)

    pieces: list[Piece] = []
    for start, match in zip(starts, nearest, strict=True):
        index, first = owners[match]
        motion = train_motions[index]
        stop = first + window
        pieces.append((int(start), motion.positions[first:stop, 0], motion.rotations[first:stop]))
    root, quats = blend_pieces(pieces, total)
    return Motion.from_root_and_rotations(root, quats, fps, train_motions[0].skeleton)


def window_descriptors(
    features: np.ndarray, starts: np.ndarray, window: int, segments: int
) -> np.ndarray:
    """``(n, segments * d)`` float32: mean features over ``segments`` equal parts of each window
    ``features[s : s + window]`` for ``s`` in ``starts`` (``features`` is ``(t, d)``)."""
    segments = min(segments, window)
    cumulative = np.concatenate([np.zeros((1, features.shape[1])), np.cumsum(features, axis=0)])
    edges = np.round(np.linspace(0, window, segments + 1)).astype(int)  # (segments + 1,)
    sums = (
        cumulative[starts[:, None] + edges[None, 1:]]
        - cumulative[starts[:, None] + edges[None, :-1]]
    )  # (n, segments, d)
    means = sums / np.diff(edges)[None, :, None]
    return means.reshape(len(starts), -1).astype(np.float32)


def blend_pieces(pieces: Sequence[Piece], total: int) -> tuple[np.ndarray, np.ndarray]:
    """Lay pieces ``(start, root (n, 3), quats (n, j, 4))`` in order on ``total`` frames; where a
    piece overlaps the previous one, fade into it (root linearly, rotations by slerp, weights
    ``1/(k+1) ... k/(k+1)`` over a ``k``-frame overlap). Returns root ``(total, 3)`` and
    continuous quaternions ``(total, j, 4)``."""
    joints = pieces[0][2].shape[1]
    root = np.zeros((total, 3))
    quats = np.zeros((total, joints, 4))
    end = 0
    for start, piece_root, piece_quats in pieces:
        piece_quats = rotations.make_continuous(rotations.normalize(piece_quats))
        length = min(len(piece_root), total - start)
        overlap = max(0, min(end - start, length))
        if overlap:
            weight = np.arange(1, overlap + 1) / (overlap + 1)  # (overlap,)
            span = slice(start, start + overlap)
            root[span] += weight[:, None] * (piece_root[:overlap] - root[span])
            quats[span] = rotations.slerp(quats[span], piece_quats[:overlap], weight[:, None])
        root[start + overlap : start + length] = piece_root[overlap:length]
        quats[start + overlap : start + length] = piece_quats[overlap:length]
        end = max(end, start + length)
    if end < total:
        raise InputError(None, f"pieces cover {end} of {total} frames")
    return root, rotations.make_continuous(quats)


def _nearest(queries: np.ndarray, bank: np.ndarray, chunk: int = 65536) -> np.ndarray:
    """Index ``(n_queries,)`` of the closest bank row (squared L2) for each query row."""
    best = np.full(len(queries), np.inf)
    index = np.zeros(len(queries), dtype=int)
    query_norms = np.sum(queries.astype(np.float64) ** 2, axis=1)
    for offset in range(0, len(bank), chunk):
        block = bank[offset : offset + chunk].astype(np.float64)
        distance = (
            query_norms[:, None]
            + np.sum(block**2, axis=1)[None]
            - 2.0 * queries.astype(np.float64) @ block.T
        )  # (n_queries, n_block)
        local = np.argmin(distance, axis=1)
        value = distance[np.arange(len(queries)), local]
        better = value < best
        best[better], index[better] = value[better], offset + local[better]
    return index


def _random_stretch(
    train_motions: Sequence[Motion], needed: int, rng: np.random.Generator
) -> tuple[Motion, int]:
    """A take and first frame: uniform over all stretches of ``needed`` frames when some take is
    long enough, else a whole take chosen in proportion to its length."""
    lengths = np.array([motion.num_frames for motion in train_motions])
    starts = np.maximum(lengths - needed + 1, 0)
    if starts.sum() > 0:
        choice = rng.choice(len(lengths), p=starts / starts.sum())
        return train_motions[choice], int(rng.integers(starts[choice]))
    return train_motions[rng.choice(len(lengths), p=lengths / lengths.sum())], 0


def _check_frames(num_frames: int) -> None:
    if num_frames < 1:
        raise InputError(None, f"a baseline needs at least one frame, got {num_frames}")


def _check_training(train_motions: Sequence[Motion]) -> float:
    """The common fps of the training motions (they must share fps and skeleton)."""
    if len(train_motions) == 0:
        raise InputError(None, "a baseline needs at least one training motion")
    fps = train_motions[0].fps
    skeleton = train_motions[0].skeleton
    for motion in train_motions:
        if abs(motion.fps - fps) > 1e-6:
            raise InputError(None, f"training motions mix frame rates ({fps} and {motion.fps})")
        if not np.allclose(motion.skeleton.offsets, skeleton.offsets):
            raise InputError(None, "training motions use different skeletons")
        if motion.num_frames == 0:
            raise InputError(None, "a training motion has no frames")
    return float(fps)
