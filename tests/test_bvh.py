"""BVH writing and reading (motion/bvh.py): round trips, Blender conventions, hand-made files."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from llavataros.errors import InputError
from llavataros.motion import rotations
from llavataros.motion.bvh import (
    euler_to_quat,
    local_rotations,
    quat_to_euler,
    read_bvh,
    write_bvh,
)
from llavataros.motion.kinematics import forward_kinematics
from llavataros.motion.skeleton import AVATAROS, JOINT_NAMES, PARENTS, Skeleton
from llavataros.motion.take import Motion, load_take

ORDERS = ["".join(order) for order in itertools.permutations("XYZ")]


def random_motion(
    frames: int = 40, fps: float = 60.0, seed: int = 0, skeleton: Skeleton = AVATAROS
) -> Motion:
    rng = np.random.default_rng(seed)
    q = rotations.normalize(rng.normal(size=(frames, skeleton.num_joints, 4)))
    root = rng.normal(scale=0.5, size=(frames, 3))
    return Motion.from_root_and_rotations(root, q, fps, skeleton)


def rotation_error(a: np.ndarray, b: np.ndarray) -> float:
    """Largest difference between quaternions up to sign."""
    return float(np.max(np.minimum(np.abs(a - b).max(-1), np.abs(a + b).max(-1))))


def matrix(axis: str, degrees: float) -> np.ndarray:
    c, s = np.cos(np.radians(degrees)), np.sin(np.radians(degrees))
    return {
        "X": np.array([[1, 0, 0], [0, c, -s], [0, s, c]]),
        "Y": np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]]),
        "Z": np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]]),
    }[axis]


# --- Euler angles ---------------------------------------------------------------------------


@pytest.mark.parametrize("order", ORDERS)
def test_euler_order_is_outermost_first(order):
    angles = np.array([20.0, -35.0, 50.0])
    expected = (
        matrix(order[0], angles[0]) @ matrix(order[1], angles[1]) @ matrix(order[2], angles[2])
    )
    q = euler_to_quat(np.radians(angles), order)
    np.testing.assert_allclose(rotations.to_matrix(q), expected, atol=1e-12)
    np.testing.assert_allclose(np.degrees(quat_to_euler(q, order)), angles, atol=1e-9)


@pytest.mark.parametrize("order", ORDERS)
def test_euler_round_trip_including_gimbal_lock(order):
    rng = np.random.default_rng(1)
    q = rotations.normalize(rng.normal(size=(500, 4)))
    assert rotation_error(q, euler_to_quat(quat_to_euler(q, order), order)) < 1e-12
    locked_angles = rng.uniform(-3, 3, size=(50, 3))
    locked_angles[:, 1] = np.pi / 2 * rng.choice([-1.0, 1.0], size=50)
    locked = euler_to_quat(locked_angles, order)
    assert rotation_error(locked, euler_to_quat(quat_to_euler(locked, order), order)) < 1e-9


def test_local_rotations_compose_back_to_global():
    q = random_motion(5, seed=2).rotations
    local = local_rotations(q, PARENTS)
    for joint, parent in enumerate(PARENTS):
        expected = q[:, joint] if parent < 0 else rotations.multiply(q[:, parent], local[:, joint])
        assert rotation_error(expected, q[:, joint]) < 1e-12


# --- writing --------------------------------------------------------------------------------


def test_written_file_follows_blender_conventions(tmp_path):
    path = write_bvh(random_motion(12, fps=30.0, seed=3), tmp_path / "out" / "speech.bvh")
    lines = path.read_text().splitlines()
    assert lines[0] == "HIERARCHY" and lines[1] == "ROOT Spine"
    assert lines[3].split() == ["OFFSET", "0", "0", "0"]
    assert lines[4].split() == [
        "CHANNELS",
        "6",
        "Xposition",
        "Yposition",
        "Zposition",
        "Zrotation",
        "Xrotation",
        "Yrotation",
    ]
    joints = [line.split()[1] for line in lines if line.strip().startswith(("ROOT", "JOINT"))]
    assert tuple(joints) == JOINT_NAMES
    channel_lines = [line.split() for line in lines if line.strip().startswith("CHANNELS")]
    assert all(c[1:] == ["3", "Zrotation", "Xrotation", "Yrotation"] for c in channel_lines[1:])
    assert sum(line.strip() == "End Site" for line in lines) == 2  # one hand per wrist
    offsets = [line.split()[1:] for line in lines if line.strip().startswith("OFFSET")]
    assert offsets[2] == ["0", "0.1175", "0"]  # Spine2, metres
    motion_at = lines.index("MOTION")
    assert lines[motion_at + 1] == "Frames: 12"
    assert lines[motion_at + 2].split() == ["Frame", "Time:", "0.03333333"]
    rows = lines[motion_at + 3 :]
    assert len(rows) == 12 and all(len(row.split()) == 6 + 3 * 8 for row in rows)
    assert not list(tmp_path.glob("out/*.partial"))


def test_write_in_centimetres(tmp_path):
    motion = random_motion(6, seed=4)
    path = write_bvh(motion, tmp_path / "cm.bvh", unit_scale=100.0)
    assert "OFFSET 0 11.75 0" in path.read_text()
    back = read_bvh(path, unit_scale=100.0)
    np.testing.assert_allclose(back.positions, motion.positions, atol=1e-6)


def test_write_rejects_bad_input_and_leaves_no_file(tmp_path):
    motion = random_motion(3, seed=9)
    with pytest.raises(ValueError, match="permutation of XYZ"):
        write_bvh(motion, tmp_path / "order.bvh", order="XXY")
    motion.rotations[1, 2, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        write_bvh(motion, tmp_path / "nan.bvh")
    assert not list(tmp_path.iterdir())


# --- round trips -----------------------------------------------------------------------------


@pytest.mark.parametrize("order", ["ZXY", "XYZ", "ZYX"])
def test_round_trip_random_motion(tmp_path, order):
    motion = random_motion(50, seed=5)
    back = read_bvh(write_bvh(motion, tmp_path / "random.bvh", order=order))
    assert back.num_frames == 50 and back.fps == 60.0
    assert back.skeleton.names == JOINT_NAMES and back.skeleton.parents == PARENTS
    np.testing.assert_allclose(back.skeleton.offsets, AVATAROS.offsets, atol=1e-6)
    assert rotation_error(back.rotations, motion.rotations) < 1e-4
    np.testing.assert_allclose(back.positions, motion.positions, atol=1e-4)


def test_round_trip_another_skeleton(tmp_path):
    # Index order differs from depth-first order; the reader returns depth-first order.
    skeleton = Skeleton(
        offsets=np.array([[0, 0, 0], [0.1, 0.2, 0], [0, 0.3, 0.1], [0.2, 0, 0.1]]),
        names=("Hips", "LeftLeg", "Chest", "LeftFoot"),
        parents=(-1, 0, 0, 1),
    )
    motion = random_motion(10, fps=24.0, seed=6, skeleton=skeleton)
    back = read_bvh(write_bvh(motion, tmp_path / "other.bvh"))
    depth_first = [0, 1, 3, 2]
    assert back.skeleton.names == ("Hips", "LeftLeg", "LeftFoot", "Chest")
    assert back.skeleton.parents == (-1, 0, 1, 0) and back.fps == 24.0
    assert rotation_error(back.rotations, motion.rotations[:, depth_first]) < 1e-4
    np.testing.assert_allclose(back.positions, motion.positions[:, depth_first], atol=1e-4)


def test_round_trip_sample(tmp_path, sample_npy):
    sample = load_take(sample_npy)
    back = read_bvh(write_bvh(sample, tmp_path / "sample.bvh"))
    assert back.num_frames == 7076 and back.fps == 60.0
    assert rotation_error(back.rotations, sample.rotations) < 1e-4
    # A BVH stores the root path and rotations; the other positions come back by FK with the
    # skeleton offsets, exact for a consistent motion and within the take's own FK error
    # (3-6 mm mean at joints 1, 3, 6 and beyond) of its raw positions.
    consistent = forward_kinematics(sample.positions[:, 0], sample.rotations, sample.skeleton)
    np.testing.assert_allclose(back.positions, consistent, atol=1e-4)
    raw_error = np.linalg.norm(back.positions - sample.positions, axis=-1).mean(axis=0)
    assert np.all(raw_error < 0.007)


# --- hand-made files -------------------------------------------------------------------------

# Centimetres, CRLF line endings, tabs and extra whitespace; the root uses ZYX, Chest XYZ,
# Hand YXZ; Chest has position channels (they replace its OFFSET, as in Blender).
HAND_MADE = """HIERARCHY
ROOT   Hips
{
\tOFFSET 0.0  0.0 0.0
\tCHANNELS 6 Xposition Yposition Zposition Zrotation Yrotation Xrotation
\tJOINT Chest
\t{
\t\tOFFSET 0 10 0
\t\tCHANNELS 3 Xrotation Yrotation Zrotation
\t\tJOINT Hand
\t\t{
\t\t\tOFFSET 0 5 0
\t\t\tCHANNELS 3 Yrotation   Xrotation Zrotation
\t\t\tEnd Site
\t\t\t{
\t\t\t\tOFFSET 0 2 0
\t\t\t}
\t\t}
\t}
}

MOTION
Frames:   4
Frame Time: 0.0333333
0 0 0   0 0 0   0 0 0   0 0 0
1 2 3   90 0 0   0 0 0   0 0 0
0 0 0   0 0 0   90 0 90   0 0 0
0 0 0   90 90 0   0 0 0   90 0 0
"""


@pytest.fixture
def hand_made(tmp_path):
    path = tmp_path / "hand_made.bvh"
    path.write_bytes(HAND_MADE.replace("\n", "\r\n").encode())
    return path


def test_hand_made_file_known_positions(hand_made):
    motion = read_bvh(hand_made, unit_scale=100.0)  # centimetres to metres
    assert motion.skeleton.names == ("Hips", "Chest", "Hand")
    assert motion.skeleton.parents == (-1, 0, 1) and motion.fps == 30.0
    np.testing.assert_allclose(motion.skeleton.offsets, [[0, 0, 0], [0, 0.1, 0], [0, 0.05, 0]])
    expected = 0.01 * np.array(
        [
            # Rest pose: bones along +Y.
            [[0, 0, 0], [0, 10, 0], [0, 15, 0]],
            # Root at (1, 2, 3) turned 90 degrees about Z: +Y becomes -X.
            [[1, 2, 3], [-9, 2, 3], [-14, 2, 3]],
            # Chest XYZ = Rx(90) Rz(90): Rz first takes +Y to -X, Rx keeps it (ZXY would give +Z).
            [[0, 0, 0], [0, 10, 0], [-5, 10, 0]],
            # Root ZYX = Rz(90) Ry(90): Ry keeps +Y, Rz takes it to -X (reversed order: +Z).
            [[0, 0, 0], [-10, 0, 0], [-15, 0, 0]],
        ]
    )
    np.testing.assert_allclose(motion.positions, expected, atol=1e-12)
    # Frame 3: Hand's global rotation is Rz(90) Ry(90) (root) times its local Ry(90).
    quarter_y = rotations.from_axis_angle(np.array([0.0, 1, 0]), np.pi / 2)
    quarter_z = rotations.from_axis_angle(np.array([0.0, 0, 1]), np.pi / 2)
    expected_hand = rotations.multiply(quarter_z, rotations.multiply(quarter_y, quarter_y))
    assert rotation_error(motion.rotations[3, 2], expected_hand) < 1e-12


def test_position_channels_on_a_joint_replace_its_offset(tmp_path):
    text = HAND_MADE.replace(
        "CHANNELS 3 Xrotation Yrotation Zrotation",
        "CHANNELS 6 Xposition Yposition Zposition Xrotation Yrotation Zrotation",
    ).split("MOTION")[0]
    text += "MOTION\nFrames: 1\nFrame Time: 0.04\n0 0 0  0 0 0  3 4 0  0 0 0  0 0 0\n"
    path = tmp_path / "translated.bvh"
    path.write_text(text)
    motion = read_bvh(path)
    assert motion.fps == 25.0
    np.testing.assert_allclose(motion.positions[0], [[0, 0, 0], [3, 4, 0], [3, 9, 0]])


BROKEN = {
    "empty": "",
    "no hierarchy": "ROOT Hips\n{\n}\n",
    "truncated": HAND_MADE[: HAND_MADE.index("JOINT Hand")],
    "no motion": HAND_MADE.split("MOTION")[0],
    "bad number": HAND_MADE.replace("OFFSET 0 10 0", "OFFSET 0 ten 0"),
    "bad channel": HAND_MADE.replace("Yrotation   Xrotation", "Yrotation Wrotation"),
    "too few values": HAND_MADE.rsplit("\n", 2)[0] + "\n",
    "too many values": HAND_MADE + "1 2 3\n",
    "nan values": HAND_MADE.replace("1 2 3", "1 nan 3"),
    "zero frames": HAND_MADE.replace("Frames:   4", "Frames: 0"),
    "bad frame time": HAND_MADE.replace("0.0333333", "-1"),
    "text in motion": HAND_MADE.replace("1 2 3", "1 two 3"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_files_raise_input_error_naming_the_file(tmp_path, case):
    path = tmp_path / f"{case.replace(' ', '_')}.bvh"
    path.write_text(BROKEN[case])
    with pytest.raises(InputError) as error:
        read_bvh(path)
    assert str(error.value).startswith(f"{path}: ")


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="missing.bvh: file not found"):
        read_bvh(tmp_path / "missing.bvh")


# --- Blender (runs where a `blender` binary is installed, e.g. Debian's package) ---------------

BLENDER_SCRIPT = """
import builtins, json, sys
import bpy

_open = builtins.open
# Debian's Blender 3.4 importer opens files with mode "rU", which Python 3.11 rejects.
builtins.open = lambda file, mode="r", *a, **k: _open(file, mode.replace("U", ""), *a, **k)
path, out, count = sys.argv[sys.argv.index("--") + 1 :]
bpy.ops.wm.read_factory_settings(use_empty=True)
bpy.ops.import_anim.bvh(filepath=path, global_scale=1.0, rotate_mode="NATIVE",
                        axis_forward="-Z", axis_up="Y", update_scene_fps=True)
armature, scene = bpy.context.object, bpy.context.scene
heads = []
for frame in range(scene.frame_start, scene.frame_start + int(count)):
    scene.frame_set(frame)
    heads.append([list(armature.matrix_world @ bone.head) for bone in armature.pose.bones])
names = [bone.name for bone in armature.pose.bones]
json.dump({"names": names, "heads": heads, "fps": scene.render.fps}, _open(out, "w"))
"""


def test_blender_imports_the_file_at_the_same_positions(tmp_path):
    import json
    import shutil
    import subprocess

    blender = shutil.which("blender")
    if blender is None:
        pytest.skip("Blender is not installed (apt-get install blender to run this check)")
    motion = random_motion(20, seed=8)
    bvh = write_bvh(motion, tmp_path / "blender.bvh")
    script, out = tmp_path / "check.py", tmp_path / "heads.json"
    script.write_text(BLENDER_SCRIPT)
    subprocess.run(
        [
            blender,
            "-b",
            "--factory-startup",
            "--python-exit-code",
            "1",
            "-P",
            str(script),
            "--",
            str(bvh),
            str(out),
            "20",
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    result = json.loads(out.read_text())
    assert tuple(result["names"]) == JOINT_NAMES and result["fps"] == 60
    heads = np.array(result["heads"])  # Blender is Z up: (x, y, z) = (X, -Z, Y) of the file
    positions = np.stack([heads[..., 0], heads[..., 2], -heads[..., 1]], axis=-1)
    np.testing.assert_allclose(positions, motion.positions, atol=1e-5)
