"""glTF export and viewer speed on the AvatarOS sample take (SPEC section 5: "Speed").

Prints the time to build the avatar and write the .glb of the whole take (and its size), then
serves the built viewer on a loopback port and plays that .glb in headless Chromium with
software GL (SwiftShader), printing the frame rate. With ``--live``, also starts
``llavataros serve`` and streams examples/hello.wav from the page (mode 2: file streamed at
real-time pace, played in sync), printing the frame rate while streaming, the per-frame latency
the page measured and how often playback waited for frames. Needs web/setup.sh to have run.
Run: ``.venv/bin/python benchmarks/viewer.py [--seconds 10] [--screenshot PATH.png] [--live]``.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

import llavataros
from llavataros.export.avatar import build_avatar
from llavataros.export.gltf import write_glb
from llavataros.motion.take import load_take

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT.parent / "shared" / "data" / "avataros-sample" / "001_Neutral_0_mirror_x_1_0.npy"
BUILT = Path(llavataros.__file__).parent / "assets" / "web"


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="playback time to measure")
    parser.add_argument("--screenshot", type=Path, help="also save a screenshot of the viewer")
    parser.add_argument("--live", action="store_true", help="also stream speech to a server")
    args = parser.parse_args()
    motion = load_take(SAMPLE)
    start = time.perf_counter()
    build_avatar()
    avatar_seconds = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as folder:
        site = Path(folder) / "site"
        shutil.copytree(BUILT, site)
        face = np.zeros((motion.num_frames, 52), dtype=np.float32)
        face[:, 17] = 0.5 + 0.5 * np.sin(np.arange(motion.num_frames) / 6.0)  # jawOpen
        start = time.perf_counter()
        path = write_glb(site / "take.glb", motion, face)
        write_seconds = time.perf_counter() - start
        print(f"avatar build: {avatar_seconds:.3f} s")
        print(
            f"write .glb ({motion.num_frames} frames, {motion.duration:.1f} s, with face): "
            f"{write_seconds:.3f} s, {path.stat().st_size / 1e6:.2f} MB"
        )
        handler = functools.partial(QuietHandler, directory=str(site))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_address[1]}/index.html?src=take.glb&paused=1"
        result = subprocess.run(
            ["node", "scripts/browser_check.mjs", url, folder, "31.4", str(args.seconds)],
            cwd=ROOT / "web", capture_output=True, text=True, check=True,
        )  # fmt: skip
        server.shutdown()
        report = json.loads(result.stdout)
        print(f"renderer: {report['renderer']}")
        print(f"viewer frame rate while playing (640x480): {report['fps']:.1f} frames/s")
        print(f"console errors: {len(report['consoleErrors']) + len(report['pageErrors'])}")
        if args.screenshot:
            shutil.copyfile(report["screenshots"][0]["path"], args.screenshot)
        if args.live:
            live_figures(Path(folder))


def live_figures(folder: Path) -> None:
    """Mode 2 against ``llavataros serve`` (shipped model, live words on)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "llavataros.cli", "serve", "--port", str(port)]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        server.stdout.readline()  # the server prints once it listens
        speech = ROOT / "examples" / "hello.wav"
        result = subprocess.run(
            ["node", "scripts/live_check.mjs", f"http://127.0.0.1:{port}/", str(folder),
             str(speech), "file"],
            cwd=ROOT / "web", capture_output=True, text=True, check=True,
        )  # fmt: skip
    finally:
        server.terminate()
        server.wait(30)
    report = json.loads(result.stdout)
    live = report["live"]
    latency = live["latency"]
    late = max(a - b for a, b in report["syncSamples"]) if report["syncSamples"] else None
    print(
        f"live file streaming ({live['audioSeconds']:.1f} s of speech): {report['fps']:.1f} "
        f"frames/s while streaming; frame latency in the page (last 300 frames) p50 "
        f"{latency['p50']:.2f} s, p95 {latency['p95']:.2f} s (model lookahead "
        f"{live['ready']['lookahead_s']:.2f} s); playback waited for frames "
        f"{report['buffering']} times; audio ahead of the newest frame at most "
        f"{late if late is not None else float('nan'):.2f} s; {len(live['words'])} live words"
    )


if __name__ == "__main__":
    main()
