"""The Khronos glTF-Validator (npm ``gltf-validator``) finds no errors in our .glb files."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from llavataros.export.gltf import write_glb
from llavataros.motion import rotations
from llavataros.motion.take import Motion

WEB = Path(__file__).resolve().parents[1] / "web"
NODE = shutil.which("node")
VALIDATOR = WEB / "node_modules" / "gltf-validator"
pytestmark = pytest.mark.skipif(
    NODE is None or not VALIDATOR.exists(),
    reason="node or web/node_modules/gltf-validator missing (run web/setup.sh)",
)


def test_validator_reports_no_errors_or_warnings(tmp_path):
    rng = np.random.default_rng(3)
    frames = 40
    q = rotations.normalize(rng.normal(size=(frames, 9, 4)))
    motion = Motion.from_root_and_rotations(rng.normal(size=(frames, 3)), q, 60.0)
    face = rng.random((frames, 52))
    files = [
        write_glb(tmp_path / "take.glb", motion, face, audio_uri="take.wav"),
        write_glb(tmp_path / "body_only.glb", motion),
        write_glb(tmp_path / "avatar.glb", None),
    ]
    result = subprocess.run(
        [NODE, "scripts/validate.mjs", *map(str, files)],
        cwd=WEB, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    reports = json.loads(result.stdout)
    assert len(reports) == 3
    for report in reports:
        assert report["numErrors"] == 0, report["messages"]
        assert report["numWarnings"] == 0, report["messages"]
    take = reports[0]["info"]
    assert take["animationCount"] == 1 and take["hasSkins"] and take["hasMorphTargets"]
    assert result.returncode == 0
