"""Take indexing, group splits, corpus preparation and training windows on a tiny folder."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
import soundfile
import torch
from torch.utils.data import DataLoader

from llavataros.data.dataset import (
    FeatureStatistics,
    WindowDataset,
    audio_statistics,
    corpus_vocabulary,
    prepare_corpus,
)
from llavataros.data.index import base_name, index_takes, read_transcript, split_takes
from llavataros.errors import InputError
from llavataros.features.audio_encoders import ProsodyFeatures
from llavataros.features.cache import FeatureCache
from llavataros.features.frames import FeatureExtractor
from llavataros.features.speaker import SpeakerVocabulary
from llavataros.features.text_encoders import TextEncoder

RATE = 16000
SOURCE_FPS = 60
SECONDS = 2.0
TRAIN_FPS = 30.0
STYLES = ("Happy", "Sad", "Angry", "Neutral")


class LengthEncoder(TextEncoder):
    """``[len(word), 1]`` per word; counts calls."""

    calls = 0

    @property
    def dim(self) -> int:
        return 2

    def settings(self) -> dict:
        return {"encoder": "length"}

    def encode_words(self, words):
        LengthEncoder.calls += 1
        return np.array([[len(word), 1.0] for word in words], dtype=np.float32)


def _write_take(folder, name, rng, words=True):
    frames = int(SECONDS * SOURCE_FPS)
    motion = np.zeros((frames, 9, 7))
    motion[..., :3] = rng.normal(0, 0.1, (frames, 9, 3))
    quats = rng.normal(size=(frames, 9, 4))
    motion[..., 3:] = quats / np.linalg.norm(quats, axis=-1, keepdims=True)
    np.save(folder / f"{name}.npy", motion)
    time = np.arange(int(SECONDS * RATE)) / RATE
    audio = np.where(time >= 1.0, 0.3 * np.sin(2 * np.pi * 200 * time), 0.0)  # silent 1st second
    soundfile.write(folder / f"{name}.wav", audio.astype(np.float32), RATE)
    if words:
        spoken = [
            {"word": "hello", "start": 1.1, "end": 1.4},
            {"word": "everyone", "start": 1.5, "end": 1.9},
        ]
        (folder / f"{name}.words.json").write_text(json.dumps({"words": spoken}))


@pytest.fixture()
def corpus(tmp_path):
    """Four styles, each a take and its mirror; the last take has no words file."""
    folder = tmp_path / "takes"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for number, style in enumerate(STYLES, start=1):
        for mirror in ("", "mirror_"):
            name = f"{number:03d}_{style}_0_{mirror}x_1_0"
            _write_take(folder, name, rng, words=not (number == 4 and mirror))
    return folder


@pytest.fixture()
def extractor(tmp_path):
    LengthEncoder.calls = 0
    return FeatureExtractor(
        LengthEncoder(), ProsodyFeatures(TRAIN_FPS), FeatureCache(tmp_path / "c")
    )


def test_index_finds_takes_words_and_groups(corpus):
    records = index_takes(corpus)
    assert len(records) == 8 and [r.name for r in records] == sorted(r.name for r in records)
    first = records[0]
    assert first.name == "001_Happy_0_mirror_x_1_0" and first.style == "Happy"
    assert first.base_name == "001_Happy_0_x_1_0" == records[1].base_name
    assert first.audio_path == corpus / "001_Happy_0_mirror_x_1_0.wav"
    assert first.words_path.name == "001_Happy_0_mirror_x_1_0.words.json"
    assert records[-2].words_path is None and records[-2].name == "004_Neutral_0_mirror_x_1_0"
    transcript = read_transcript(first)
    assert [w.word for w in transcript.words] == ["hello", "everyone"]
    assert base_name("001_Neutral_0_mirror_x_1_0") == "001_Neutral_0_x_1_0"


def test_a_takes_face_is_not_a_take(corpus):
    """synth-corpus and animate write NAME.face.npy beside NAME.npy: it is the take's face."""
    np.save(corpus / "001_Happy_0_x_1_0.face.npy", np.zeros((20, 52), np.float32))
    names = [r.name for r in index_takes(corpus)]
    assert len(names) == 8 and "001_Happy_0_x_1_0.face" not in names


def test_index_prefers_textgrid_and_reads_metadata_style(corpus):
    name = "002_Sad_0_x_1_0"
    (corpus / f"{name}.TextGrid").write_text("placeholder")
    (corpus / f"{name}.json").write_text(json.dumps({"fps": 60, "style": "Synthetic-A"}))
    (corpus / f"{name}.gestures.json").write_text("[]")
    record = {r.name: r for r in index_takes(corpus)}[name]
    assert record.words_path.suffix == ".TextGrid"
    assert record.style == "Synthetic-A" and record.gestures_path.name == f"{name}.gestures.json"


def test_index_rejects_missing_and_bad_files(corpus, tmp_path):
    (corpus / "001_Happy_0_x_1_0.wav").unlink()
    with pytest.raises(InputError, match="no audio 001_Happy_0_x_1_0.wav"):
        index_takes(corpus)
    _write_take(corpus, "001_Happy_0_x_1_0", np.random.default_rng(1))
    np.save(corpus / "002_Sad_0_x_1_0.npy", np.zeros((10, 9, 6)))
    with pytest.raises(InputError, match=r"shape \(T, 9, 7\)"):
        index_takes(corpus)
    _write_take(corpus, "002_Sad_0_x_1_0", np.random.default_rng(2))
    (corpus / "003_Angry_0_x_1_0.wav").write_bytes(b"not audio")
    with pytest.raises(InputError, match="unreadable audio"):
        index_takes(corpus)
    with pytest.raises(InputError, match="not found"):
        index_takes(tmp_path / "absent")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no takes"):
        index_takes(tmp_path / "empty")


def _fake_records(count):
    from llavataros.data.index import TakeRecord

    records = []
    for number in range(count):
        for mirror in ("", "mirror_"):
            name = f"{number:03d}_Neutral_0_{mirror}x_1_0"
            records.append(TakeRecord(name, None, None, None, "Neutral", base_name(name)))
    return records


@pytest.mark.parametrize("groups", [3, 4, 10, 63])
def test_split_is_by_group_deterministic_and_non_empty(groups):
    records = _fake_records(groups)
    splits = split_takes(records)
    assert set(splits) == {"train", "validation", "test"}
    assert all(splits[name] for name in splits)
    assert sorted(r.name for s in splits.values() for r in s) == sorted(r.name for r in records)
    side = {r.name: split for split, rs in splits.items() for r in rs}
    for record in records:
        assert side[record.name] == side[record.base_name]  # a take and its mirror together
    shuffled = records[:]
    random.Random(5).shuffle(shuffled)
    assert split_takes(shuffled) == splits
    if groups == 63:
        assert [len(splits[s]) // 2 for s in ("train", "validation", "test")] == [51, 6, 6]


def test_split_seed_and_fractions():
    records = _fake_records(10)
    assert any(split_takes(records, seed=s) != split_takes(records) for s in range(1, 5))
    with pytest.raises(InputError, match="summing to 1"):
        split_takes(records, fractions=(0.5, 0.1, 0.1))
    only_train = split_takes(_fake_records(2))
    assert len(only_train["train"]) == 4 and not only_train["test"]
    no_test = split_takes(records, fractions=(0.9, 0.1, 0.0))
    assert not no_test["test"] and len(no_test["validation"]) == 2


def test_prepared_takes_align_features_with_motion(corpus, extractor):
    records = index_takes(corpus)
    prepared = prepare_corpus(records, extractor, TRAIN_FPS)
    vocabulary = SpeakerVocabulary()
    for take in prepared:
        frames = int(SECONDS * TRAIN_FPS)
        assert take.motion.shape == (frames, 9, 7) and take.motion.dtype == np.float32
        assert take.features.audio.shape == (frames, 44) and take.features.text.shape == (60, 2)
        assert take.speaker == vocabulary.id(take.style)
        # silent first second, tone after: log energy jumps at frame 30 (1.0 s)
        energy = take.features.audio[:, 40]
        assert energy[:28].max() < energy[32:].min() - 5
    with_words = prepared[0].features
    np.testing.assert_array_equal(
        np.flatnonzero(with_words.text_mask), list(range(33, 42)) + list(range(45, 57))
    )
    assert not prepared[6].features.text_mask.any()  # 004 mirror has no words file


def test_windows_shapes_and_sign_continuity(corpus, extractor):
    prepared = prepare_corpus(index_takes(corpus), extractor, TRAIN_FPS)
    dataset = WindowDataset(prepared, window=16, stride=12)
    assert len(dataset) == 8 * 5  # starts 0, 12, 24, 36 and the tail window at 44
    item = dataset[4]
    assert item["take"] == prepared[0].name and item["start"] == 44
    assert item["text"].shape == (16, 2) and item["text"].dtype == torch.float32
    assert item["text_mask"].dtype == torch.bool and item["audio"].shape == (16, 44)
    assert item["motion"].shape == (16, 9, 7) and item["motion"].dtype == torch.float32
    assert item["speaker"].dtype == torch.long and item["speaker"].ndim == 0
    np.testing.assert_array_equal(item["motion"].numpy(), prepared[0].motion[44:60])
    dense = prepared[0].features
    np.testing.assert_array_equal(item["text"].numpy(), dense.text[44:60])
    np.testing.assert_array_equal(item["text_mask"].numpy(), dense.text_mask[44:60])
    np.testing.assert_array_equal(item["audio"].numpy(), dense.audio[44:60])
    batch = next(iter(DataLoader(dataset, batch_size=4)))
    assert batch["motion"].shape == (4, 16, 9, 7) and batch["speaker"].shape == (4,)
    for index in range(len(dataset)):
        quats = dataset[index]["motion"][..., 3:]
        assert torch.all((quats[1:] * quats[:-1]).sum(-1) >= 0)
        np.testing.assert_allclose(quats.norm(dim=-1).numpy(), 1.0, atol=1e-5)
    with pytest.raises(InputError, match="as long as the window"):
        WindowDataset(prepared, window=61)


def test_shifted_windows_move_within_the_take(corpus, extractor):
    prepared = prepare_corpus(index_takes(corpus), extractor, TRAIN_FPS)
    dataset = WindowDataset(prepared, window=16, stride=12)
    moved = dataset[(1, 5)]  # the window at frame 12, five frames later
    assert moved["start"] == 17
    np.testing.assert_array_equal(moved["motion"].numpy(), prepared[0].motion[17:33])
    np.testing.assert_array_equal(moved["audio"].numpy(), prepared[0].audio[17:33])
    assert dataset[(0, -3)]["start"] == 0  # clipped at the first frame
    assert dataset[(4, 6)]["start"] == 44  # and at the last full window
    assert dataset[(2, 0)]["start"] == dataset[2]["start"] == 24


def test_second_preparation_reuses_the_cache(corpus, extractor):
    records = index_takes(corpus)
    prepare_corpus(records, extractor, TRAIN_FPS)
    # All eight wavs have the same bytes and the seven word lists the same words: one entry
    # of each kind is computed, the other takes hit it (7 audio + 6 word hits).
    assert LengthEncoder.calls == 1
    assert (extractor.cache.misses, extractor.cache.hits) == (2, 13)
    fresh = FeatureExtractor(LengthEncoder(), ProsodyFeatures(TRAIN_FPS))
    again = prepare_corpus(records, fresh, TRAIN_FPS, cache=extractor.cache)
    assert LengthEncoder.calls == 1 and len(again) == 8
    assert (extractor.cache.misses, extractor.cache.hits) == (2, 13 + 15)


def test_audio_statistics_normalise_windows(corpus, extractor):
    prepared = prepare_corpus(index_takes(corpus)[:2], extractor, TRAIN_FPS)
    statistics = audio_statistics(prepared)
    stacked = np.concatenate([take.features.audio for take in prepared])
    np.testing.assert_allclose(statistics.mean, stacked.mean(0), rtol=1e-4, atol=1e-4)
    restored = FeatureStatistics.from_dict(json.loads(json.dumps(statistics.to_dict())))
    dataset = WindowDataset(prepared, window=60, audio_statistics=restored)
    audio = torch.cat([dataset[i]["audio"] for i in range(len(dataset))]).numpy()
    np.testing.assert_allclose(audio.mean(0), 0.0, atol=1e-3)
    varying = stacked.std(0) > 1e-2
    np.testing.assert_allclose(audio.std(0)[varying], 1.0, atol=1e-3)


def test_style_outside_the_vocabulary(corpus, extractor):
    records = index_takes(corpus)
    vocabulary = corpus_vocabulary(records)
    assert vocabulary.names[:19] == SpeakerVocabulary().names
    with pytest.raises(InputError, match="unknown speaker 'Happy'"):
        prepare_corpus(records[:1], extractor, TRAIN_FPS, vocabulary=SpeakerVocabulary(("Sad",)))


def test_motion_and_audio_of_different_lengths(corpus, extractor):
    soundfile.write(corpus / "001_Happy_0_x_1_0.wav", np.zeros(RATE * 3, np.float32), RATE)
    (corpus / "001_Happy_0_x_1_0.json").write_text(json.dumps({"fps": SOURCE_FPS}))
    records = [r for r in index_takes(corpus) if r.name == "001_Happy_0_x_1_0"]
    with pytest.raises(InputError, match="motion lasts 2.00 s but its audio .* lasts 3.00 s"):
        prepare_corpus(records, extractor, TRAIN_FPS)


@pytest.mark.sample
@pytest.mark.slow
def test_real_sample_take_is_frame_aligned(sample_dir, tmp_path):
    from llavataros.features.text_encoders import TransformersTextEncoder

    records = index_takes(sample_dir)
    assert [(r.style, r.base_name) for r in records] == [("Neutral", "001_Neutral_0_x_1_0")]
    assert records[0].words_path.suffix == ".TextGrid"
    extractor = FeatureExtractor(
        TransformersTextEncoder(), ProsodyFeatures(TRAIN_FPS), FeatureCache(tmp_path / "cache")
    )
    (take,) = prepare_corpus(records, extractor, TRAIN_FPS)
    assert take.motion.shape == (3538, 9, 7)  # round(7076 / 60 * 30)
    assert take.features.audio.shape == (3538, 44) and take.features.text.shape == (3538, 384)
    assert 0.5 < take.features.text_mask.mean() < 0.95  # speech with pauses
    voicing = take.features.audio[:, 42]
    assert voicing[take.features.text_mask].mean() > 2 * voicing[~take.features.text_mask].mean()
