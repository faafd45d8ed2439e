"""Binary glTF 2.0 (``.glb``) export of a take: the skinned avatar, the body animation and the
face as morph-target weights (SPEC section 2, ``speech.glb``).

Written with NumPy and ``struct`` only. Layout: one node per joint (the AvatarOS skeleton plus
``Head``), two skinned mesh nodes at the scene root (body, head with the 52 ARKit targets named
in ``mesh.extras.targetNames``), one skin, one animation ``"speech"`` whose channels are, per
skeleton joint, the local translation (``conj(q[parent]) * (pos[j] - pos[parent])``, which
reproduces the take's positions exactly, root translation included) and the local rotation
``conj(q[parent]) * q[j]`` with LINEAR interpolation at the take's frame rate, plus the head's
morph-target ``weights``. glTF has no ratified audio: an ``audio_uri`` is recorded in
``scene.extras.audio`` (a file written beside the ``.glb``) for viewers that know to look.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import tempfile
from pathlib import Path

import numpy as np

from llavataros.errors import InputError
from llavataros.export.avatar import MATERIALS, Avatar, Primitive, build_avatar
from llavataros.motion import rotations
from llavataros.motion.skeleton import AVATAROS
from llavataros.motion.take import Motion, load_take

ARRAY_BUFFER, ELEMENT_ARRAY_BUFFER = 34962, 34963
COMPONENT = {np.float32: 5126, np.uint8: 5121, np.uint16: 5123, np.uint32: 5125}
TYPE_OF_WIDTH = {1: "SCALAR", 3: "VEC3", 4: "VEC4", 16: "MAT4"}
GLB_MAGIC, JSON_CHUNK, BIN_CHUNK = 0x46546C67, 0x4E4F534A, 0x004E4942


class _Buffer:
    """Accumulates 4-byte aligned buffer views and their accessors."""

    def __init__(self):
        self.chunks: list[bytes] = []
        self.length = 0
        self.views: list[dict] = []
        self.accessors: list[dict] = []

    def add(self, array: np.ndarray, target: int | None = None, bounds: bool = False) -> int:
        array = np.ascontiguousarray(array)
        width = 1 if array.ndim == 1 else int(np.prod(array.shape[1:]))
        data = array.tobytes()
        view = {"buffer": 0, "byteOffset": self.length, "byteLength": len(data)}
        if target is not None:
            view["target"] = target
        self.views.append(view)
        padding = (-len(data)) % 4
        self.chunks.append(data + b"\0" * padding)
        self.length += len(data) + padding
        accessor = {
            "bufferView": len(self.views) - 1,
            "componentType": COMPONENT[array.dtype.type],
            "count": int(array.shape[0]),
            "type": TYPE_OF_WIDTH[width],
        }
        if bounds:
            flat = array.reshape(len(array), width)
            accessor["min"] = flat.min(axis=0).tolist()
            accessor["max"] = flat.max(axis=0).tolist()
        self.accessors.append(accessor)
        return len(self.accessors) - 1

    def add_zeros(self, count: int) -> int:
        """A VEC3 float accessor of zeros with no buffer view (glTF 2.0 section 3.6.2.3)."""
        self.accessors.append(
            {"componentType": 5126, "count": count, "type": "VEC3", "min": [0.0] * 3,
             "max": [0.0] * 3}
        )  # fmt: skip
        return len(self.accessors) - 1

    def data(self) -> bytes:
        return b"".join(self.chunks)


def _mesh(buffer: _Buffer, name: str, primitives: tuple[Primitive, ...], materials: list[str]):
    out = []
    for primitive in primitives:
        indices = primitive.indices.reshape(-1)
        small = len(primitive.positions) < 65536
        attributes = {
            "POSITION": buffer.add(primitive.positions, ARRAY_BUFFER, bounds=True),
            "NORMAL": buffer.add(primitive.normals, ARRAY_BUFFER),
            "JOINTS_0": buffer.add(primitive.joints, ARRAY_BUFFER),
            "WEIGHTS_0": buffer.add(primitive.weights, ARRAY_BUFFER),
        }
        entry = {
            "attributes": attributes,
            "indices": buffer.add(
                indices.astype(np.uint16 if small else np.uint32), ELEMENT_ARRAY_BUFFER
            ),
            "material": materials.index(primitive.material),
            "mode": 4,
        }
        if len(primitive.targets):
            targets = []
            for displacement in primitive.targets:
                if np.any(displacement):
                    accessor = buffer.add(displacement, ARRAY_BUFFER, bounds=True)
                else:
                    accessor = buffer.add_zeros(len(displacement))
                targets.append({"POSITION": accessor})
            entry["targets"] = targets
        out.append(entry)
    return {"name": name, "primitives": out}


def local_channels(motion: Motion) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame local translations ``(t, j, 3)`` and rotations ``(t, j, 4)`` of the skeleton's
    joints in the glTF node hierarchy, from global quaternions and positions."""
    q = rotations.normalize(motion.rotations)
    p = motion.positions
    translations = np.empty_like(p)
    local = np.empty_like(q)
    for joint, parent in enumerate(motion.skeleton.parents):
        if parent < 0:
            translations[:, joint] = p[:, joint]
            local[:, joint] = q[:, joint]
            continue
        inverse = rotations.conjugate(q[:, parent])
        translations[:, joint] = rotations.rotate(inverse, p[:, joint] - p[:, parent])
        local[:, joint] = rotations.multiply(inverse, q[:, joint])
    return translations, rotations.make_continuous(rotations.normalize(local))


def check_face(face: np.ndarray, num_frames: int, source: str | Path = "face") -> np.ndarray:
    """Validated ``(t, 52)`` float32 face weights with the motion's frame count."""
    face = np.asarray(face)
    if face.ndim != 2 or face.shape[1] != 52:
        raise InputError(source, f"expected face weights of shape (T, 52), got {face.shape}")
    if not np.issubdtype(face.dtype, np.number):
        raise InputError(source, f"expected numeric face weights, got dtype {face.dtype}")
    if len(face) != num_frames:
        raise InputError(source, f"face has {len(face)} frames but the motion has {num_frames}")
    if not np.all(np.isfinite(face)):
        raise InputError(source, "face weights contain NaN or infinite values")
    return face.astype(np.float32)


def _check_motion(motion: Motion, source: str | Path) -> None:
    skeleton = motion.skeleton
    if motion.positions.shape[1:] != (skeleton.num_joints, 3) or motion.num_frames == 0:
        raise InputError(source, f"expected motion of shape (T>0, {skeleton.num_joints}, 7)")
    if not (np.all(np.isfinite(motion.positions)) and np.all(np.isfinite(motion.rotations))):
        raise InputError(source, "motion contains NaN or infinite values")
    if np.any(np.linalg.norm(motion.rotations, axis=-1) < 1e-6):
        raise InputError(source, "motion contains zero-length quaternions")
    if not (np.isfinite(motion.fps) and motion.fps > 0):
        raise InputError(source, f"frame rate must be positive, got {motion.fps}")


def build_gltf(
    motion: Motion | None,
    face: np.ndarray | None = None,
    avatar: Avatar | None = None,
    audio_uri: str | None = None,
    source: str | Path = "motion",
) -> tuple[dict, bytes]:
    """The glTF JSON document and its binary buffer. ``motion=None`` gives the bare avatar in
    its bind pose (what the viewer drives from frames)."""
    if motion is not None:
        _check_motion(motion, source)
        if face is not None:
            face = check_face(face, motion.num_frames)
    if avatar is None:
        avatar = build_avatar(motion.skeleton if motion is not None else AVATAROS)
    buffer = _Buffer()
    materials = list(MATERIALS)
    num = avatar.num_joints
    nodes = []
    for joint, name in enumerate(avatar.joint_names):
        node = {
            "name": name,
            "translation": avatar.local_translations[joint].tolist(),
            "rotation": avatar.local_rotations[joint].tolist(),
        }
        children = [k for k, parent in enumerate(avatar.parents) if parent == joint]
        if children:
            node["children"] = children
        nodes.append(node)
    nodes.append({"name": "AvatarBody", "mesh": 0, "skin": 0})
    nodes.append({"name": "AvatarHead", "mesh": 1, "skin": 0})
    inverse_bind = np.zeros((num, 4, 4), dtype=np.float32)
    for joint in range(num):
        matrix = np.eye(4)
        matrix[:3, :3] = rotations.to_matrix(avatar.bind_rotations[joint])
        matrix[:3, 3] = avatar.bind_positions[joint]
        inverse_bind[joint] = np.linalg.inv(matrix).T  # column-major storage
    skin = {
        "name": "AvatarOS",
        "inverseBindMatrices": buffer.add(inverse_bind.reshape(num, 16)),
        "joints": list(range(num)),
        "skeleton": 0,
    }
    head_mesh = _mesh(buffer, "Head", avatar.head, materials)
    head_mesh["weights"] = [0.0] * len(avatar.target_names)
    head_mesh["extras"] = {"targetNames": list(avatar.target_names)}
    meshes = [_mesh(buffer, "Body", avatar.body, materials), head_mesh]
    document = {
        "asset": {"version": "2.0", "generator": "llavataros export"},
        "scene": 0,
        "scenes": [{"name": "Avatar", "nodes": [0, num, num + 1]}],
        "nodes": nodes,
        "skins": [skin],
        "meshes": meshes,
        "materials": [
            {
                "name": name,
                "pbrMetallicRoughness": {
                    "baseColorFactor": list(colour),
                    "metallicFactor": 0.0,
                    "roughnessFactor": 0.65,
                },
            }
            for name, colour in MATERIALS.items()
        ],
    }
    if motion is not None:
        document["animations"] = [_animation(buffer, motion, face, head_node=num + 1)]
        document["scenes"][0]["extras"] = {"fps": motion.fps, "frames": motion.num_frames}
        if audio_uri is not None:
            document["scenes"][0]["extras"]["audio"] = audio_uri
    document["accessors"] = buffer.accessors
    document["bufferViews"] = buffer.views
    document["buffers"] = [{"byteLength": buffer.length}]
    return document, buffer.data()


def _animation(buffer: _Buffer, motion: Motion, face: np.ndarray | None, head_node: int) -> dict:
    times = (np.arange(motion.num_frames) / motion.fps).astype(np.float32)
    time_accessor = buffer.add(times, bounds=True)
    translations, local = local_channels(motion)
    samplers, channels = [], []
    for joint in range(motion.skeleton.num_joints):
        for path, values in (("translation", translations), ("rotation", local)):
            output = buffer.add(values[:, joint].astype(np.float32))
            samplers.append({"input": time_accessor, "output": output, "interpolation": "LINEAR"})
            channels.append({"sampler": len(samplers) - 1, "target": {"node": joint, "path": path}})
    if face is not None:
        output = buffer.add(face.reshape(-1))  # (t * 52,) frame-major, as glTF requires
        samplers.append({"input": time_accessor, "output": output, "interpolation": "LINEAR"})
        channels.append(
            {"sampler": len(samplers) - 1, "target": {"node": head_node, "path": "weights"}}
        )
    return {"name": "speech", "samplers": samplers, "channels": channels}


def encode_glb(document: dict, binary: bytes) -> bytes:
    """The GLB container: 12-byte header, JSON chunk (space padded), BIN chunk (zero padded)."""
    text = json.dumps(document, separators=(",", ":")).encode("utf-8")
    text += b" " * ((-len(text)) % 4)
    binary += b"\0" * ((-len(binary)) % 4)
    total = 12 + 8 + len(text) + 8 + len(binary)
    return b"".join(
        [
            struct.pack("<III", GLB_MAGIC, 2, total),
            struct.pack("<II", len(text), JSON_CHUNK),
            text,
            struct.pack("<II", len(binary), BIN_CHUNK),
            binary,
        ]
    )


def write_glb(
    path: str | Path,
    motion: Motion | None,
    face: np.ndarray | None = None,
    audio_uri: str | None = None,
    source: str | Path = "motion",
) -> Path:
    """Write ``path`` atomically (temporary file in the same folder, then rename)."""
    path = Path(path)
    document, binary = build_gltf(motion, face, audio_uri=audio_uri, source=source)
    data = encode_glb(document, binary)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.chmod(temporary, 0o644)  # mkstemp makes it owner-only
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def read_glb(path: str | Path) -> tuple[dict, bytes]:
    """The JSON document and BIN chunk of a ``.glb`` (for tests and tools)."""
    data = Path(path).read_bytes()
    if len(data) < 20:
        raise InputError(path, "not a binary glTF file (too short)")
    magic, version, total = struct.unpack_from("<III", data, 0)
    if magic != GLB_MAGIC or version != 2 or total != len(data):
        raise InputError(path, "not a binary glTF 2.0 file")
    json_length, json_type = struct.unpack_from("<II", data, 12)
    document = json.loads(data[20 : 20 + json_length])
    binary = b""
    offset = 20 + json_length
    if offset < len(data):
        bin_length, bin_type = struct.unpack_from("<II", data, offset)
        binary = data[offset + 8 : offset + 8 + bin_length]
    return document, binary


_DTYPE = {5126: np.float32, 5121: np.uint8, 5123: np.uint16, 5125: np.uint32}
_WIDTH = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT4": 16}


def accessor_array(document: dict, binary: bytes, index: int) -> np.ndarray:
    """Accessor ``index`` as an array ``(count, width)`` (zeros when it has no buffer view)."""
    accessor = document["accessors"][index]
    dtype = _DTYPE[accessor["componentType"]]
    width = _WIDTH[accessor["type"]]
    if "bufferView" not in accessor:
        return np.zeros((accessor["count"], width), dtype=dtype)
    view = document["bufferViews"][accessor["bufferView"]]
    start = view.get("byteOffset", 0) + accessor.get("byteOffset", 0)
    count = accessor["count"] * width
    return np.frombuffer(binary, dtype=dtype, count=count, offset=start).reshape(-1, width)


def load_face(path: str | Path, num_frames: int) -> np.ndarray:
    """A ``NAME.face.npy`` file: float ``(t, 52)`` with the motion's frame count."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "file not found")
    try:
        face = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as error:
        raise InputError(path, f"not a readable .npy array ({error or 'empty file'})") from None
    if not isinstance(face, np.ndarray):
        raise InputError(path, "expected a single .npy array (not an .npz archive)")
    return check_face(face, num_frames, path)


def export_take(
    motion_path: str | Path,
    out: str | Path,
    face_path: str | Path | None = None,
    audio_path: str | Path | None = None,
    fps: float | None = None,
) -> Path:
    """``llavataros export MOTION.npy [--face FACE.npy] [--audio AUDIO] -o OUT.glb``: load and
    check every input first, then copy the audio beside ``OUT`` as ``OUT.stem + suffix`` (named
    in ``scene.extras.audio``) and write the ``.glb``."""
    out = Path(out)
    motion = load_take(motion_path, fps=fps, audio=audio_path)
    face = None if face_path is None else load_face(face_path, motion.num_frames)
    audio_uri = None
    if audio_path is not None:
        audio_path = Path(audio_path)
        if not audio_path.is_file():
            raise InputError(audio_path, "file not found")
        target = out.with_name(out.stem + audio_path.suffix.lower())
        audio_uri = target.name
        if target.resolve() != audio_path.resolve():
            out.parent.mkdir(parents=True, exist_ok=True)
            temporary = target.with_name(target.name + ".tmp")
            shutil.copyfile(audio_path, temporary)
            os.replace(temporary, target)
    return write_glb(out, motion, face, audio_uri=audio_uri, source=motion_path)
