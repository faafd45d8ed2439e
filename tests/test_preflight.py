"""animate checks what it can before loading a model; a batch reports each bad input and goes
on; the outputs of one input replace those of earlier runs as one unit (#14.3)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile

from llavataros.cli import main
from llavataros.errors import InputError
from llavataros.models.checkpoint import read_model_metadata
from llavataros.pipeline.animate import AnimationResult, Animator, write_outputs
from llavataros.pipeline.preflight import output_fps, preflight_animate
from llavataros.speech.words import Transcript, Word
from tiny_corpus import tiny_take

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture
def no_models(monkeypatch):
    """Fail the test if animate loads a model."""

    def refuse(*args, **kwargs):
        raise AssertionError("a model was loaded before the inputs were checked")

    monkeypatch.setattr(Animator, "load", classmethod(refuse))


def tone(path: Path, seconds: float = 1.0) -> Path:
    time = np.arange(int(seconds * 16000)) / 16000
    soundfile.write(path, (0.2 * np.sin(2 * np.pi * 200 * time)).astype(np.float32), 16000)
    return path


def error_lines(capsys) -> list[str]:
    return capsys.readouterr().err.strip().splitlines()


@pytest.mark.parametrize(
    "extra, fragment",
    [
        (["--fps", "0"], "--fps must be between 1 and 240"),
        (["--fps", "-5"], "--fps must be between 1 and 240"),
        (["--fps", "1000"], "--fps must be between 1 and 240"),
        (["--fps", "nan"], "--fps must be between 1 and 240"),
        (["--speaker", "Grumpy"], "it takes Ada, Bruno, Clara, Dmitri (default Bruno)"),
        (["--speaker", "Neutral"], "'Neutral' is not one this model was trained on"),
        (["--model", "no-such-run"], "no-such-run: model not found"),
    ],
)
def test_bad_options_are_refused_before_any_model_loads(
    tmp_path, no_models, capsys, extra, fragment
):
    audio = tone(tmp_path / "a.wav")
    assert main(["animate", str(audio), "-o", str(tmp_path / "out"), *extra]) == 2
    lines = error_lines(capsys)
    assert len(lines) == 1 and fragment in lines[0]
    assert not (tmp_path / "out").exists()


def test_an_output_folder_that_is_a_file_is_refused_before_the_work(tmp_path, no_models, capsys):
    audio = tone(tmp_path / "a.wav")
    blocker = tmp_path / "taken"
    blocker.write_text("a file")
    for out in (blocker, blocker / "sub"):
        assert main(["animate", str(audio), "-o", str(out)]) == 2
        lines = error_lines(capsys)
        assert len(lines) == 1 and "taken: output folder: is a file" in lines[0]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_output_folder_is_refused_before_the_work(tmp_path, no_models, capsys):
    audio = tone(tmp_path / "a.wav")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    assert main(["animate", str(audio), "-o", str(locked / "out")]) == 2
    assert "locked: output folder is not writable" in capsys.readouterr().err


def test_two_inputs_with_one_output_name_are_refused(tmp_path, no_models, capsys):
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    first, second = tone(tmp_path / "a" / "talk.wav"), tone(tmp_path / "b" / "talk.wav")
    assert main(["animate", str(first), str(second), "-o", str(tmp_path / "out")]) == 2
    assert "same outputs (talk.*)" in capsys.readouterr().err


def test_fps_zero_is_not_the_default():
    assert output_fps(None, 60.0) == 60.0 and output_fps(24, 60.0) == 24.0
    for bad in (0, 0.0, -5, 241, float("inf")):
        with pytest.raises(InputError, match="--fps"):
            output_fps(bad, 60.0)


def test_speakers_one_truth_from_the_model_json_alone():
    metadata = read_model_metadata()
    assert metadata.accepted_speakers == ("Ada", "Bruno", "Clara", "Dmitri")
    assert metadata.default_speaker_name == "Bruno"
    assert metadata.speaker_id(None) == metadata.speaker_id("Bruno") == 20
    assert metadata.speaker_id("21") == metadata.speaker_id(21) == 21  # Clara by id
    with pytest.raises(InputError, match="'0' is not one this model was trained on"):
        metadata.speaker_id("0")  # Neutral by id


class FakeAnimator:
    """Writes NAME.npy for each input; fails on inputs named in ``fail``."""

    def __init__(self, fail=()):
        self.fail, self.calls = fail, []

    def set_sampling(self, steps=None, guidance=None, seed=None, temperature=None, eta=None):
        assert steps is guidance is seed is temperature is eta is None  # no sampling options

    def animate_to_files(self, audio, out_dir, progress=None, **options):
        self.calls.append(Path(audio).name)
        if Path(audio).stem in self.fail:
            raise InputError(audio, "audio contains NaN or infinite samples")
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        words = Path(out_dir) / f"{Path(audio).stem}.words.json"
        words.write_text(json.dumps({"text": "", "words": [], "warnings": ["not English"]}))
        return [words]


def test_a_batch_reports_each_bad_input_and_goes_on(tmp_path, monkeypatch, capsys):
    fake = FakeAnimator(fail={"late"})
    monkeypatch.setattr(Animator, "load", classmethod(lambda cls, *a, **k: fake))
    good, other, late = (tone(tmp_path / f"{n}.wav") for n in ("good", "other", "late"))
    garbage = tmp_path / "garbage.wav"
    garbage.write_bytes(b"RIFF\x00\x00not really a wave file")
    empty = tone(tmp_path / "empty.wav", seconds=0.01)
    inputs = [good, tmp_path / "missing.wav", garbage, late, empty, other]
    status = main(["animate", *map(str, inputs), "-o", str(tmp_path / "out")])
    captured = capsys.readouterr()
    assert status == 2
    assert fake.calls == ["good.wav", "late.wav", "other.wav"]  # the rest went on
    errors = [line for line in captured.err.splitlines() if ": error: " in line]
    assert len(errors) == 5 and errors[-1] == "llavataros: error: 4 of 6 inputs failed"
    for name in ("missing.wav: audio file not found", "garbage.wav", "late.wav", "empty.wav"):
        assert sum(name in line for line in errors) == 1
    warnings = [line for line in captured.err.splitlines() if ": warning: " in line]
    assert len(warnings) == 2 and warnings[0].endswith("good.words.json: not English")
    assert "good.words.json" in captured.out and "Traceback" not in captured.err


def test_the_preflight_keeps_the_good_inputs_in_order(tmp_path):
    good = tone(tmp_path / "good.wav")
    checked = preflight_animate([good, tmp_path / "nope.wav"], tmp_path / "out", fps=30)
    assert [item.audio for item in checked.inputs] == [good] and checked.total == 2
    assert checked.fps == 30.0 and checked.speaker == 20
    assert "nope.wav: audio file not found" in str(checked.failures[0])


def small_result(seconds: float = 0.5) -> AnimationResult:
    motion = tiny_take(np.random.default_rng(0), seconds)
    return AnimationResult(motion, Transcript("hi", (Word("hi", 0.0, 0.3),), "json"))


def test_outputs_replace_an_earlier_runs_as_a_unit_and_staging_of_dead_runs_goes(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "talk.mp4").write_bytes(b"an older video of other speech")
    (out / "talk.face.npy").write_bytes(b"an older face")
    (out / "talk.glb").write_bytes(b"kept: it is this run's input")
    (out / "other.mp4").write_bytes(b"another input's video")
    dead = out / ".llavataros-staging.999999999.talk.abc123"  # no such process
    dead.mkdir()
    (dead / "talk.npy").write_bytes(b"half written")
    alive = out / f".llavataros-staging.{os.getpid()}.talk.def456"  # a run still writing
    alive.mkdir()

    written = write_outputs(small_result(), out, "talk", None, keep=(out / "talk.glb",))
    names = sorted(path.name for path in out.iterdir())
    assert names == sorted(
        [alive.name, "other.mp4", "talk.bvh", "talk.glb", "talk.json", "talk.npy"]
        + ["talk.words.json"]
    )
    assert sorted(p.name for p in written) == [
        "talk.bvh",
        "talk.json",
        "talk.npy",
        "talk.words.json",
    ]
    assert np.load(out / "talk.npy").shape == (30, 9, 7)


def test_the_stage_bar_is_silent_off_a_terminal(capsys):
    from llavataros.pipeline.animate import STAGES
    from llavataros.pipeline.progress import StageBar

    with StageBar("talk") as bar:  # stderr is captured: not a terminal
        for stage in STAGES:
            bar(stage)
    assert capsys.readouterr().err == ""
    with StageBar("talk", enabled=True) as bar:
        bar("model")
    assert "talk" in capsys.readouterr().err


def test_a_missing_input_is_reported_without_importing_torch(tmp_path):
    code = (
        "import sys\n"
        "from llavataros.cli import main\n"
        f"status = main(['animate', {str(tmp_path / 'missing.wav')!r}, '-o', {str(tmp_path)!r}])\n"
        "assert status == 2, status\n"
        "assert 'torch' not in sys.modules, 'torch was imported before the check'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "missing.wav: audio file not found" in result.stderr


@pytest.mark.parametrize("damage", ["truncated", "other_pair"])
def test_a_damaged_checkpoint_is_one_line(tmp_path, capsys, damage):
    import shutil

    from llavataros.models.checkpoint import SHIPPED_MODELS

    model = tmp_path / "model"
    shutil.copytree(SHIPPED_MODELS["llanimation"], model)
    weights = model / "model.safetensors"
    if damage == "truncated":
        weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    else:  # the JSON of one save beside the weights of another
        data = bytearray(weights.read_bytes())
        data[-4:] = b"\x00\x00\x80\x3f"  # last float32 of the last tensor becomes 1.0
        weights.write_bytes(bytes(data))
    audio = tone(tmp_path / "a.wav")
    assert main(["animate", str(audio), "--model", str(model), "-o", str(tmp_path / "o")]) == 2
    lines = error_lines(capsys)
    assert lines == [
        f"llavataros: error: {weights}: model weights do not match model.json "
        "(corrupt or replaced file)"
    ]
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


def test_the_stream_refuses_fps_0_instead_of_taking_the_default():
    from llavataros.pipeline import AnimationStream, Animator

    with pytest.raises(InputError, match="fps"):
        AnimationStream(Animator.load(), fps=0)
