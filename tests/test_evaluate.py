"""`llavataros evaluate` and `fgd-train` on a tiny corpus: ground truth scores like ground
truth, every metric is reported, missing motion files are named, the model is driven by the
take's own words, and a tiny trained model and the baselines go through the same scoring."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from llavataros.data.index import TakeRecord
from llavataros.errors import InputError
from llavataros.eval.context import EvaluationTake, build_context, resolve_splits
from llavataros.eval.evaluate import evaluate, evaluate_baseline, plain
from llavataros.eval.fgd import train_fgd_from_corpus
from llavataros.eval.report import COLUMNS, report_markdown
from llavataros.eval.scoring import METRICS, conform
from llavataros.eval.sources import BASELINES, model_source
from llavataros.motion.resample import resample
from llavataros.motion.take import load_take, save_take
from llavataros.pipeline.animate import AnimationResult
from tiny_corpus import TINY_TRAINING, write_tiny_corpus

TINY_MODEL = [*TINY_TRAINING, "trainer.max_steps=2"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """Five 6 s takes (3 train, 1 validation, 1 test) with gesture labels on every take."""
    folder = write_tiny_corpus(tmp_path_factory.mktemp("tiny"), takes=5, seconds=6.0)
    for words_file in folder.glob("*.words.json"):
        words = json.loads(words_file.read_text())["words"]
        triggers = [
            {"gesture": "BIG", "word": w["word"], "start": w["start"], "end": w["end"]}
            for w in words
            if w["word"] == "big"
        ] + [{"gesture": "SELF", "word": "I", "start": 1.0, "end": 1.2}]
        name = words_file.name.replace(".words.json", ".gestures.json")
        (folder / name).write_text(json.dumps({"triggers": triggers}))
    return folder


@pytest.fixture(scope="module")
def test_names(corpus) -> list[str]:
    splits, _ = resolve_splits(corpus)
    return [record.name for record in splits["test"]]


@pytest.fixture(scope="module")
def ground_truth_report(corpus, test_names, tmp_path_factory) -> tuple[dict, Path]:
    motions = tmp_path_factory.mktemp("truth")
    for name in test_names:
        shutil.copy(corpus / f"{name}.npy", motions / f"{name}.npy")
    output = tmp_path_factory.mktemp("out") / "metrics.json"
    return evaluate(corpus, motions_dir=motions, output=output), output


def test_ground_truth_motions_score_as_the_ground_truth(ground_truth_report, test_names):
    report, output = ground_truth_report
    summary = report["summary"]
    assert summary["takes"] == len(test_names) == 1
    assert summary["beat_alignment"] == summary["beat_alignment_ground_truth"]
    assert summary["speed_hellinger"] == 0.0
    assert summary["fgd"] == pytest.approx(0.0, abs=1e-6)
    assert summary["semantic_recall"] is not None
    for row in report["takes"]:
        assert row["beat_alignment"] == row["beat_alignment_ground_truth"]
        assert row["speed_hellinger"] == 0.0
    assert any("shipped for the synthetic corpus" in note for note in summary["notes"])
    written = json.loads(output.read_text())
    assert written["summary"]["takes"] == 1 and [r["name"] for r in written["takes"]] == test_names


def test_without_a_shipped_extractor_one_is_trained_on_the_training_split(
    corpus, test_names, tmp_path, monkeypatch
):
    import llavataros.eval.context as evaluation

    monkeypatch.setattr(evaluation, "SHIPPED_FGD_DIR", tmp_path / "none")
    motions = tmp_path / "truth"
    motions.mkdir()
    for name in test_names:
        shutil.copy(corpus / f"{name}.npy", motions / f"{name}.npy")
    summary = evaluate(corpus, motions_dir=motions, output=tmp_path / "m.json")["summary"]
    assert any("trained on the training split" in note for note in summary["notes"])
    assert summary["fgd"] == pytest.approx(0.0, abs=1e-6)


def test_report_has_every_metric(ground_truth_report):
    summary = ground_truth_report[0]["summary"]
    assert set(METRICS) <= set(summary)
    assert set(summary["semantic"]) == {
        "SELF",
        "YOU",
        "BIG",
        "SMALL",
        "UP",
        "DOWN",
        "NO",
        "EAT",
        "THINK",
        "ALL",
        "overall",
    }
    assert summary["semantic"]["overall"]["triggers"] >= 1  # the SELF label of the test take
    text = report_markdown(ground_truth_report[0])
    for _, title, _ in COLUMNS:
        assert title in text
    assert "THINK" in text and "FGD extractor" in text


def test_missing_motion_file_names_the_take(corpus, test_names, tmp_path):
    (tmp_path / "motions").mkdir()
    output = tmp_path / "metrics.json"
    with pytest.raises(InputError, match=f"{test_names[0]}.npy"):
        evaluate(corpus, motions_dir=tmp_path / "motions", output=output)
    assert not output.exists()


def test_motion_at_another_rate_is_resampled_and_a_wrong_length_rejected(corpus, test_names):
    truth = load_take(corpus / f"{test_names[0]}.npy")
    half_rate = resample(truth, 30.0)
    conformed = conform(half_rate, truth, "x")
    assert conformed.fps == truth.fps and conformed.num_frames == truth.num_frames
    np.testing.assert_allclose(conformed.positions, truth.positions, atol=0.02)
    with pytest.raises(InputError, match="lasts"):
        conform(truth.slice(0, truth.num_frames // 2), truth, "short.npy")


def test_motions_at_30_fps_without_metadata_are_read_by_audio_length(corpus, test_names, tmp_path):
    truth = load_take(corpus / f"{test_names[0]}.npy")
    save_take(resample(truth, 30.0), tmp_path / f"{test_names[0]}.npy")
    report = evaluate(corpus, motions_dir=tmp_path, output=tmp_path / "m.json")
    assert report["summary"]["speed_hellinger"] < 0.2
    assert (
        abs(report["summary"]["beat_alignment"] - report["summary"]["beat_alignment_ground_truth"])
        < 0.3
    )


class RecordingAnimator:
    """Stands in for :class:`Animator`: returns the ground truth, records its inputs."""

    speakers = ("Neutral",)

    def __init__(self):
        self.calls = []

    def animate(self, audio, transcript, fps=None, speaker=None):
        self.calls.append((transcript, fps, speaker))
        truth = load_take(Path(audio).with_suffix(".npy"))
        return AnimationResult(truth, transcript, {"model": 0.01})


def test_model_is_driven_by_the_takes_own_words(corpus, test_names):
    record = next(r for r in resolve_splits(corpus)[0]["test"])
    truth = load_take(record.motion_path)
    take = EvaluationTake(record, truth, truth.duration, np.zeros(0), math.nan, None)
    animator = RecordingAnimator()
    notes: list[str] = []
    motion, stages = model_source(animator, notes)(take)
    transcript, fps, speaker = animator.calls[0]
    assert transcript.source == "json" and transcript.words[0].word in ("I", "think", "this")
    assert fps == truth.fps and stages == {"model": 0.01}
    assert (speaker is None) == (record.style != "Neutral")
    unlabelled = TakeRecord(
        record.name, record.motion_path, record.audio_path, None, "Neutral", record.base_name
    )
    with pytest.raises(InputError, match="not with speech recognition"):
        model_source(animator)(EvaluationTake(unlabelled, truth, 6.0, np.zeros(0), 0.0, None))


def test_fgd_extractor_recipe_separates_real_from_broken_motion(tmp_path, capsys):
    """Every take holds the same motion, so the held-out take looks exactly like training."""
    folder = write_tiny_corpus(tmp_path / "same", takes=5, seconds=12.0)
    first, *others = sorted(folder.glob("*.npy"))
    for path in others:
        shutil.copy(first, path)
    out = train_fgd_from_corpus(folder, tmp_path / "fgd", epochs=20, seed=0)
    figures = json.loads((out / "config.json").read_text())["training"]["validation"]
    assert figures["fgd_test_vs_train"] < 0.1 * figures["fgd_real_vs_shuffled"]
    assert figures["fgd_test_vs_train"] < 0.1 * figures["fgd_real_vs_mean_pose"]
    assert "fgd_real_vs_shuffled" in capsys.readouterr().out


def test_plain_turns_nan_into_null():
    assert plain({"a": float("nan"), "b": [np.float64(1.5), np.int64(2)]}) == {
        "a": None,
        "b": [1.5, 2],
    }


@pytest.mark.slow
def test_tiny_model_and_baselines_go_through_the_same_scoring(corpus, test_names, tmp_path):
    from llavataros.training.train import train

    run = train(corpus, tmp_path / "run", overrides=TINY_MODEL)
    fgd = train_fgd_from_corpus(corpus, tmp_path / "fgd", epochs=5)
    report = evaluate(corpus, model=run, fgd_extractor=fgd, output=tmp_path / "metrics.json")
    summary = report["summary"]
    assert [row["name"] for row in report["takes"]] == test_names
    assert summary["real_time_factor"] > 0 and "model" in summary["stage_real_time_factors"]
    assert summary["fgd"] > 0 and 0 <= summary["beat_alignment"] <= 1
    assert any("run.json" in note for note in summary["notes"])

    context = build_context(corpus, "test", run, fgd)
    scored = {name: evaluate_baseline(context, name, seed=0)["summary"] for name in BASELINES}
    assert scored["ground_truth"]["fgd"] == pytest.approx(0.0, abs=1e-6)
    assert scored["ground_truth"]["speed_hellinger"] == 0.0
    truth_diversity = scored["ground_truth"]["l1_diversity"]
    assert scored["mean_pose"]["l1_diversity"] < 0.5 * truth_diversity
    for name in ("mean_pose", "random_segment", "nearest_neighbour"):
        assert scored[name]["fgd"] > scored["ground_truth"]["fgd"]
        assert set(METRICS) - {"real_time_factor"} <= {
            key for key, value in scored[name].items() if value is not None
        } | {"semantic_precision"}


def test_realism_against_real_takes_is_zero_for_the_real_takes_themselves(
    corpus, test_names, tmp_path
):
    """``--real``: the scored motions against a folder of real takes; the same takes as the
    reference give zero distance on every feature."""
    motions = tmp_path / "truth"
    motions.mkdir()
    for name in test_names:
        for suffix in (".npy", ".wav"):
            shutil.copy(corpus / f"{name}{suffix}", motions / f"{name}{suffix}")
    report = evaluate(corpus, motions_dir=motions, output=tmp_path / "m.json", real_dir=motions)
    realism = report["summary"]["realism"]
    assert set(realism["distances"]) >= {"wrist_height", "wrist_speed"}
    assert all(value == pytest.approx(0.0, abs=1e-6) for value in realism["distances"].values())
    assert any("realism against" in note for note in report["summary"]["notes"])
