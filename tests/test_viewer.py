"""The built three.js viewer in headless Chromium (playwright-core): it loads a .glb from
``export`` and an ``animate``-style NAME.npy + NAME.face.npy with no console errors, and the
avatar's pose changes between two animation times (pixel difference), while the same time
twice gives the same picture."""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import subprocess
import threading
from pathlib import Path

import numpy as np
import pytest

from browser_support import BROWSER_MARKS, BUILT, NODE, WEB
from llavataros.export.avatar import BIND_ROOT, BIND_ROTATIONS
from llavataros.export.gltf import write_glb
from llavataros.motion import rotations
from llavataros.motion.take import Motion

FPS = 30.0

pytestmark = BROWSER_MARKS


def waving_motion(seconds: float = 4.0) -> tuple[Motion, np.ndarray]:
    """Bind pose with the right arm swinging forward and up, and the jaw opening (0 -> 1)."""
    frames = int(seconds * FPS)
    phase = np.sin(np.linspace(0.0, 0.5 * np.pi, frames))  # 0 -> 1
    q = np.broadcast_to(rotations.normalize(BIND_ROTATIONS), (frames, 9, 4)).copy()
    swing = rotations.from_axis_angle(np.array([1.0, 0.0, 0.0]), -1.6 * phase)
    for joint in (3, 4, 5):
        q[:, joint] = rotations.multiply(swing, q[:, joint])
    root = np.broadcast_to(BIND_ROOT, (frames, 3))
    face = np.zeros((frames, 52), dtype=np.float32)
    face[:, 17] = phase  # jawOpen
    return Motion.from_root_and_rotations(root, q, FPS), face


@pytest.fixture()
def site(tmp_path):
    root = tmp_path / "site"
    shutil.copytree(BUILT, root)
    handler = functools.partial(QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def browse(url: str, out: Path, times: str, fps_seconds: float = 2.0, files=()) -> dict:
    env = dict(os.environ, FILES=",".join(map(str, files))) if files else None
    result = subprocess.run(
        [NODE, "scripts/browser_check.mjs", url, str(out), times, str(fps_seconds)],
        cwd=WEB, capture_output=True, text=True, timeout=180, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    if "fps" in report:
        print(f"viewer: {report['renderer']}, {report['fps']:.1f} frames/s while playing")
    return report


def changed_fraction(a: Path, b: Path) -> float:
    from PIL import Image

    first = np.asarray(Image.open(a).convert("RGB"), dtype=np.int16)
    second = np.asarray(Image.open(b).convert("RGB"), dtype=np.int16)
    return float(np.mean(np.abs(first - second).max(axis=-1) > 8))


def check_clean(report: dict) -> None:
    assert report["ready"] is True and report["error"] is None
    assert report["consoleErrors"] == [] and report["pageErrors"] == []
    assert report["failedRequests"] == []


def test_glb_from_export_loads_and_plays(site, tmp_path):
    root, base = site
    motion, face = waving_motion()
    write_glb(root / "take.glb", motion, face)
    url = f"{base}/index.html?src=take.glb&paused=1"
    report = browse(url, tmp_path, "0.0,2.0,0.0,99")  # 99: past the end, held at the end
    check_clean(report)
    assert "take.glb: 3.97 s, 25 tracks" in report["status"]
    shots = [Path(s["path"]) for s in report["screenshots"]]
    assert changed_fraction(shots[0], shots[1]) > 0.005  # the arm and jaw moved
    assert changed_fraction(shots[0], shots[2]) < 0.0005  # same time, same picture
    assert changed_fraction(shots[0], shots[3]) > 0.005  # the last frame, not wrapped to 0


def test_animate_output_arrays_play_on_the_bare_avatar(site, tmp_path):
    root, base = site
    motion, face = waving_motion()
    np.save(root / "speech.npy", motion.to_array(np.float32))
    np.save(root / "speech.face.npy", face)
    url = f"{base}/index.html?src=speech.npy&face=speech.face.npy&fps=30&paused=1"
    report = browse(url, tmp_path, "0.0,2.0")
    check_clean(report)
    assert "120 frames at 30 fps (given), face" in report["status"]
    shots = [Path(s["path"]) for s in report["screenshots"]]
    assert changed_fraction(shots[0], shots[1]) > 0.005


def test_files_from_the_picker_play_with_fps_from_metadata(site, tmp_path):
    root, base = site
    motion, face = waving_motion()
    folder = tmp_path / "out"
    folder.mkdir()
    np.save(folder / "speech.npy", motion.to_array(np.float32))
    np.save(folder / "speech.face.npy", face)
    (folder / "speech.json").write_text('{"fps": 30}')
    files = [folder / "speech.npy", folder / "speech.face.npy", folder / "speech.json"]
    report = browse(f"{base}/index.html", tmp_path, "0.0,2.0", 0, files=files)
    check_clean(report)
    assert "speech.npy: 120 frames at 30 fps (given), face" in report["status"]
    shots = [Path(s["path"]) for s in report["screenshots"]]
    assert changed_fraction(shots[0], shots[1]) > 0.005


def test_bad_array_is_reported_on_the_page(site, tmp_path):
    root, base = site
    np.save(root / "bad.npy", np.zeros((10, 9, 4), dtype=np.float32))
    report = browse(f"{base}/index.html?src=bad.npy&fps=30&paused=1", tmp_path, "0.0", 0)
    assert report["ready"] is False
    assert "expected (T, 9, 7), got (10,9,4)" in report["error"]


def test_frame_sources_in_node():
    result = subprocess.run(
        [NODE, "--test", "test/"], cwd=WEB, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout[-2000:]
    assert "# pass 8" in result.stdout
