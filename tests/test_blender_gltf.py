"""Blender (where installed, e.g. Debian's ``blender`` 3.4 with ``python3-numpy``) imports an
exported .glb: the armature's bones sit at the take's joint positions frame by frame, and the
head carries the 52 ARKit shape keys with the face weights animated."""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest

from llavataros.export.gltf import write_glb
from llavataros.export.head import ARKIT_NAMES
from llavataros.motion import rotations
from llavataros.motion.take import Motion

BLENDER = shutil.which("blender")
FRAMES = 12

SCRIPT = """
import json, sys
import bpy
import numpy
numpy.bool = bool  # Debian's Blender 3.4 glTF importer uses np.bool, removed in numpy 1.24
path, out, count = sys.argv[sys.argv.index("--") + 1 :]
bpy.ops.wm.read_factory_settings(use_empty=True)
scene = bpy.context.scene
scene.render.fps = 30  # the importer maps time t to frame t * fps
bpy.ops.import_scene.gltf(filepath=path)
armature = [o for o in bpy.data.objects if o.type == "ARMATURE"][0]
head = bpy.data.objects["Head"]
keys = head.data.shape_keys.key_blocks
heads, jaw = [], []
for frame in range(int(count)):
    scene.frame_set(frame)
    heads.append([list(armature.matrix_world @ bone.head) for bone in armature.pose.bones])
    jaw.append(keys["jawOpen"].value)
json.dump({"bones": [b.name for b in armature.pose.bones], "heads": heads, "jaw": jaw,
           "keys": [k.name for k in keys]}, open(out, "w"))
"""


def check_numpy_in_blender() -> bool:
    probe = subprocess.run(
        [BLENDER, "-b", "--factory-startup", "--python-exit-code", "1",
         "--python-expr", "import numpy"],
        capture_output=True, timeout=120,
    )  # fmt: skip
    return probe.returncode == 0


@pytest.mark.skipif(BLENDER is None, reason="Blender is not installed (apt-get install blender)")
def test_blender_imports_the_glb(tmp_path):
    if not check_numpy_in_blender():
        pytest.skip("Blender's Python has no numpy (apt-get install python3-numpy)")
    rng = np.random.default_rng(5)
    q = rotations.normalize(rng.normal(size=(FRAMES, 9, 4)))
    motion = Motion.from_root_and_rotations(rng.normal(size=(FRAMES, 3)), q, 30.0)
    face = rng.random((FRAMES, 52)).astype(np.float32)
    glb = write_glb(tmp_path / "take.glb", motion, face)
    script, out = tmp_path / "check.py", tmp_path / "result.json"
    script.write_text(SCRIPT)
    subprocess.run(
        [BLENDER, "-b", "--factory-startup", "--python-exit-code", "1", "-P", str(script),
         "--", str(glb), str(out), str(FRAMES)],
        check=True, capture_output=True, timeout=180,
    )  # fmt: skip
    result = json.loads(out.read_text())
    assert result["bones"][:9] == list(motion.skeleton.names) and result["bones"][9] == "Head"
    assert result["keys"] == ["Basis", *ARKIT_NAMES]
    heads = np.array(result["heads"])[:, :9]  # Blender is Z up: (x, y, z) = (X, -Z, Y)
    positions = np.stack([heads[..., 0], heads[..., 2], -heads[..., 1]], axis=-1)
    np.testing.assert_allclose(positions, motion.positions, atol=1e-4)
    np.testing.assert_allclose(result["jaw"], face[:, 17], atol=1e-4)
