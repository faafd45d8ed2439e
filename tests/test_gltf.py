"""glTF export: the .glb parses back to the skeleton, skin, animation and 52 ARKit targets, and
forward kinematics of the animated nodes reproduces the input take."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from llavataros.errors import InputError
from llavataros.export import head
from llavataros.export.avatar import build_avatar
from llavataros.export.gltf import accessor_array, export_take, read_glb, write_glb
from llavataros.motion import rotations
from llavataros.motion.skeleton import AVATAROS, JOINT_NAMES, PARENTS
from llavataros.motion.take import Motion, load_take

SAMPLE = Path(__file__).resolve().parents[1] / "../shared/data/avataros-sample"
SAMPLE_TAKE = SAMPLE / "001_Neutral_0_mirror_x_1_0.npy"


def random_motion(frames: int = 24, fps: float = 30.0, seed: int = 0) -> Motion:
    rng = np.random.default_rng(seed)
    q = rotations.normalize(rng.normal(size=(frames, 9, 4)))
    root = np.array([0.0, 0.9, 0.0]) + 0.05 * rng.normal(size=(frames, 3))
    return Motion.from_root_and_rotations(root, q, fps)


def random_face(frames: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).random((frames, 52)).astype(np.float32)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    motion = random_motion()
    face = random_face(motion.num_frames)
    path = write_glb(tmp_path_factory.mktemp("glb") / "take.glb", motion, face)
    document, binary = read_glb(path)
    return motion, face, document, binary


def _node_parents(document: dict) -> dict[int, int]:
    parents = {}
    for index, node in enumerate(document["nodes"]):
        for child in node.get("children", []):
            parents[child] = index
    return parents


def _matrix(translation, rotation) -> np.ndarray:
    translation = np.asarray(translation, dtype=np.float64)
    matrix = np.broadcast_to(np.eye(4), translation.shape[:-1] + (4, 4)).copy()
    matrix[..., :3, :3] = rotations.to_matrix(rotation)
    matrix[..., :3, 3] = translation
    return matrix


def _animated_globals(document, binary):
    """Per-frame global 4x4 transforms ``(t, j, 4, 4)`` of the 9 skeleton joints, composed
    from the animation's local channels through the node hierarchy."""
    animation = document["animations"][0]
    local = {}
    for channel in animation["channels"]:
        sampler = animation["samplers"][channel["sampler"]]
        target = channel["target"]
        local[(target["node"], target["path"])] = accessor_array(
            document, binary, sampler["output"]
        ).astype(np.float64)
    parents = _node_parents(document)
    frames = len(local[(0, "rotation")])
    world = np.zeros((frames, 9, 4, 4))
    for joint in range(9):
        m = _matrix(local[(joint, "translation")], local[(joint, "rotation")])
        world[:, joint] = m if joint not in parents else world[:, parents[joint]] @ m
    return world


def test_node_hierarchy_and_skin(exported):
    _, _, document, binary = exported
    names = [node["name"] for node in document["nodes"]]
    assert names[:10] == list(JOINT_NAMES) + ["Head"]
    parents = _node_parents(document)
    for joint, parent in enumerate(PARENTS):
        assert parents.get(joint, -1) == parent
    assert parents[9] == 2  # Head under Spine2
    skin = document["skins"][0]
    assert skin["joints"] == list(range(10))
    assert document["scenes"][0]["nodes"] == [0, 10, 11]
    # Inverse bind matrices invert the bind-pose globals of the node defaults.
    avatar = build_avatar()
    ibm = accessor_array(document, binary, skin["inverseBindMatrices"]).reshape(10, 4, 4)
    ibm = np.transpose(ibm, (0, 2, 1)).astype(np.float64)  # column-major storage
    bind = _matrix(avatar.bind_positions, avatar.bind_rotations)
    np.testing.assert_allclose(ibm @ bind, np.broadcast_to(np.eye(4), (10, 4, 4)), atol=1e-5)
    for mesh in document["meshes"]:
        for primitive in mesh["primitives"]:
            weights = accessor_array(document, binary, primitive["attributes"]["WEIGHTS_0"])
            joints = accessor_array(document, binary, primitive["attributes"]["JOINTS_0"])
            np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-6)
            assert joints.max() < 10


def test_animation_samplers_and_morph_names(exported):
    motion, face, document, binary = exported
    animation = document["animations"][0]
    assert len(animation["channels"]) == 9 * 2 + 1
    for sampler in animation["samplers"]:
        times = accessor_array(document, binary, sampler["input"])[:, 0]
        assert len(times) == motion.num_frames
        np.testing.assert_allclose(times, np.arange(motion.num_frames) / 30.0, atol=1e-6)
    head_mesh = document["meshes"][1]
    assert head_mesh["extras"]["targetNames"] == list(head.ARKIT_NAMES)
    assert len(set(head.ARKIT_NAMES)) == 52
    assert head.ARKIT_NAMES[0] == "eyeBlinkLeft" and head.ARKIT_NAMES[17] == "jawOpen"
    assert head.ARKIT_NAMES[-1] == "tongueOut"
    for primitive in head_mesh["primitives"]:
        assert len(primitive["targets"]) == 52
    weights_channel = animation["channels"][-1]
    assert weights_channel["target"] == {"node": 11, "path": "weights"}
    output = accessor_array(document, binary, animation["samplers"][-1]["output"])
    np.testing.assert_allclose(output.reshape(-1, 52), face, atol=1e-7)


def test_forward_kinematics_reproduces_positions(exported):
    motion, _, document, binary = exported
    world = _animated_globals(document, binary)
    error = np.linalg.norm(world[..., :3, 3] - motion.positions, axis=-1)
    assert error.max() < 1e-3
    global_q = rotations.from_matrix(world[..., :3, :3])
    dots = np.abs(np.sum(global_q * rotations.normalize(motion.rotations), axis=-1))
    assert dots.min() > 1 - 1e-5


@pytest.mark.sample
@pytest.mark.skipif(not SAMPLE_TAKE.exists(), reason="AvatarOS sample not in ../shared/data")
def test_sample_take_round_trip(tmp_path):
    motion = load_take(SAMPLE_TAKE).slice(0, 300)
    document, binary = read_glb(write_glb(tmp_path / "sample.glb", motion))
    world = _animated_globals(document, binary)
    # Joints 1, 3 and 6 are off their constant offsets by a few mm in the capture; the
    # per-frame translation channels keep them exact.
    assert np.linalg.norm(world[..., :3, 3] - motion.positions, axis=-1).max() < 1e-3
    assert "weights" not in [c["target"]["path"] for c in document["animations"][0]["channels"]]


def test_skinned_hands_follow_the_wrists(exported):
    """Linear blend skinning of the body at an animated frame puts each hand at its wrist."""
    motion, _, document, binary = exported
    world = _animated_globals(document, binary)
    skin = document["skins"][0]
    ibm = accessor_array(document, binary, skin["inverseBindMatrices"]).reshape(10, 4, 4)
    ibm = np.transpose(ibm, (0, 2, 1)).astype(np.float64)
    avatar = build_avatar()
    frame = 7
    joint_world = np.concatenate([world[frame], [world[frame, 2] @ _head_local(avatar)]])
    skinning = joint_world @ ibm  # (10, 4, 4)
    skin_primitive = document["meshes"][0]["primitives"][1]  # hands and neck
    positions = accessor_array(document, binary, skin_primitive["attributes"]["POSITION"])
    joints = accessor_array(document, binary, skin_primitive["attributes"]["JOINTS_0"])
    weights = accessor_array(document, binary, skin_primitive["attributes"]["WEIGHTS_0"])
    homogeneous = np.concatenate([positions, np.ones((len(positions), 1))], axis=1)
    posed = np.einsum("nk,nkij,nj->ni", weights, skinning[joints], homogeneous)[:, :3]
    for wrist in (5, 8):
        hand = np.sum(weights * (joints == wrist), axis=1) > 0.99
        distance = np.linalg.norm(posed[hand] - motion.positions[frame, wrist], axis=-1)
        assert hand.sum() > 50 and distance.max() < 0.2


def _head_local(avatar) -> np.ndarray:
    return _matrix(avatar.local_translations[9], avatar.local_rotations[9])


@pytest.mark.parametrize(
    ("name", "tag", "check"),
    [
        ("jawOpen", "lip_lower", lambda d: d[:, 1].mean() < -0.015),
        ("jawOpen", "lip_upper", lambda d: np.abs(d).max() == 0.0),
        ("eyeBlinkLeft", "lid_upper", lambda d: d[:, 1].min() < -0.01),
        ("mouthSmileLeft", "lip_upper", lambda d: d[:, 1].max() > 0.005),
        ("mouthPucker", "lip_lower", lambda d: d[:, 2].mean() > 0.008),
        ("tongueOut", "tongue", lambda d: d[:, 2].mean() > 0.02),
        ("browInnerUp", "brow", lambda d: d[:, 1].max() > 0.005),
    ],
)
def test_morph_targets_move_the_right_parts(name, tag, check):
    parts = [p for p in head.head_parts() if p.tag == tag]
    displacement = np.concatenate([head.part_targets(p)[name] for p in parts])
    assert check(displacement)


def test_left_shapes_move_the_characters_left_side():
    """ARKit ``...Left`` moves the +X side (the character's left, SPEC section 1)."""
    parts = head.head_parts()
    shapes = [head.part_targets(part) for part in parts]
    for name in head.ARKIT_NAMES:
        moved, shift = [], []
        for part, targets in zip(parts, shapes, strict=True):
            d = targets[name]
            moving = np.linalg.norm(d, axis=-1) > 1e-4
            moved.append(part.vertices[moving, 0])
            shift.append(d[moving, 0])
        xs = np.concatenate(moved)
        assert len(xs) > 0, f"{name} moves nothing"
        if name in ("jawLeft", "mouthLeft"):  # the whole jaw / mouth slides toward +X
            assert np.concatenate(shift).mean() > 0.003, name
        elif name in ("jawRight", "mouthRight"):
            assert np.concatenate(shift).mean() < -0.003, name
        elif name.endswith("Left"):
            assert xs.mean() > 0.005, name
        elif name.endswith("Right"):
            assert xs.mean() < -0.005, name


def test_bad_arrays_raise_input_error_and_write_nothing(tmp_path):
    motion = random_motion(frames=10)
    out = tmp_path / "bad.glb"
    with pytest.raises(InputError, match=r"shape \(T, 52\)"):
        write_glb(out, motion, np.zeros((10, 51)))
    with pytest.raises(InputError, match="face has 9 frames but the motion has 10"):
        write_glb(out, motion, np.zeros((9, 52)))
    with pytest.raises(InputError, match="NaN"):
        write_glb(out, motion, np.full((10, 52), np.nan))
    broken = Motion(motion.positions.copy(), motion.rotations.copy(), 30.0)
    broken.positions[3, 2, 1] = np.nan
    with pytest.raises(InputError, match="NaN"):
        write_glb(out, broken)
    assert list(tmp_path.iterdir()) == []


def test_write_is_atomic_and_bare_avatar_has_no_animation(tmp_path):
    path = write_glb(tmp_path / "avatar.glb", None)
    document, _ = read_glb(path)
    assert "animations" not in document
    assert [p.name for p in tmp_path.iterdir()] == ["avatar.glb"]
    assert AVATAROS.num_joints == 9


def test_export_take_files(tmp_path):
    """The export entry point: take + face + audio in, .glb (audio named in extras) out."""
    motion = random_motion(frames=12, fps=30.0)
    np.save(tmp_path / "speech.npy", motion.to_array(np.float32))
    (tmp_path / "speech.json").write_text('{"fps": 30}')
    np.save(tmp_path / "speech.face.npy", random_face(12))
    (tmp_path / "speech.wav").write_bytes(b"RIFF0000WAVE")  # copied, not decoded
    out = tmp_path / "out" / "speech.glb"
    export_take(tmp_path / "speech.npy", out, tmp_path / "speech.face.npy", tmp_path / "speech.wav")
    document, _ = read_glb(out)
    assert document["scenes"][0]["extras"] == {"fps": 30.0, "frames": 12, "audio": "speech.wav"}
    assert (tmp_path / "out" / "speech.wav").read_bytes() == b"RIFF0000WAVE"
    np.save(tmp_path / "short.face.npy", random_face(11))
    with pytest.raises(InputError, match="short.face.npy: face has 11 frames"):
        export_take(tmp_path / "speech.npy", tmp_path / "x.glb", tmp_path / "short.face.npy")
    with pytest.raises(InputError, match="missing.wav: file not found"):
        export_take(
            tmp_path / "speech.npy", tmp_path / "x.glb", audio_path=tmp_path / "missing.wav"
        )
    assert not (tmp_path / "x.glb").exists()
