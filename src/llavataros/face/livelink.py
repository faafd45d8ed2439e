"""The Live Link Face app's CSV (Epic Games), which Unreal's Live Link Face importer and many
DCC add-ons read.

Layout, as the app writes it: a header ``Timecode,BlendShapeCount,`` then the 52 blendshape
names in PascalCase in the app's order (:data:`LIVELINK_NAMES`: Apple's order except that
``JawRight``/``JawLeft`` and ``MouthRight``/``MouthLeft`` come right before left), then nine
rotation columns ``HeadYaw,HeadPitch,HeadRoll,LeftEyeYaw,LeftEyePitch,LeftEyeRoll,RightEyeYaw,
RightEyePitch,RightEyeRoll``. One row per frame: the timecode ``HH:MM:SS:FF.mmm`` (``FF`` the
frame within the second at the take's fps, ``.mmm`` the sub-frame in thousandths of a frame),
``BlendShapeCount`` = 61 (52 shapes + 9 rotations), then the values.

Columns are matched by name on reading (case-insensitive), so files from the app, with their
own order, read correctly.
"""

from __future__ import annotations

import csv
import io
import math
import re
from pathlib import Path

import numpy as np

from llavataros.errors import InputError
from llavataros.face.arkit import ARKIT_NAMES, NUM_BLENDSHAPES, index
from llavataros.face.take import check_face

ROTATION_NAMES: tuple[str, ...] = (
    "HeadYaw",
    "HeadPitch",
    "HeadRoll",
    "LeftEyeYaw",
    "LeftEyePitch",
    "LeftEyeRoll",
    "RightEyeYaw",
    "RightEyePitch",
    "RightEyeRoll",
)


def _app_order() -> tuple[str, ...]:
    names = [name[0].upper() + name[1:] for name in ARKIT_NAMES]
    for left, right in (("JawLeft", "JawRight"), ("MouthLeft", "MouthRight")):
        i, j = names.index(left), names.index(right)
        names[i], names[j] = names[j], names[i]
    return tuple(names)


LIVELINK_NAMES: tuple[str, ...] = _app_order()
HEADER: tuple[str, ...] = ("Timecode", "BlendShapeCount", *LIVELINK_NAMES, *ROTATION_NAMES)
BLENDSHAPE_COUNT = NUM_BLENDSHAPES + len(ROTATION_NAMES)  # 61, as the app writes
_COLUMNS = np.array([index(name) for name in LIVELINK_NAMES])  # app column -> our column
_TIMECODE = re.compile(r"^(\d+):(\d\d):(\d\d):(\d+)(?:\.(\d+))?$")


def timecode(seconds: float, fps: float) -> str:
    """``HH:MM:SS:FF.mmm`` of a time in seconds at ``fps`` (frames counted within the second,
    sub-frame in thousandths)."""
    frames_total = seconds * fps
    whole = math.floor(seconds + 1e-9)
    frame_in_second = max(0.0, frames_total - whole * fps)
    frame = math.floor(frame_in_second + 1e-6)
    sub = int(round((frame_in_second - frame) * 1000))
    if sub == 1000:
        frame, sub = frame + 1, 0
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}:{frame:02d}.{sub:03d}"


def parse_timecode(text: str, fps: float) -> float:
    """Seconds of a ``HH:MM:SS:FF[.mmm]`` timecode at ``fps``."""
    match = _TIMECODE.match(text.strip())
    if not match:
        raise ValueError(f"not a timecode HH:MM:SS:FF.mmm: {text!r}")
    hours, minutes, secs, frame = (int(match.group(k)) for k in range(1, 5))
    sub = match.group(5)
    fraction = int(sub) / 10 ** len(sub) if sub else 0.0
    return hours * 3600 + minutes * 60 + secs + (frame + fraction) / fps


def face_to_csv_text(
    weights: np.ndarray, fps: float, rotations: np.ndarray | None = None, start: float = 0.0
) -> str:
    """The CSV text of a face take ``(T, 52)`` at ``fps``; ``rotations (T, 9)`` (head yaw,
    pitch, roll, left eye yaw, pitch, roll, right eye yaw, pitch, roll; default zeros) and a
    start time in seconds for the first timecode."""
    weights = check_face(weights)
    if not fps > 0:
        raise InputError(None, f"fps must be positive, got {fps}")
    if rotations is None:
        rotations = np.zeros((len(weights), len(ROTATION_NAMES)), dtype=np.float32)
    rotations = np.asarray(rotations, dtype=np.float64)
    if rotations.shape != (len(weights), len(ROTATION_NAMES)):
        raise InputError(
            None, f"rotations must be ({len(weights)}, 9), got shape {rotations.shape}"
        )
    lines = [",".join(HEADER)]
    ordered = weights[:, _COLUMNS]  # (T, 52) in the app's column order
    for frame in range(len(weights)):
        values = [f"{v:.6f}" for v in ordered[frame]] + [f"{v:.6f}" for v in rotations[frame]]
        stamp = timecode(start + frame / fps, fps)
        lines.append(",".join([stamp, str(BLENDSHAPE_COUNT), *values]))
    return "\n".join(lines) + "\n"


def write_livelink_csv(
    path: str | Path, weights: np.ndarray, fps: float, rotations: np.ndarray | None = None
) -> Path:
    """Write ``NAME.face.csv`` (see :func:`face_to_csv_text`); the file appears only complete."""
    path = Path(path)
    text = face_to_csv_text(weights, fps, rotations)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, newline="")
    partial.replace(path)
    return path


def read_livelink_csv(path: str | Path, fps: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Read a Live Link Face CSV recorded at ``fps``: ``(weights (T, 52) float32 in our column
    order, rotations (T, 9) float32 (zeros where a column is absent), times (T,) seconds from
    the first row)``."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "Live Link CSV not found")
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    rows = [row for row in rows if row]
    if not rows or not rows[0] or rows[0][0].strip() != "Timecode":
        raise InputError(path, "not a Live Link Face CSV (first column must be 'Timecode')")
    header = [name.strip() for name in rows[0]]
    positions = {name.lower(): k for k, name in enumerate(header)}
    missing = [name for name in LIVELINK_NAMES if name.lower() not in positions]
    if missing:
        raise InputError(path, f"missing blendshape columns: {', '.join(missing[:5])}")
    shape_columns = [positions[name.lower()] for name in ARKIT_NAMES]
    rotation_columns = [positions.get(name.lower()) for name in ROTATION_NAMES]
    weights = np.zeros((len(rows) - 1, NUM_BLENDSHAPES), dtype=np.float64)
    rotations = np.zeros((len(rows) - 1, len(ROTATION_NAMES)), dtype=np.float64)
    times = np.zeros(len(rows) - 1)
    for k, row in enumerate(rows[1:]):
        if len(row) != len(header):
            raise InputError(path, f"row {k + 2} has {len(row)} fields, header has {len(header)}")
        try:
            times[k] = parse_timecode(row[0], fps)
            weights[k] = [float(row[c]) for c in shape_columns]
            rotations[k] = [0.0 if c is None else float(row[c]) for c in rotation_columns]
        except ValueError as error:
            raise InputError(path, f"row {k + 2}: {error}") from None
    if len(times):
        times -= times[0]
    return check_face(weights, path), rotations.astype(np.float32), times
