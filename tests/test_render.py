"""Renderer: front-view orientation, painter's order, MP4 frames/fps/duration/audio, errors."""

from __future__ import annotations

import re
import subprocess

import imageio_ffmpeg
import numpy as np
import pytest
import soundfile

from llavataros.errors import InputError
from llavataros.motion import rotations
from llavataros.motion.skeleton import AVATAROS, NUM_JOINTS
from llavataros.motion.take import Motion
from llavataros.render import RenderStyle, render_frame, render_frames, render_video, save_png
from llavataros.render.raster import draw_capsule, new_canvas, text_mask, to_image
from llavataros.render.video import _build_scene

STYLE = RenderStyle()
UP, DOWN = np.array([0.0, 1.0, 0.0]), np.array([0.0, -1.0, 0.0])
SIDE_RIGHT, SIDE_LEFT = np.array([-1.0, 0.0, 0.0]), np.array([1.0, 0.0, 0.0])
FORWARD, BACKWARD = np.array([0.0, 0.0, 1.0]), np.array([0.0, 0.0, -1.0])


def pose_motion(right_upper, right_fore, left_upper, left_fore, frames=2, fps=30.0) -> Motion:
    """Identity torso; each arm bone points along the given world direction(s) ``(3,)`` or
    ``(frames, 3)``. Positions follow by forward kinematics."""
    q = np.tile(rotations.IDENTITY, (frames, NUM_JOINTS, 1))
    for joint, direction in ((3, right_upper), (4, right_fore), (6, left_upper), (7, left_fore)):
        direction = np.broadcast_to(np.asarray(direction, dtype=np.float64), (frames, 3))
        q[:, joint] = rotations.between(np.broadcast_to(UP, (frames, 3)), direction)
    root = np.tile([0.0, 0.9, 0.0], (frames, 1))
    return Motion.from_root_and_rotations(root, q, fps, AVATAROS)


def swinging_motion(seconds: float, fps: float) -> Motion:
    """Arms hanging and swinging sideways once per second, forearms bent forward."""
    t = np.arange(int(round(seconds * fps))) / fps
    angle = 0.6 + 0.5 * np.sin(2 * np.pi * t)  # (t,) radians away from hanging down
    right = np.stack([-np.sin(angle), -np.cos(angle), np.zeros_like(t)], axis=1)
    left = np.stack([np.sin(angle), -np.cos(angle), np.zeros_like(t)], axis=1)
    fore = np.array([0.0, -0.3, 1.0])
    return pose_motion(right, fore, left, fore, frames=len(t), fps=fps)


def pixels_of(image: np.ndarray, color) -> np.ndarray:
    """``(n, 2)`` (row, column) of pixels exactly of ``color``."""
    return np.argwhere(np.all(image == np.asarray(color, dtype=np.uint8), axis=-1))


def probe(path) -> str:
    result = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(path)],
        capture_output=True,
        text=True,
    )
    return result.stderr


def write_tone(path, seconds: float, rate: int = 16000):
    t = np.arange(int(seconds * rate)) / rate
    soundfile.write(path, 0.3 * np.sin(2 * np.pi * 220 * t), rate)
    return path


def test_front_view_right_side_on_viewer_left_and_up_is_up(tmp_path):
    motion = pose_motion(SIDE_RIGHT, SIDE_RIGHT, UP, UP)  # right arm out sideways, left arm up
    image = render_frame(motion, 0, size=(240, 240))
    assert image.shape == (240, 240, 3) and image.dtype == np.uint8
    save_png(image, tmp_path / "pose.png")
    right, left = pixels_of(image, STYLE.right_arm), pixels_of(image, STYLE.left_arm)
    torso, head = pixels_of(image, STYLE.torso), pixels_of(image, STYLE.head)
    assert len(right) > 50 and len(left) > 50 and len(torso) > 50 and len(head) > 50
    # The character's right (-X) is on the viewer's left.
    assert right[:, 1].mean() < 120 < left[:, 1].mean()
    assert right[:, 1].min() < torso[:, 1].min()
    # +Y up: head above the pelvis, the raised left hand above the head, the side arm level.
    assert head[:, 0].mean() < torso[:, 0].mean() < torso[:, 0].max()
    assert left[:, 0].min() < head[:, 0].min()
    assert right[:, 0].max() < torso[:, 0].max()


def test_mirrored_pose_swaps_sides():
    image = render_frame(pose_motion(DOWN, DOWN, SIDE_LEFT, SIDE_LEFT), 0, size=(240, 240))
    right, left = pixels_of(image, STYLE.right_arm), pixels_of(image, STYLE.left_arm)
    assert right[:, 1].mean() < 120 < left[:, 1].mean()
    assert left[:, 1].max() > right[:, 1].max() + 60  # the outstretched left arm reaches far


@pytest.mark.parametrize("direction, expected", [(FORWARD, "right_arm"), (BACKWARD, "torso")])
def test_nearer_bones_are_drawn_over_farther_ones(direction, expected):
    # Upper arm forward or backward, forearm across the body's midline at shoulder height:
    # in front of the neck it covers it, behind it is hidden.
    motion = pose_motion(direction, SIDE_LEFT, DOWN, DOWN)
    image = render_frame(motion, 0, size=(240, 240))
    from llavataros.render.video import make_framing

    framing = make_framing(motion, 0, 240, 240)
    shoulder = motion.positions[0, 3]
    x, y = np.rint(framing.project([0.0, shoulder[1], 0.0])).astype(int)
    assert tuple(image[y, x]) == getattr(STYLE, expected)


def test_framing_is_fixed_across_frames():
    motion = swinging_motion(1.0, 30.0)
    first, later = render_frame(motion, 0), render_frame(motion, 7)
    head_first, head_later = pixels_of(first, STYLE.head), pixels_of(later, STYLE.head)
    assert np.array_equal(head_first, head_later)  # the torso does not move: same pixels
    assert not np.array_equal(first, later)  # the arms do


def test_side_by_side_doubles_width_and_titles_are_drawn():
    motion = swinging_motion(0.5, 30.0)
    single = render_frame(motion, 3, size=(200, 160))
    double = render_frame([motion, motion], 3, size=(200, 160), titles=["real", "generated"])
    assert double.shape == (160, 400, 3)
    assert pixels_of(single, STYLE.text).size == 0
    assert len(pixels_of(double[:, :200], STYLE.text)) > 20
    # Identical motions give identical figures in both panels.
    assert np.array_equal(double[40:, 1:200], double[40:, 201:400])


def test_shorter_motion_holds_its_last_frame():
    frames = list(render_frames([swinging_motion(0.5, 30), swinging_motion(0.2, 30)], (64, 64)))
    assert len(frames) == 15
    assert np.array_equal(frames[6][:, 64:], frames[14][:, 64:])


def test_capsule_coverage_is_antialiased():
    canvas = new_canvas(20, 20, (0, 0, 0))
    draw_capsule(canvas, (5.0, 10.0), (15.0, 10.0), 2.0, (255, 255, 255))
    image = to_image(canvas)
    assert image[10, 10, 0] == 255 and image[11, 10, 0] == 255  # inside (distance <= r - 0.5)
    assert image[12, 10, 0] == 128  # the edge (distance r) is half covered
    assert image[13, 10, 0] == 0 and image[10, 2, 0] == 0  # outside, beyond the round cap
    assert image[10, 3, 0] == 128  # the cap reaches r past the end point
    assert text_mask("Hi", 2).shape == (14, 22)


def test_save_png_round_trips(tmp_path):
    pil = pytest.importorskip("PIL.Image")
    image = render_frame(swinging_motion(0.2, 30.0), 1, size=(64, 48))
    path = save_png(image, tmp_path / "still.png")
    assert np.array_equal(np.asarray(pil.open(path).convert("RGB")), image)


def test_video_has_frames_fps_duration_and_audio(tmp_path):
    motion = swinging_motion(2.0, 30.0)  # 60 frames
    audio = write_tone(tmp_path / "speech.wav", 1.5)  # shorter: padded with silence
    out = render_video(motion, tmp_path / "out" / "speech.mp4", audio, size=(160, 120))
    assert out == tmp_path / "out" / "speech.mp4" and out.stat().st_size > 0
    frames, seconds = imageio_ffmpeg.count_frames_and_secs(str(out))
    assert frames == 60
    assert seconds == pytest.approx(2.0, abs=0.05)
    info = probe(out)
    assert re.search(r"Video: h264.*yuv420p.*160x120.* 30 fps", info)
    assert "Audio: aac" in info
    assert [p.name for p in out.parent.iterdir()] == ["speech.mp4"]  # no temporary left


def test_silent_side_by_side_video(tmp_path):
    motion = swinging_motion(1.0, 25.0)
    out = render_video([motion, motion], tmp_path / "pair.mp4", size=(96, 64), titles=["a", "b"])
    info = probe(out)
    assert re.search(r"Video: h264.* 192x64.* 25 fps", info)
    assert "Audio:" not in info
    assert imageio_ffmpeg.count_frames_and_secs(str(out))[0] == 25


@pytest.mark.parametrize("content", [None, b"this is not audio"])
def test_bad_audio_raises_and_leaves_no_file(tmp_path, content):
    audio = tmp_path / "speech.wav"
    if content is not None:
        audio.write_bytes(content)
    out_dir = tmp_path / "out"
    with pytest.raises(InputError, match="speech.wav"):
        render_video(swinging_motion(0.5, 30.0), out_dir / "speech.mp4", audio, size=(64, 64))
    assert not out_dir.exists() or not any(out_dir.iterdir())


def test_bad_motion_and_titles_raise(tmp_path):
    motion = swinging_motion(0.5, 30.0)
    broken = Motion(motion.positions.copy(), motion.rotations, 30.0)
    broken.positions[3, 2, 0] = np.nan
    with pytest.raises(InputError, match="NaN"):
        render_video(broken, tmp_path / "x.mp4")
    with pytest.raises(InputError, match="titles"):
        render_frame([motion, motion], 0, titles=["only one"])
    assert not any(tmp_path.iterdir())


def drawn_box(motion: Motion, size: tuple[int, int]) -> tuple[float, float]:
    """Height and width shares of the frame covered by the figure over the take (pixels that
    differ from the empty panel: background and root reference line)."""
    empty = np.asarray(_build_scene(motion, size, None, STYLE).background)
    drawn = np.zeros(empty.shape[:2], bool)
    for index in range(0, motion.num_frames, 3):
        image = render_frame(motion, index, size=size).astype(np.float32)
        drawn |= np.abs(image - empty).max(axis=-1) > 8
    rows, columns = np.nonzero(drawn)
    height, width = drawn.shape
    return (rows.max() - rows.min() + 1) / height, (columns.max() - columns.min() + 1) / width


@pytest.mark.parametrize("size", [(480, 480), (640, 360)])
def test_the_figure_fills_the_frame(size):
    height_share, width_share = drawn_box(swinging_motion(1.0, 30.0), size)
    assert max(height_share, width_share) > 0.8  # the limiting side, less the margin
    assert height_share * width_share > 0.35
    assert height_share < 1.0 and width_share < 1.0  # nothing cut off at the edges


def test_face_on_the_head_follows_the_weights():
    from llavataros.face.arkit import index

    motion = pose_motion(DOWN, DOWN, DOWN, DOWN)
    rest = np.zeros((motion.num_frames, 52), np.float32)
    open_jaw, blink = rest.copy(), rest.copy()
    open_jaw[:, index("jawOpen")] = 1.0
    blink[:, [index("eyeBlinkLeft"), index("eyeBlinkRight")]] = 1.0
    plain = render_frame(motion, 0)
    images = {name: render_frame(motion, 0, face=f) for name, f in
              (("rest", rest), ("jaw", open_jaw), ("blink", blink))}  # fmt: skip
    assert not np.array_equal(plain, images["rest"])  # a face is drawn
    changed = np.argwhere(np.any(images["rest"] != images["jaw"], axis=-1))
    blinked = np.argwhere(np.any(images["rest"] != images["blink"], axis=-1))
    assert len(changed) > 20 and len(blinked) > 5
    # the jaw changes the lower half of the head, the blink its upper half
    assert changed[:, 0].min() > blinked[:, 0].max()
    dark = np.all(images["jaw"] == np.array([120, 40, 40], np.uint8), axis=-1)
    assert dark.sum() > 20 and not np.all(images["rest"] == [120, 40, 40], axis=-1).any()
    with pytest.raises(InputError, match="face"):
        render_frame(motion, 0, face=np.zeros((2, 51), np.float32))
