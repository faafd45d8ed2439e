"""Render AvatarOS motion to an MP4 with the speech audio muxed in (SPEC section 2,
``speech.mp4``).

The camera is orthographic and looks at the character from the front: the character faces
+Z, so the camera looks along -Z, +Y is up on screen and the character's right side (-X)
appears on the viewer's left (SPEC section 1 axes). Each motion is drawn in its own panel
(several panels side by side, e.g. real vs generated, at one shared scale), framed to the
space the figure covers over the whole take with a margin, never re-zoomed per frame. Bones
are drawn far-to-near (painter's order by depth) so a hand in front of the chest covers it.
Frames are rasterised with :mod:`llavataros.render.raster` and piped as raw RGB to the ffmpeg
binary of ``imageio-ffmpeg`` (libx264, yuv420p, AAC audio).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from llavataros.errors import InputError
from llavataros.face.take import check_face
from llavataros.motion import rotations
from llavataros.motion.skeleton import SPINE2
from llavataros.motion.take import Motion
from llavataros.render import raster
from llavataros.render.face import draw_face
from llavataros.render.raster import Color


@dataclass(frozen=True)
class RenderStyle:
    """Colours (RGB 0..255) and sizes (metres in the world, px for text) of the drawing."""

    background: Color = (246, 244, 238)
    reference_line: Color = (184, 180, 170)
    torso: Color = (84, 94, 110)
    right_arm: Color = (222, 90, 48)
    left_arm: Color = (40, 112, 200)
    head: Color = (236, 220, 200)
    text: Color = (36, 36, 36)
    joint_shade: float = 0.62  # joint dots are the bone colour times this
    torso_radius: float = 0.030
    arm_radius: float = 0.022
    joint_radius: float = 0.030
    head_radius: float = 0.105
    head_height: float = 0.37  # head centre above Spine2, along Spine2's local +Y
    margin: float = 0.06  # world margin around the reachable extent
    title_scale: int = 2  # bitmap font scale: glyphs are 5x7 times this


DEFAULT_STYLE = RenderStyle()
CRF = 20
PRESET = "veryfast"


@dataclass(frozen=True)
class Framing:
    """Orthographic front camera for one panel: world ``(x, y)`` metres -> panel pixel (x, y).

    ``pixel_x = width / 2 + (x - centre_x) * pixels_per_metre`` and
    ``pixel_y = top + height / 2 - (y - centre_y) * pixels_per_metre`` (rows grow downward);
    ``top`` is the height of the title strip above the drawing area.
    """

    centre_x: float
    centre_y: float
    pixels_per_metre: float
    top: float
    width: float
    height: float

    def project(self, points: np.ndarray) -> np.ndarray:
        """``(..., 3)`` world points -> ``(..., 2)`` pixel coordinates (x right, y down)."""
        points = np.asarray(points, dtype=np.float64)
        x = 0.5 * self.width + (points[..., 0] - self.centre_x) * self.pixels_per_metre
        y = self.top + 0.5 * self.height - (points[..., 1] - self.centre_y) * self.pixels_per_metre
        return np.stack([x, y], axis=-1)


def motion_extent(motion: Motion, style: RenderStyle = DEFAULT_STYLE) -> np.ndarray:
    """``[x_min, x_max, y_min, y_max]`` metres covered by the drawn figure over the whole take:
    every joint (plus its dot), the head disc, and ``style.margin`` around."""
    up = rotations.rotate(motion.rotations[:, SPINE2], np.array([0.0, 1.0, 0.0]))  # (t, 3)
    head = motion.positions[:, SPINE2] + style.head_height * up  # (t, 3)
    pad_joint = max(style.joint_radius, style.torso_radius, style.arm_radius) + style.margin
    pad_head = style.head_radius + style.margin
    joints = motion.positions[..., :2].reshape(-1, 2)  # (t * j, 2)
    low = np.minimum(joints.min(axis=0) - pad_joint, head[:, :2].min(axis=0) - pad_head)
    high = np.maximum(joints.max(axis=0) + pad_joint, head[:, :2].max(axis=0) + pad_head)
    return np.array([low[0], high[0], low[1], high[1]])


def fit_scale(extent: np.ndarray, width: float, height: float) -> float:
    """Pixels per metre at which ``extent`` fits a ``width`` x ``height`` panel."""
    return float(min(width / (extent[1] - extent[0]), height / (extent[3] - extent[2])))


def make_framing(
    motion: Motion,
    top: float,
    width: float,
    height: float,
    style: RenderStyle = DEFAULT_STYLE,
    pixels_per_metre: float | None = None,
) -> Framing:
    """Fixed framing of ``motion`` in a panel, fitted to the space the figure covers over the
    whole take (the view fills the frame, never re-zoomed per frame). ``pixels_per_metre``
    (default: the scale that fits) lets side-by-side panels share one scale."""
    extent = motion_extent(motion, style)
    scale = fit_scale(extent, width, height) if pixels_per_metre is None else pixels_per_metre
    return Framing(
        centre_x=float(0.5 * (extent[0] + extent[1])),
        centre_y=float(0.5 * (extent[2] + extent[3])),
        pixels_per_metre=float(scale),
        top=top,
        width=width,
        height=height,
    )


def _limb_color(name: str, style: RenderStyle) -> Color:
    if name.startswith("Right"):
        return style.right_arm
    if name.startswith("Left"):
        return style.left_arm
    return style.torso


def _shade(color: Color, factor: float) -> Color:
    return tuple(channel * factor for channel in color)


class _Panel:
    """One motion's precomputed 2D drawing data: pixel coordinates for every frame and the
    far-to-near drawing order of its bones and head."""

    def __init__(
        self,
        motion: Motion,
        framing: Framing,
        style: RenderStyle,
        face: np.ndarray | None = None,
    ):
        self.motion = motion
        self.face = None if face is None else check_face(face, "face weights")
        self.framing = framing
        scale = framing.pixels_per_metre
        skeleton = motion.skeleton
        positions = motion.positions  # (t, j, 3)
        up = rotations.rotate(motion.rotations[:, SPINE2], np.array([0.0, 1.0, 0.0]))  # (t, 3)
        head = positions[:, SPINE2] + style.head_height * up  # (t, 3)
        neck_end = head - style.head_radius * up
        self.joints = framing.project(positions).tolist()  # t x j x [x, y]
        self.head = framing.project(head).tolist()  # t x [x, y]
        self.neck_end = framing.project(neck_end).tolist()
        self.bones = [(j, p) for j, p in enumerate(skeleton.parents) if p >= 0]
        # Item k < len(bones) is bone k; the last item is the head (with its neck).
        bone_depth = np.stack(
            [0.5 * (positions[:, j, 2] + positions[:, p, 2]) for j, p in self.bones], axis=1
        )  # (t, bones)
        depth = np.concatenate([bone_depth, head[:, 2:3]], axis=1)  # (t, bones + 1)
        self.order = np.argsort(depth, axis=1, kind="stable").tolist()
        self.colors = [_limb_color(skeleton.names[j], style) for j, _ in self.bones]
        self.joint_colors = [_shade(color, style.joint_shade) for color in self.colors]
        self.radii = [
            (style.torso_radius if color == style.torso else style.arm_radius) * scale
            for color in self.colors
        ]
        self.root_color = _shade(style.torso, style.joint_shade)
        self.joint_radius = style.joint_radius * scale
        self.head_radius = style.head_radius * scale
        self.neck_radius = style.arm_radius * scale
        self.style = style

    def frame_index(self, time: float) -> int:
        """The motion's frame shown at ``time`` seconds (held at the last frame after)."""
        return min(int(round(time * self.motion.fps)), self.motion.num_frames - 1)

    def draw(self, canvas: np.ndarray, index: int) -> None:
        joints = self.joints[index]
        root_drawn = False
        for item in self.order[index]:
            if item == len(self.bones):
                self._draw_head(canvas, index)
                continue
            child, parent = self.bones[item]
            raster.draw_capsule(
                canvas, joints[parent], joints[child], self.radii[item], self.colors[item]
            )
            if self.motion.skeleton.parents[parent] < 0 and not root_drawn:
                raster.draw_disc(canvas, joints[parent], self.joint_radius, self.root_color)
                root_drawn = True
            raster.draw_disc(canvas, joints[child], self.joint_radius, self.joint_colors[item])

    def _draw_head(self, canvas: np.ndarray, index: int) -> None:
        style = self.style
        spine2 = self.joints[index][SPINE2]
        raster.draw_capsule(canvas, spine2, self.neck_end[index], self.neck_radius, style.torso)
        raster.draw_disc(canvas, self.head[index], self.head_radius, style.head)
        raster.draw_ring(canvas, self.head[index], self.head_radius, 2.0, style.torso)
        if self.face is not None and len(self.face):
            weights = self.face[min(index, len(self.face) - 1)]
            draw_face(canvas, self.head[index], self.head_radius, weights, style.torso)


def _even(value: int) -> int:
    return max(2, int(value) // 2 * 2)


class _Scene:
    """Panels side by side on one canvas; ``draw(n)`` renders output frame ``n``."""

    def __init__(
        self,
        motions: Sequence[Motion],
        size: tuple[int, int],
        titles: Sequence[str] | None,
        style: RenderStyle,
        faces: Sequence[np.ndarray | None] | None = None,
    ):
        width, height = _even(size[0]), _even(size[1])
        faces = list(faces) if faces is not None else [None] * len(motions)
        self.fps = float(motions[0].fps)
        self.num_frames = max(int(round(m.duration * self.fps)) for m in motions)
        self.background = raster.new_canvas(width * len(motions), height, style.background)
        title_height = 0
        if titles is not None:
            title_height = raster.text_size("A", style.title_scale)[1] + 4 * style.title_scale
        self.panels: list[_Panel] = []
        self.lefts: list[int] = []
        self.panel_width = width
        scale = min(  # one scale for all panels, so that sizes compare
            fit_scale(motion_extent(motion, style), width, height - title_height)
            for motion in motions
        )
        for number, motion in enumerate(motions):
            left = number * width
            framing = make_framing(motion, title_height, width, height - title_height, style, scale)
            self.panels.append(_Panel(motion, framing, style, faces[number]))
            self.lefts.append(left)
            view = self.background[:, left : left + width]
            root_y = framing.project(motion.positions[:, 0].mean(axis=0))[1]
            raster.draw_capsule(
                view, (0.0, root_y), (width - 1.0, root_y), 0.75, style.reference_line
            )
            if number > 0:
                view[:, :1] = np.asarray(style.reference_line, dtype=np.float32)
            if titles is not None:
                text = str(titles[number])
                max_chars = max(1, (width - 4) // (6 * style.title_scale))
                text = text[:max_chars]
                text_width, _ = raster.text_size(text, style.title_scale)
                raster.draw_text(
                    view,
                    text,
                    (width - text_width) // 2,
                    2 * style.title_scale,
                    style.title_scale,
                    style.text,
                )
        self.canvas = self.background.copy()

    @property
    def width(self) -> int:
        return self.background.shape[1]

    @property
    def height(self) -> int:
        return self.background.shape[0]

    def draw(self, frame: int) -> np.ndarray:
        """Output frame ``frame`` as uint8 RGB ``(h, w, 3)``."""
        np.copyto(self.canvas, self.background)
        time = frame / self.fps
        for panel, left in zip(self.panels, self.lefts, strict=True):
            view = self.canvas[:, left : left + self.panel_width]  # drawing clips to the panel
            panel.draw(view, panel.frame_index(time))
        return raster.to_image(self.canvas)


def _as_list(motions: Motion | Sequence[Motion]) -> list[Motion]:
    motions = [motions] if isinstance(motions, Motion) else list(motions)
    if not motions:
        raise InputError(None, "nothing to render: no motion given")
    for motion in motions:
        if motion.num_frames == 0:
            raise InputError(None, "cannot render a motion with no frames")
        if not np.all(np.isfinite(motion.positions)) or not np.all(np.isfinite(motion.rotations)):
            raise InputError(None, "cannot render a motion with NaN or infinite values")
        if motion.fps <= 0:
            raise InputError(None, f"cannot render at {motion.fps} fps")
    return motions


def _faces(face, count: int) -> list[np.ndarray | None]:
    """One face take (or None) per motion from None, one array, or a sequence."""
    if face is None:
        return [None] * count
    if isinstance(face, np.ndarray):
        face = [face]
    face = list(face)
    if len(face) != count:
        raise InputError(None, f"got {len(face)} face takes for {count} motions")
    return face


def _build_scene(motions, size, titles, style, face=None) -> _Scene:
    motions = _as_list(motions)
    faces = _faces(face, len(motions))
    if titles is not None:
        titles = [titles] if isinstance(titles, str) else list(titles)
        if len(titles) != len(motions):
            raise InputError(None, f"got {len(titles)} titles for {len(motions)} motions")
    if min(size) < 16:
        raise InputError(None, f"video size {tuple(size)} is too small (at least 16 x 16)")
    return _Scene(motions, size, titles, style, faces)


def render_frame(
    motions: Motion | Sequence[Motion],
    index: int,
    size: tuple[int, int] = (480, 480),
    titles: Sequence[str] | None = None,
    style: RenderStyle = DEFAULT_STYLE,
    face: np.ndarray | Sequence[np.ndarray | None] | None = None,
) -> np.ndarray:
    """Still of frame ``index`` (of the first motion's frame rate): uint8 RGB
    ``(height, width * len(motions), 3)``; ``size`` is one panel's (width, height) in px.
    ``face``: ARKit weights ``(T, 52)`` drawn on the head (one per motion, or None)."""
    scene = _build_scene(motions, size, titles, style, face)
    return scene.draw(int(np.clip(index, 0, scene.num_frames - 1)))


def render_frames(
    motions: Motion | Sequence[Motion],
    size: tuple[int, int] = (480, 480),
    titles: Sequence[str] | None = None,
    style: RenderStyle = DEFAULT_STYLE,
    face: np.ndarray | Sequence[np.ndarray | None] | None = None,
) -> Iterator[np.ndarray]:
    """Every frame in order, uint8 RGB ``(h, w, 3)`` (one buffer per frame)."""
    scene = _build_scene(motions, size, titles, style, face)
    for frame in range(scene.num_frames):
        yield scene.draw(frame)


def ffmpeg_executable() -> str:
    """Path of the ffmpeg binary shipped with ``imageio-ffmpeg`` (InputError when missing)."""
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError) as error:
        raise InputError("ffmpeg", f"the ffmpeg binary is not available ({error})") from None


def _check_audio(ffmpeg: str, audio_path: Path) -> None:
    """Fail early, naming the file, unless ffmpeg finds an audio stream in ``audio_path``."""
    if not audio_path.is_file():
        raise InputError(audio_path, "audio file not found")
    probe = subprocess.run(
        [ffmpeg, "-hide_banner", "-i", str(audio_path)],
        capture_output=True,
        text=True,
        errors="replace",
    )
    if "Audio:" not in probe.stderr:
        lines = [line.strip() for line in probe.stderr.splitlines() if line.strip()]
        reason = lines[-1] if lines else "unknown format"
        if reason.startswith("At least one output file"):
            reason = "it has no audio stream"
        raise InputError(audio_path, f"ffmpeg cannot read audio from this file ({reason})")


def _encoder_command(
    ffmpeg: str, scene: _Scene, audio_path: Path | None, target: Path
) -> list[str]:
    rate = Fraction(scene.fps).limit_denominator(1001)
    duration = scene.num_frames / scene.fps
    command = [
        ffmpeg,
        "-y",
        "-hide_banner",
        "-loglevel",
        "error",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "rgb24",
        "-s",
        f"{scene.width}x{scene.height}",
        "-r",
        str(rate),
        "-i",
        "pipe:0",
    ]
    if audio_path is not None:
        command += [
            "-i",
            str(audio_path),
            "-map",
            "0:v:0",
            "-map",
            "1:a:0",
            "-af",
            "apad",
            "-c:a",
            "aac",
            "-b:a",
            "128k",
        ]  # padded, then cut by -t
    command += [
        "-c:v",
        "libx264",
        "-preset",
        PRESET,
        "-crf",
        str(CRF),
        "-pix_fmt",
        "yuv420p",
        "-frames:v",
        str(scene.num_frames),
        "-t",
        f"{duration:.6f}",
        "-movflags",
        "+faststart",
        "-f",
        "mp4",
        str(target),
    ]
    return command


def render_video(
    motions: Motion | Sequence[Motion],
    out_path: str | Path,
    audio_path: str | Path | None = None,
    size: tuple[int, int] = (480, 480),
    titles: Sequence[str] | None = None,
    style: RenderStyle = DEFAULT_STYLE,
    face: np.ndarray | Sequence[np.ndarray | None] | None = None,
) -> Path:
    """Render ``motions`` side by side to an H.264 MP4 at the first motion's fps (with
    ``face``, ARKit weights ``(T, 52)`` at the same fps, a drawn face on the head).

    ``size`` is one panel's (width, height) in px (rounded down to even numbers), so the video
    is ``len(motions) * width`` wide. The video lasts as long as the longest motion; shorter
    ones hold their last frame. With ``audio_path`` (anything ffmpeg reads) the audio is muxed
    in as AAC, padded with silence or cut to the video's duration; without it the video is
    silent. The file is written under a temporary name and renamed at the end, so a failure
    leaves no partial output. Returns ``out_path``.
    """
    out_path = Path(out_path)
    scene = _build_scene(motions, size, titles, style, face)
    ffmpeg = ffmpeg_executable()
    audio = None if audio_path is None else Path(audio_path)
    if audio is not None:
        _check_audio(ffmpeg, audio)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(
        prefix=f".{out_path.stem}.", suffix=".partial.mp4", dir=out_path.parent
    )
    os.close(handle)
    temporary = Path(temporary)
    try:
        with tempfile.TemporaryFile() as log:
            process = subprocess.Popen(
                _encoder_command(ffmpeg, scene, audio, temporary),
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
            try:
                for frame in range(scene.num_frames):
                    process.stdin.write(scene.draw(frame).data)
            except BrokenPipeError:
                pass  # ffmpeg stopped early: its exit code and log say why
            finally:
                process.stdin.close()
                code = process.wait()
            if code != 0:
                log.seek(0)
                message = log.read().decode(errors="replace").strip().splitlines()
                reason = message[-1] if message else f"exit code {code}"
                blamed = audio if audio is not None and str(audio) in reason else out_path
                raise InputError(blamed, f"ffmpeg failed to write the video ({reason})")
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # mkstemp makes it private; give it normal rights
        os.replace(temporary, out_path)
    finally:
        temporary.unlink(missing_ok=True)
    return out_path
