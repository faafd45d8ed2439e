"""The face format: ARKit names, face takes, the Live Link Face CSV."""

from __future__ import annotations

import numpy as np
import pytest

from llavataros.errors import InputError
from llavataros.face.arkit import ARKIT_NAMES, GROUPS, channel_weights, index
from llavataros.face.livelink import (
    HEADER,
    parse_timecode,
    read_livelink_csv,
    timecode,
    write_livelink_csv,
)
from llavataros.face.take import check_face, face_path, load_face, save_face

APP_HEADER = (
    "Timecode,BlendShapeCount,EyeBlinkLeft,EyeLookDownLeft,EyeLookInLeft,EyeLookOutLeft,"
    "EyeLookUpLeft,EyeSquintLeft,EyeWideLeft,EyeBlinkRight,EyeLookDownRight,EyeLookInRight,"
    "EyeLookOutRight,EyeLookUpRight,EyeSquintRight,EyeWideRight,JawForward,JawRight,JawLeft,"
    "JawOpen,MouthClose,MouthFunnel,MouthPucker,MouthRight,MouthLeft,MouthSmileLeft,"
    "MouthSmileRight,MouthFrownLeft,MouthFrownRight,MouthDimpleLeft,MouthDimpleRight,"
    "MouthStretchLeft,MouthStretchRight,MouthRollLower,MouthRollUpper,MouthShrugLower,"
    "MouthShrugUpper,MouthPressLeft,MouthPressRight,MouthLowerDownLeft,MouthLowerDownRight,"
    "MouthUpperUpLeft,MouthUpperUpRight,BrowDownLeft,BrowDownRight,BrowInnerUp,"
    "BrowOuterUpLeft,BrowOuterUpRight,CheekPuff,CheekSquintLeft,CheekSquintRight,"
    "NoseSneerLeft,NoseSneerRight,TongueOut,HeadYaw,HeadPitch,HeadRoll,LeftEyeYaw,"
    "LeftEyePitch,LeftEyeRoll,RightEyeYaw,RightEyePitch,RightEyeRoll"
)


def test_arkit_names_and_groups():
    assert len(ARKIT_NAMES) == len(set(ARKIT_NAMES)) == 52
    assert ARKIT_NAMES[0] == "eyeBlinkLeft" and ARKIT_NAMES[-1] == "tongueOut"
    assert index("JawOpen") == index("jawOpen") == 17
    assert sorted(sum(GROUPS.values(), ())) == list(range(52))
    assert [len(GROUPS[g]) for g in ("jaw", "mouth", "eyes", "brows", "cheeks_nose")] == [
        4,
        24,
        14,
        5,
        5,
    ]
    weights = channel_weights()
    assert weights.mean() == pytest.approx(1.0)
    assert weights[17] == pytest.approx(3 * weights[0])  # jaw 3 x eyes
    assert weights[index("mouthClose")] == pytest.approx(2 * weights[0])


def test_face_take_round_trip_and_errors(tmp_path):
    rng = np.random.default_rng(0)
    face = rng.random((10, 52)).astype(np.float32)
    path = save_face(tmp_path / "take.face.npy", face)
    np.testing.assert_array_equal(load_face(path), face)
    assert face_path(tmp_path / "take.bvh") == tmp_path / "take.face.npy"
    with pytest.raises(InputError, match=r"must be \(T, 52\)"):
        check_face(np.zeros((10, 51)), "x.face.npy")
    bad = face.copy()
    bad[3, 2] = np.nan
    with pytest.raises(InputError, match="NaN.*frame 3"):
        save_face(tmp_path / "bad.face.npy", bad)
    assert not (tmp_path / "bad.face.npy").exists()
    with pytest.raises(InputError, match=r"in \[0, 1\]"):
        check_face(face * 2, "x")
    np.save(tmp_path / "wrong.face.npy", np.zeros((4, 3)))
    with pytest.raises(InputError, match="wrong.face.npy"):
        load_face(tmp_path / "wrong.face.npy")


def test_livelink_header_is_the_apps_exactly():
    assert ",".join(HEADER) == APP_HEADER
    assert len(HEADER) == 2 + 61


def test_timecodes():
    assert timecode(0.0, 30) == "00:00:00:00.000"
    assert timecode(1 + 5 / 30, 30) == "00:00:01:05.000"
    assert timecode(3723.5, 60) == "01:02:03:30.000"
    assert parse_timecode("14:03:52:28.207", 60) == pytest.approx(
        14 * 3600 + 3 * 60 + 52 + 28.207 / 60
    )
    with pytest.raises(ValueError):
        parse_timecode("12.5", 30)


def test_livelink_csv_round_trip(tmp_path):
    rng = np.random.default_rng(1)
    face = rng.random((7, 52)).astype(np.float32)
    rotations = rng.uniform(-0.5, 0.5, (7, 9)).astype(np.float32)
    path = write_livelink_csv(tmp_path / "take.face.csv", face, 30.0, rotations)
    lines = path.read_text().splitlines()
    assert lines[0] == APP_HEADER
    assert lines[2].startswith("00:00:00:01.000,61,")
    # JawRight comes before JawLeft in the app's order: field 2 + 15 is jawRight
    assert float(lines[1].split(",")[2 + 15]) == pytest.approx(face[0, index("jawRight")], abs=1e-6)
    weights, rotations_read, times = read_livelink_csv(path, 30.0)
    np.testing.assert_allclose(weights, face, atol=1e-6)
    np.testing.assert_allclose(rotations_read, rotations, atol=1e-6)
    np.testing.assert_allclose(times, np.arange(7) / 30, atol=1e-9)


def test_livelink_reads_other_column_orders_and_rejects_bad_files(tmp_path):
    names = APP_HEADER.split(",")
    order = [0, 1, *reversed(range(2, len(names)))]  # blendshape columns reversed
    values = np.linspace(0, 1, 61)
    row = ["00:00:10:02.500", "61", *[f"{values[k - 2]:.6f}" for k in range(2, len(names))]]
    path = tmp_path / "app.csv"
    path.write_text(",".join(names[k] for k in order) + "\n" + ",".join(row[k] for k in order))
    weights, _, times = read_livelink_csv(path, 60.0)
    assert weights[0, index("jawOpen")] == pytest.approx(
        values[names.index("JawOpen") - 2], abs=1e-6
    )
    assert weights[0, index("jawLeft")] == pytest.approx(
        values[names.index("JawLeft") - 2], abs=1e-6
    )
    assert times[0] == 0.0
    (tmp_path / "bad.csv").write_text("Time,Foo\n1,2\n")
    with pytest.raises(InputError, match="bad.csv.*Timecode"):
        read_livelink_csv(tmp_path / "bad.csv", 30)
    with pytest.raises(InputError, match="not found"):
        read_livelink_csv(tmp_path / "missing.csv", 30)


def test_write_face_outputs(tmp_path):
    from llavataros.face.outputs import write_face_outputs

    face = np.full((4, 52), 0.25, dtype=np.float32)
    npy, csv = write_face_outputs(tmp_path / "talk.bvh", face, 30.0)
    assert (npy.name, csv.name) == ("talk.face.npy", "talk.face.csv")
    np.testing.assert_array_equal(load_face(npy), face)
    assert len(csv.read_text().splitlines()) == 5
    with pytest.raises(InputError, match="NaN"):
        write_face_outputs(tmp_path / "bad.bvh", face * np.nan, 30.0)
    assert not list(tmp_path.glob("bad*"))
