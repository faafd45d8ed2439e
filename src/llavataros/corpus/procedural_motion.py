"""Procedural upper-body motion for a synthetic speech take (SPEC section 4).

Pipeline of :func:`generate_motion` (all arrays over the ``t`` frames of the take):

1. plan the semantic gestures of the trigger words and the beats of the loudness peaks
   (:mod:`.plan`, :mod:`.beats`);
2. spine: rest posture of the sample take plus the speaker's slouch, breathing, slow sway,
   gesture leans and small nods on beats -> global rotations of Spine/Spine1/Spine2;
3. wrist targets in the body frame (relative to Spine2, see
   :func:`llavataros.gestures.detectors.body_frame`): minimum-jerk keyframes of gestures and beat
   segments, beat down-strokes and a little idle drift;
4. two-bone IK per arm (:mod:`.poses`) -> global rotations of the arm joints;
5. positions by forward kinematics, so bone lengths are exactly the skeleton's.

The result is a :class:`~llavataros.motion.take.Motion` at ``fps`` with
``T = round(audio duration * fps)`` frames and the :class:`~.labels.GestureLabels`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from llavataros.corpus import poses
from llavataros.corpus.beat_candidates import beat_candidates
from llavataros.corpus.curves import keyframe_curve, pulse_train, slow_wander
from llavataros.corpus.labels import BeatLabel, GestureLabel, GestureLabels
from llavataros.corpus.plan import (
    BEAT_JITTER,
    BEAT_LOWER,
    BEAT_RISE,
    BeatSegment,
    PlannedGesture,
    TimedKey,
    hand_timeline,
    plan_beats,
    plan_gestures,
)
from llavataros.corpus.shapes import KEEP_OUT_MARGIN, keep_out_regions
from llavataros.corpus.styles import SpeakerStyle
from llavataros.gestures.landmarks import body_frame
from llavataros.motion import rotations
from llavataros.motion.kinematics import forward_kinematics
from llavataros.motion.skeleton import (
    AVATAROS,
    LEFT_SHOULDER,
    RIGHT_SHOULDER,
    ROOT,
    SPINE2,
    Skeleton,
)
from llavataros.motion.take import Motion
from llavataros.motion.timing import frame_count

if TYPE_CHECKING:
    from llavataros.corpus.speech_takes import SpeechTake

BEAT_DOWN, BEAT_UP = 0.20, 0.30  # s of the down-stroke and of the recovery
BEAT_DIRECTION = np.array([0.0, -1.0, -0.25])  # down and slightly toward the body
BEAT_KEEP = (0.6, 0.35)  # chance a run of beats is performed: calm + animated * amplitude
BEAT_LIFT = (0.12, 0.10)  # m the beat hand rises above rest: calm + animated * amplitude
BEAT_FORWARD = (0.04, 0.10)  # m the beat hand comes forward of rest: calm + animated * amp.
DOWN_SAFE_HEIGHT = -0.25  # m; below this (and 0.20 m forward) a wrist could look like DOWN
BEAT_LOW_FORWARD = 0.155  # m; forward limit of a beat space whose strokes reach that low
NOMINAL_SHOULDER = np.array([-0.13, 0.11, 0.03])  # right shoulder, body frame (m)
IDLE_DRIFT, IDLE_RATE = 0.02, 0.45  # m, Hz: resting hands are never quite still
IDLE_FADE, IDLE_FLOOR = 0.15, 0.4  # the drift fades to 40 % within 0.15 m of leaving rest
SHOULDER_CLEARANCE = 0.2  # m the wrist path keeps from the shoulder
HAND_FLEX = 0.18  # rad, resting flexion of the hand relative to the forearm
SIDE = {"right": -1.0, "left": 1.0}
ARM_JOINTS = {"right": (3, 4, 5), "left": (6, 7, 8)}
SHOULDER = {"right": RIGHT_SHOULDER, "left": LEFT_SHOULDER}


def home_pose(style: SpeakerStyle, hand: str) -> np.ndarray:
    """Rest wrist position ``(3,)`` in the body frame (relative to Spine2), metres: arms
    hanging close to the body at ``arm_hang`` to the side, slightly raised and brought forward
    by ``elbow_bend`` (the AvatarOS sample rests at about (0.235, -0.385, 0.12), its arms
    stretched to 97 % of their length)."""
    bend = style.elbow_bend
    return np.array([SIDE[hand] * style.arm_hang, -0.39 + 0.01 * bend, 0.10 + 0.03 * bend])


def beat_space(style: SpeakerStyle, home: np.ndarray) -> np.ndarray:
    """Where a hand waits between beats ``(3,)``: a little above and in front of its rest
    pose, higher for speakers with a larger ``gesture_amplitude`` (calm to animated)."""
    amplitude = style.gesture_amplitude
    height = home[1] + BEAT_LIFT[0] + BEAT_LIFT[1] * amplitude
    forward = home[2] + BEAT_FORWARD[0] + BEAT_FORWARD[1] * amplitude
    if height - style.beat_amplitude - BEAT_JITTER - 0.02 < DOWN_SAFE_HEIGHT:
        forward = min(forward, BEAT_LOW_FORWARD)
    return np.array([home[0], height, forward])


def generate_motion(
    speech: SpeechTake,
    style: SpeakerStyle,
    fps: float = 60.0,
    rng: np.random.Generator | None = None,
    right_wrist_hand: str = "right",
    skeleton: Skeleton = AVATAROS,
) -> tuple[Motion, GestureLabels]:
    """Motion and labels for ``speech`` (a ``SpeechTake``: ``audio``, ``sample_rate``,
    ``transcript``, ``triggers`` with word times) in the style of one speaker.

    ``right_wrist_hand="left"`` performs the right-wrist classes (YOU, NO, EAT) with the left
    hand; only used to build the unmirrored source of a mirrored take."""
    rng = np.random.default_rng(0) if rng is None else rng
    plan_rng, beat_rng, idle_rng = rng.spawn(3)
    duration = len(speech.audio) / speech.sample_rate
    frames = frame_count(duration, fps)
    t = np.arange(frames) / fps  # (t,)
    homes = {hand: home_pose(style, hand) for hand in ("right", "left")}

    planned = plan_gestures(
        speech.triggers,
        style.dominant_hand,
        style.gesture_amplitude,
        style.tempo,
        homes,
        plan_rng,
        right_wrist_hand,
    )
    timelines = {hand: hand_timeline(planned, hand) for hand in ("right", "left")}
    candidates = beat_candidates(speech.audio, speech.sample_rate, speech.transcript.words)
    segments = plan_beats(
        candidates,
        {h: timelines[h][1] for h in timelines},
        style.dominant_hand,
        style.beat_amplitude,
        style.two_hand_beats,
        beat_rng,
        keep_chance=BEAT_KEEP[0] + BEAT_KEEP[1] * style.gesture_amplitude,
    )

    root, spine = spine_motion(t, style, planned, segments, idle_rng)  # (t, 3), (t, 3, 4)
    quats = np.tile(rotations.IDENTITY, (frames, skeleton.num_joints, 1))  # (t, j, 4)
    quats[:, :3] = spine
    torso = forward_kinematics(root, quats, skeleton)  # spine and shoulder points are final
    axes = body_frame(torso)  # (t, 3, 3) body axes in world coordinates
    spine_height = torso[:, SPINE2, 1] - torso[:, ROOT, 1]  # (t,)
    lengths = poses.arm_lengths(skeleton)
    for hand in ("right", "left"):
        space = beat_space(style, homes[hand])
        keys = timelines[hand][0] + beat_segment_keys(segments, hand, homes[hand], space)
        offset = wrist_offsets(t, keys, homes[hand], spine_height, fps)
        offset += beat_strokes(t, segments, hand)
        drift = slow_wander(t, idle_rng, IDLE_DRIFT, IDLE_RATE, 3) * np.array([0.5, 0.8, 1.0])
        away = np.linalg.norm(offset - homes[hand], axis=-1, keepdims=True)  # (t, 1)
        offset += drift * np.clip(1.0 - away / IDLE_FADE, IDLE_FLOOR, 1.0)
        target = torso[:, SPINE2] + np.einsum("tij,tj->ti", axes, offset)
        pole = np.einsum("tij,tj->ti", axes, poses.elbow_pole(offset, SIDE[hand]))
        arm = poses.solve_arm(torso[:, SHOULDER[hand]], target, pole, *lengths[hand])
        flex = HAND_FLEX + slow_wander(t, idle_rng, 0.12, 0.3)[:, 0]
        shoulder_joint, elbow_joint, wrist_joint = ARM_JOINTS[hand]
        quats[:, shoulder_joint] = arm.upper
        quats[:, elbow_joint] = arm.fore
        quats[:, wrist_joint] = rotations.multiply(arm.fore, poses.axis_rotation(0, flex))
    motion = Motion.from_root_and_rotations(root, quats, fps, skeleton)
    return motion, make_labels(planned, segments)


def spine_motion(
    t: np.ndarray,
    style: SpeakerStyle,
    planned: Sequence[PlannedGesture],
    segments: Sequence[BeatSegment],
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Root positions ``(t, 3)`` and global Spine/Spine1/Spine2 quaternions ``(t, 3, 4)``."""
    frames = len(t)
    lean = np.zeros((frames, 3))  # whole-spine pitch, roll, yaw
    for gesture in planned:
        times = np.array([gesture.peak + time for time, _ in gesture.shape.lean])
        values = np.stack([value for _, value in gesture.shape.lean])
        inside = (t >= times[0]) & (t <= times[-1])
        lean[inside] += keyframe_curve(times, values, t[inside])
    for segment in segments:  # a small nod with each beat
        lean[:, 0] += pulse_train(
            t, np.array(segment.times), 0.3 * np.array(segment.depths), BEAT_DOWN, BEAT_UP
        )
    breathing_rate = rng.uniform(0.2, 0.3)
    breath = np.sin(2.0 * np.pi * breathing_rate * t + rng.uniform(0, 2 * np.pi))
    sway = slow_wander(t, rng, 1.0, 0.12, 5)  # (t, 5) in [-1, 1]
    share = poses.LEAN_SHARE[None]  # (1, 3)
    pitch = (
        poses.REST_PITCH[None]
        + style.slouch * np.array([0.0, 0.5, 0.5])[None]
        + lean[:, :1] * share
        + style.breathing * breath[:, None] * np.array([0.0, 0.6, 1.0])
        + 0.3 * style.breathing * sway[:, :1] * np.array([1.0, 0.0, 0.0])
    )
    roll = lean[:, 1:2] * share + 0.8 * style.sway * sway[:, 1:2] * np.array([1.0, 0.5, 0.5])
    yaw = lean[:, 2:3] * share + 2.0 * style.sway * sway[:, 2:3] * np.array([0.5, 0.3, 0.2])
    root = np.stack(
        [
            style.sway * sway[:, 3],
            poses.ROOT_HEIGHT + 0.002 * breath,
            0.6 * style.sway * sway[:, 4],
        ],
        axis=-1,
    )
    return root, poses.spine_rotations(pitch, roll, yaw)


def beat_segment_keys(
    segments: Sequence[BeatSegment], hand: str, home: np.ndarray, space: np.ndarray
) -> list[TimedKey]:
    """Rest -> beat space -> rest keys of the beat segments of ``hand``; the beat space
    (:func:`beat_space`) keeps the rest X so beats never move the wrist sideways."""
    keys = []
    for segment in segments:
        if hand not in segment.hands:
            continue
        first, last = segment.times[0], segment.times[-1]
        lifted = space + segment.lift
        rise = [TimedKey(first - BEAT_RISE[0], home), TimedKey(first - BEAT_RISE[1], lifted)]
        if keys and keys[-1].time >= rise[0].time:
            # the previous segment has not reached rest yet: stay in the beat space between
            keys.pop()
            rise = rise[1:]
        keys += [
            *rise,
            TimedKey(last + BEAT_LOWER[0], lifted),
            TimedKey(last + BEAT_LOWER[1], home),
        ]
    return keys


def wrist_offsets(
    t: np.ndarray, keys: list[TimedKey], home: np.ndarray, spine_height: np.ndarray, fps: float
) -> np.ndarray:
    """Body-frame wrist offsets ``(t, 3)`` from keys (sorted here); root-anchored keys get the
    Spine2 height above the root at their time subtracted from their Y; segments passing
    close to the shoulder or through another class's region bend around it."""
    if not keys:
        return np.repeat(home[None], len(t), axis=0)
    keys = sorted(keys, key=lambda key: key.time)
    times = np.array([key.time for key in keys])
    values = np.stack([key.offset for key in keys]).astype(np.float64)
    for index, key in enumerate(keys):
        if key.root_anchored:
            frame = int(np.clip(round(key.time * fps), 0, len(t) - 1))
            values[index, 1] -= spine_height[frame]
    side = float(np.sign(home[0]))
    return keyframe_curve(times, values, t, detours(keys, values, side))


def detours(keys: Sequence[TimedKey], values: np.ndarray, side: float) -> np.ndarray:
    """Bezier controls ``(k - 1, 3)`` (NaN = straight) bending path segments away from

    - the shoulder (``SHOULDER_CLEARANCE``): a wrist crossing the shoulder would fold the
      elbow and swing it around (IK singularity);
    - the regions of SELF, EAT and THINK (:func:`~.shapes.keep_out_regions`), unless the
      segment enters, holds or leaves a gesture of that very class: a transition must not
      look like a gesture nobody asked for.

    Detours go forward and up/down only, never further sideways than the segment's ends.
    """
    shoulder = NOMINAL_SHOULDER * np.array([-side, 1.0, 1.0])
    outward = np.array([0.4 * side, 0.0, 1.0]) / np.hypot(0.4, 1.0)
    hand = "left" if side > 0 else "right"
    controls = np.full((len(values) - 1, 3), np.nan)
    for index in range(len(values) - 1):
        first, last = values[index], values[index + 1]
        ends = (keys[index], keys[index + 1])
        push = np.zeros(3)
        gap = _distance_to_segment(shoulder, first, last)
        if gap < SHOULDER_CLEARANCE:
            push += (SHOULDER_CLEARANCE - gap + 0.03) * outward
        for gesture, centre, radius in keep_out_regions(hand):
            if any(k.gesture == gesture and k.role in ("peak", "hold") for k in ends):
                continue
            gap = _distance_to_segment(centre, first, last)
            clearance = radius + KEEP_OUT_MARGIN
            if gap < clearance:
                away = (_closest_point(centre, first, last) - centre) * np.array([0, 1, 1])
                away = away + np.array([0.0, 0.0, 0.02])  # ties go forward
                push += (clearance - gap) * away / np.linalg.norm(away)
        if np.any(push):
            # The Bezier midpoint moves by half the control's displacement. The control's X
            # stays between the ends' so the wrist never overshoots sideways (a left/right
            # reversal there could look like part of a NO).
            control = 0.5 * (first + last) + 2.0 * push
            control[0] = np.clip(control[0], min(first[0], last[0]), max(first[0], last[0]))
            controls[index] = control
    return controls


def _closest_point(point: np.ndarray, first: np.ndarray, last: np.ndarray) -> np.ndarray:
    step = last - first
    u = np.clip(np.dot(point - first, step) / max(np.dot(step, step), 1e-12), 0.0, 1.0)
    return first + u * step


def _distance_to_segment(point: np.ndarray, first: np.ndarray, last: np.ndarray) -> float:
    return float(np.linalg.norm(_closest_point(point, first, last) - point))


def beat_strokes(t: np.ndarray, segments: Sequence[BeatSegment], hand: str) -> np.ndarray:
    """Down-stroke offsets ``(t, 3)`` of the beats of ``hand``."""
    depth = np.zeros(len(t))
    for segment in segments:
        if hand in segment.hands:
            depth += pulse_train(
                t, np.array(segment.times), np.array(segment.depths), BEAT_DOWN, BEAT_UP
            )
    return depth[:, None] * BEAT_DIRECTION[None]


def make_labels(
    planned: Sequence[PlannedGesture], segments: Sequence[BeatSegment]
) -> GestureLabels:
    """Labels of every planned gesture and beat, in time order."""
    gestures = tuple(
        GestureLabel(
            gesture=g.gesture,
            word=g.word,
            word_index=g.word_index,
            word_start=g.word_start,
            word_end=g.word_end,
            peak=g.peak,
            hand=g.hands[0] if len(g.hands) == 1 else "both",
            start=g.start,
            end=g.end,
        )
        for g in planned
    )
    beats = sorted(
        (
            BeatLabel(time, depth, loudness, s.hands[0] if len(s.hands) == 1 else "both")
            for s in segments
            for time, depth, loudness in zip(s.times, s.depths, s.loudness, strict=True)
        ),
        key=lambda b: b.time,
    )
    return GestureLabels(gestures=gestures, beats=tuple(beats))
