"""Checkpoints: safetensors + JSON round trip, no unpickling, clear errors, no partial files."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
import torch

import llavataros
from llavataros.errors import InputError
from llavataros.features.speaker import SpeakerVocabulary
from llavataros.features.statistics import FeatureStatistics
from llavataros.models.checkpoint import (
    ModelMetadata,
    git_commit,
    load_checkpoint,
    load_model,
    save_checkpoint,
)
from llavataros.models.geometry import RootStatistics
from llavataros.models.llanimation.config import ModelConfig
from llavataros.models.llanimation.network import LlanimationModel
from llavataros.motion.skeleton import AVATAROS

CONFIG = ModelConfig(
    fusion="cross",
    text_dim=10,
    audio_dim=4,
    num_speakers=2,
    width=16,
    depth=1,
    heads=2,
    feedforward_multiplier=2,
    dropout=0.0,
    segment_length=8,
    memory_length=6,
    lookahead=2,
    lookbehind=1,
)
METADATA = {
    "skeleton": AVATAROS,
    "root_statistics": RootStatistics((0.0, 1.0, 0.0), (0.1, 0.1, 0.1)),
    "audio_statistics": FeatureStatistics(np.zeros(4, np.float32), np.ones(4, np.float32)),
    "speakers": SpeakerVocabulary(("alice", "bob")),
    "training_speakers": ["bob"],
    "default_speaker": 1,
    "features": {"text_model": "all-MiniLM-L6-v2", "audio_model": None, "settings": {"a": 1}},
    "corpus_fps": np.float64(60.0),
    "train_config": {"note": "kept as provenance"},
}


def trained_model() -> LlanimationModel:
    torch.manual_seed(0)
    model = LlanimationModel(CONFIG)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(0.01 * torch.randn_like(parameter))
    return model.eval()


def inputs():
    torch.manual_seed(1)
    return (
        torch.randn(1, 12, 10),
        torch.rand(1, 12) > 0.5,
        torch.randn(1, 12, 4),
        torch.tensor([1]),
    )


def test_round_trip_gives_the_same_model_and_metadata(tmp_path, monkeypatch):
    model = trained_model()
    written = save_checkpoint(tmp_path / "run", model, CONFIG, METADATA)
    assert written == tmp_path / "run" / "model.json"
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == [
        "model.json",
        "model.safetensors",
    ]

    def refuse(*args, **kwargs):
        raise AssertionError("a checkpoint must load without unpickling")

    monkeypatch.setattr(torch, "load", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    loaded, metadata = load_checkpoint(tmp_path / "run")
    assert loaded.config == CONFIG and not loaded.training
    with torch.no_grad():
        torch.testing.assert_close(loaded(*inputs())[0], model(*inputs())[0], atol=0, rtol=0)

    assert isinstance(metadata, ModelMetadata) and metadata.family == "llanimation"
    assert metadata.config == CONFIG and metadata.fps == 30.0
    assert metadata.skeleton.names == AVATAROS.names
    np.testing.assert_allclose(metadata.skeleton.offsets, AVATAROS.offsets, atol=1e-6)
    assert metadata.root_statistics == METADATA["root_statistics"]
    np.testing.assert_array_equal(metadata.audio_statistics.std, np.ones(4))
    assert metadata.speakers.names == ("alice", "bob") and metadata.default_speaker == 1
    assert metadata.training_speakers == ("bob",)
    assert metadata.features.text_model == "all-MiniLM-L6-v2"
    assert metadata.features.settings == {"a": 1}
    assert metadata.corpus_fps == 60.0
    assert metadata.provenance["train_config"] == {"note": "kept as provenance"}
    assert metadata.provenance["package_version"] == llavataros.__version__
    assert metadata.provenance["git_commit"] == git_commit()
    # The same checkpoint opens from either file path.
    assert load_checkpoint(tmp_path / "run" / "model.safetensors")[0].config == CONFIG


def test_file_paths_instead_of_a_folder(tmp_path):
    written = save_checkpoint(tmp_path / "best.safetensors", trained_model(), CONFIG, {})
    assert written == tmp_path / "best.json"
    model, metadata = load_checkpoint(tmp_path / "best.json")
    assert metadata.provenance["weights"] == "best.safetensors" and model.config == CONFIG


def test_missing_files_are_input_errors_naming_them(tmp_path):
    with pytest.raises(InputError, match="model.json: model checkpoint metadata not found"):
        load_checkpoint(tmp_path / "nothing")
    save_checkpoint(tmp_path, trained_model(), CONFIG, {})
    (tmp_path / "model.safetensors").unlink()
    with pytest.raises(InputError, match="model.safetensors: model weights not found"):
        load_checkpoint(tmp_path)


def test_corrupt_files_are_input_errors_naming_them(tmp_path):
    save_checkpoint(tmp_path, trained_model(), CONFIG, {})
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(InputError, match="model.safetensors: .*corrupt"):
        load_checkpoint(tmp_path)

    metadata = json.loads((tmp_path / "model.json").read_text())
    del metadata["weights_sha256"]  # no checksum: the safetensors reader must catch it
    (tmp_path / "model.json").write_text(json.dumps(metadata))
    with pytest.raises(InputError, match="model.safetensors: not readable safetensors"):
        load_checkpoint(tmp_path)

    (tmp_path / "model.json").write_text("{not json")
    with pytest.raises(InputError, match="model.json: not a readable model.json"):
        load_checkpoint(tmp_path)


def test_config_problems_are_input_errors(tmp_path):
    save_checkpoint(tmp_path, trained_model(), CONFIG, {})
    path = tmp_path / "model.json"
    metadata = json.loads(path.read_text())
    path.write_text(json.dumps({**metadata, "config": {**metadata["config"], "colour": 1}}))
    with pytest.raises(InputError, match="model.json: invalid model config: unknown .*colour"):
        load_checkpoint(tmp_path)
    # A config that no longer matches the stored weights.
    del metadata["weights_sha256"]
    path.write_text(json.dumps({**metadata, "config": {**metadata["config"], "width": 32}}))
    with pytest.raises(InputError, match="model.safetensors: weights do not fit"):
        load_checkpoint(tmp_path)
    path.write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(InputError, match="not a llavataros-llanimation checkpoint"):
        load_checkpoint(tmp_path)


def test_a_failed_save_leaves_no_files(tmp_path):
    with pytest.raises(TypeError, match="cannot store"):
        save_checkpoint(tmp_path / "run", trained_model(), CONFIG, {"bad": object()})
    assert not (tmp_path / "run").exists() or not any((tmp_path / "run").iterdir())
    with pytest.raises(ValueError, match="may not set config"):
        save_checkpoint(tmp_path / "run", trained_model(), CONFIG, {"config": {}})
    with pytest.raises(ValueError, match="differs"):
        save_checkpoint(tmp_path / "run", trained_model(), ModelConfig(), {})


def test_git_commit_is_read_from_git_files(tmp_path):
    git = tmp_path / "repo" / ".git"
    (git / "refs" / "heads").mkdir(parents=True)
    (git / "HEAD").write_text("ref: refs/heads/main\n")
    (git / "refs" / "heads" / "main").write_text("a" * 40 + "\n")
    (tmp_path / "repo" / "src").mkdir()
    assert git_commit(tmp_path / "repo" / "src") == "a" * 40
    (git / "refs" / "heads" / "main").unlink()
    (git / "packed-refs").write_text("# pack-refs\n" + "b" * 40 + " refs/heads/main\n")
    assert git_commit(tmp_path / "repo" / "src") == "b" * 40
    assert git_commit(tmp_path) is None or len(git_commit(tmp_path)) == 40


def test_model_json_names_its_family_and_old_checkpoints_load_as_llanimation(tmp_path):
    save_checkpoint(tmp_path, trained_model(), CONFIG, METADATA)
    path = tmp_path / "model.json"
    stored = json.loads(path.read_text())
    assert stored["family"] == "llanimation" and stored["format_version"] == 2
    del stored["family"], stored["weights_sha256"]
    stored["format_version"] = 1  # as written before families had names
    path.write_text(json.dumps(stored))
    model, metadata = load_checkpoint(tmp_path)
    assert metadata.family == "llanimation" and type(model).family == "llanimation"
    path.write_text(json.dumps({**stored, "family": "puppet"}))
    with pytest.raises(InputError, match=r"model.json: unknown model family 'puppet'"):
        load_checkpoint(tmp_path)


@pytest.mark.parametrize(
    "field, value, problem",
    [
        ("skeleton", {"names": ["a"]}, "invalid skeleton"),
        ("speakers", "alice", "invalid speakers"),
        ("corpus_fps", "fast", "invalid corpus_fps"),
        ("speed_limit", {"slow": 2.0, "fast": 1.0}, "invalid speed_limit"),
        ("speed_limit", [1.0, 2.0], "invalid speed_limit"),
        ("speed_limit", {"slow": 1.0, "fast": 2.0, "knee": 1}, "invalid speed_limit"),
        ("default_speaker", 7, "default_speaker 7 is unknown"),
    ],
)
def test_malformed_metadata_is_one_line_naming_the_file(tmp_path, field, value, problem):
    save_checkpoint(tmp_path, trained_model(), CONFIG, METADATA)
    path = tmp_path / "model.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), field: value}))
    with pytest.raises(InputError, match=f"model.json: {problem}") as error:
        load_checkpoint(tmp_path)
    assert "\n" not in str(error.value)


def test_metadata_that_would_not_load_is_refused_before_writing(tmp_path):
    with pytest.raises(InputError, match="invalid speakers"):
        save_checkpoint(tmp_path / "run", trained_model(), CONFIG, {"speakers": 3})
    assert not (tmp_path / "run" / "model.json").exists()


def test_load_model_takes_a_family_name_for_the_shipped_model():
    model, metadata = load_model("llanimation")
    assert metadata.family == "llanimation" == type(model).family
    default, diffusion = load_model()[1], load_model("diffusion")[1]
    assert default.family == "diffusion"  # the shipped default (checkpoint.DEFAULT_MODEL)
    assert default.provenance["weights_sha256"] == diffusion.provenance["weights_sha256"]
