"""The command line: help for every command, one-line errors, the main commands end to end."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from llavataros.cli import build_parser, main
from llavataros.training.train import train
from tiny_corpus import write_tiny_corpus

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
COMMANDS = [
    "animate",
    "transcribe",
    "features",
    "info",
    "synth-corpus",
    "train",
    "render",
    "evaluate",
    "fgd-train",
]


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "llavataros.cli", *args], capture_output=True, text=True, timeout=600
    )


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args([command, "--help"])
    assert exit_info.value.code == 0
    assert "usage: llavataros " + command in capsys.readouterr().out


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["info", "missing.npy"], "missing.npy: file not found"),
        (["transcribe", "missing.wav"], "missing.wav"),
        (["animate", "missing.wav"], "missing.wav: audio file not found"),
        (["animate", str(EXAMPLES / "hello.wav"), "--model", "no-such-run"], "no-such-run"),
        (["render", "missing.npy"], "missing.npy"),
        (["animate", str(EXAMPLES / "hello.wav"), "--speed-limit", "-1"], "--speed-limit must"),
        (["serve", "--speed-limit", "nan"], "--speed-limit must be >= 0 seconds, got nan"),
        (["serve", "--processes", "0"], "--processes must be at least 1"),
    ],
)
def test_user_mistakes_give_one_line_and_status_2(args, fragment, capsys):
    assert main(args) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and fragment in error and "Traceback" not in error


def test_info_on_a_nan_take_names_the_file(tmp_path, capsys):
    array = np.zeros((10, 9, 7))
    array[..., 6] = 1.0
    array[3, 2, 0] = np.nan
    np.save(tmp_path / "bad.npy", array)
    assert main(["info", str(tmp_path / "bad.npy"), "--fps", "60"]) == 2
    assert "bad.npy: motion contains NaN" in capsys.readouterr().err


def test_info_on_the_sample(sample_npy, capsys):
    assert main(["info", str(sample_npy), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["frames"] == 7076 and info["fps"] == 60.0


@pytest.mark.slow
def test_transcribe_and_animate_from_the_command_line(tmp_path):
    words = tmp_path / "hello.words.json"
    result = run_cli(
        "transcribe",
        str(EXAMPLES / "hello.wav"),
        "--transcript",
        str(EXAMPLES / "hello.txt"),
        "-o",
        str(words),
    )
    assert result.returncode == 0, result.stderr
    transcript = json.loads(words.read_text())
    assert len(transcript["words"]) == len((EXAMPLES / "hello.txt").read_text().split())

    data = write_tiny_corpus(tmp_path / "data", takes=3, seconds=5.0)
    run = train(
        data,
        tmp_path / "run",
        overrides=[
            "model.width=16",
            "model.depth=1",
            "model.heads=2",
            "trainer.max_steps=1",
            "trainer.progress_bar=false",
            "data.window_seconds=3",
        ],
    )
    out = tmp_path / "out"
    result = run_cli(
        "animate",
        str(EXAMPLES / "hello.wav"),
        "--transcript",
        str(words),
        "--model",
        str(run),
        "--fps",
        "30",
        "-o",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "hello.bvh",
        "hello.face.csv",
        "hello.face.npy",
        "hello.json",
        "hello.mp4",
        "hello.npy",
        "hello.words.json",
    ]
    assert np.load(out / "hello.face.npy").shape == (round(13.816 * 30), 52)
    motion = np.load(out / "hello.npy")
    assert motion.shape == (round(13.816 * 30), 9, 7)
    # every command reads animate's own output (the fps is written beside the motion)
    assert run_cli("info", str(out / "hello.npy")).returncode == 0
    exported = run_cli(
        "export",
        str(out / "hello.npy"),
        "--face",
        str(out / "hello.face.npy"),
        "-o",
        str(tmp_path / "hello.glb"),
    )
    assert exported.returncode == 0, exported.stderr
    assert (tmp_path / "hello.glb").read_bytes()[:4] == b"glTF"


def test_features_command_fills_the_cache_training_uses(tmp_path, capsys):
    data = write_tiny_corpus(tmp_path / "data", takes=2, seconds=3.0)
    assert main(["features", str(data), "--fps", "30"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["takes"] == 2 and first["frames"] == 180 and first["cache_misses"] > 0
    assert main(["features", str(data), "--fps", "30"]) == 0
    second = json.loads(capsys.readouterr().out)
    assert second["cache_misses"] == 0
    assert second["cache_hits"] == first["cache_hits"] + first["cache_misses"]


def subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return {name: sub for action in actions for name, sub in action.choices.items()}


def test_every_option_of_every_subcommand_has_help_text():
    commands = subcommands()
    assert set(COMMANDS) <= set(commands)  # and whatever other subcommands exist
    missing = [
        f"{name} {action.option_strings[0] if action.option_strings else action.dest}"
        for name, sub in commands.items()
        for action in sub._actions
        if not isinstance(action, argparse._HelpAction)
        and (not action.help or action.help == argparse.SUPPRESS)
    ]
    assert not missing, f"options without help: {missing}"


def test_version_prints_the_installed_package_version(capsys):
    from importlib.metadata import version

    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"llavataros {version('llavataros')}"


def test_render_and_export_take_the_frame_rate_from_audio_given(tmp_path, capsys):
    seconds = 13.816  # examples/hello.wav
    array = np.zeros((round(seconds * 30), 9, 7), np.float32)
    array[..., 6] = 1.0
    array[:, :, 1] = np.arange(9) * 0.1  # a column of joints (bone lengths > 0)
    np.save(tmp_path / "bare.npy", array)  # no NAME.json, no NAME.wav beside it
    assert main(["info", str(tmp_path / "bare.npy")]) == 2
    assert "cannot determine the frame rate" in capsys.readouterr().err
    audio = str(EXAMPLES / "hello.wav")
    glb = tmp_path / "bare.glb"
    assert main(["export", str(tmp_path / "bare.npy"), "--audio", audio, "-o", str(glb)]) == 0
    assert glb.read_bytes()[:4] == b"glTF"
