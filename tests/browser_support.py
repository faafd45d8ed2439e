"""What the browser tests share: where the viewer is built, Node and Debian's Chromium, and the
marks that skip them (with the reason) where any of these is missing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import llavataros

WEB = Path(__file__).resolve().parents[1] / "web"
BUILT = Path(llavataros.__file__).parent / "assets" / "web"
NODE = shutil.which("node")
CHROMIUM = Path("/usr/bin/chromium")

BROWSER_MARKS = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="/usr/bin/chromium missing (apt-get install chromium)"
    ),
    pytest.mark.skipif(
        NODE is None or not (WEB / "node_modules" / "playwright-core").exists(),
        reason="node or web/node_modules/playwright-core missing (run web/setup.sh)",
    ),
    pytest.mark.skipif(
        not (BUILT / "index.html").exists() or not (BUILT / "avatar.glb").exists(),
        reason="viewer not built into src/llavataros/assets/web (run web/setup.sh)",
    ),
]
