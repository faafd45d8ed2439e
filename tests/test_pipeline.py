"""The main job end to end on a tiny trained model: output contract, files, streaming."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile

from llavataros.errors import InputError
from llavataros.motion.kinematics import bone_lengths
from llavataros.pipeline.animate import STAGES, Animator
from llavataros.pipeline.stream import AnimationStream
from llavataros.speech.audio import load_audio
from llavataros.speech.words import Transcript, Word
from llavataros.training.train import train
from tiny_corpus import TINY_TRAINING, write_tiny_corpus

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
TINY = [*TINY_TRAINING, "trainer.max_steps=4"]


@pytest.fixture(scope="module")
def animator(tmp_path_factory) -> Animator:
    root = tmp_path_factory.mktemp("pipeline")
    data = write_tiny_corpus(root / "data", takes=4, seconds=6.0)
    run = train(data, root / "run", overrides=TINY)
    return Animator.load(run)


@pytest.fixture(scope="module")
def speech() -> tuple[np.ndarray, Transcript]:
    audio = load_audio(EXAMPLES / "hello.wav")
    words = tuple(
        Word(w, 0.5 + 0.6 * i, 0.9 + 0.6 * i)
        for i, w in enumerate(
            "hello I think this is a big idea you speak and the avatar moves".split()
        )
    )
    return audio, Transcript(" ".join(w.word for w in words), words, "json")


def check_contract(motion, seconds: float, fps: float) -> None:
    assert motion.fps == fps
    assert motion.num_frames == round(seconds * fps)
    norms = np.linalg.norm(motion.rotations, axis=-1)
    assert np.allclose(norms, 1.0, atol=1e-6)
    dots = np.sum(motion.rotations[1:] * motion.rotations[:-1], axis=-1)
    assert dots.min() > 0  # continuous signs
    lengths = bone_lengths(motion.positions)
    assert np.ptp(lengths, axis=0).max() < 1e-6  # kinematically consistent


@pytest.mark.parametrize("fps", [None, 30.0, 24.0])
def test_animate_follows_the_output_contract(animator, speech, fps):
    audio, transcript = speech
    result = animator.animate(audio, transcript, fps=fps)
    check_contract(result.motion, len(audio) / 16000, fps or 60.0)
    assert result.transcript == transcript
    assert set(result.timings) >= {"words", "features", "model", "postprocess", "face"}
    assert result.face.shape == (result.motion.num_frames, 52)
    assert result.face.dtype == np.float32 and result.face_source == "visemes+model"


def test_without_a_face_model_the_jaw_follows_loudness(animator, speech):
    """``face_model=None`` (``--face-model none``): the rules' loudness jaw where words are
    not known; where they are, the visemes as with the model."""
    audio, transcript = speech
    plain = dataclasses.replace(animator, face_model=None)
    with_words = plain.animate(audio, transcript, fps=30.0)
    assert with_words.face_source == "visemes+loudness"
    learned = animator.animate(audio, transcript, fps=30.0).face
    times = np.arange(len(learned)) / 30.0
    inside = np.zeros(len(learned), bool)  # within the words: the same visemes
    for word in transcript.words:
        inside |= (times >= word.start) & (times <= word.end)
    assert inside.sum() > 100
    np.testing.assert_allclose(with_words.face[inside], learned[inside], atol=1e-6)
    assert np.abs(with_words.face - learned).max() > 0.01  # the learned mouth elsewhere


def test_animate_to_files_writes_every_output_and_nothing_partial(animator, tmp_path):
    written = animator.animate_to_files(
        EXAMPLES / "hello.wav", tmp_path, transcript=EXAMPLES / "hello.txt", video=False
    )
    names = ["hello.bvh", "hello.face.csv", "hello.face.npy", "hello.json", "hello.npy"]
    assert sorted(p.name for p in written) == [*names, "hello.words.json"]
    metadata = json.loads((tmp_path / "hello.json").read_text())
    assert metadata == {"fps": 60.0, "face": "visemes+model", "model": "llanimation"}
    array = np.load(tmp_path / "hello.npy")
    assert array.dtype == np.float32 and array.shape[1:] == (9, 7)
    face = np.load(tmp_path / "hello.face.npy")
    assert face.shape == (len(array), 52) and 0 <= face.min() and face.max() <= 1
    csv_lines = (tmp_path / "hello.face.csv").read_text().splitlines()
    assert csv_lines[0].startswith("Timecode,BlendShapeCount,EyeBlinkLeft")
    assert len(csv_lines) == len(array) + 1
    words = json.loads((tmp_path / "hello.words.json").read_text())
    spoken = (EXAMPLES / "hello.txt").read_text().split()
    assert len(words["words"]) == len(spoken) and words["source"] == "transcript"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in written)

    bare = tmp_path / "no-face"
    written = animator.animate_to_files(
        EXAMPLES / "hello.wav", bare, transcript=EXAMPLES / "hello.txt", video=False, face=False
    )
    assert not any(".face." in p.name for p in written)
    assert json.loads((bare / "hello.json").read_text()) == {"fps": 60.0, "model": "llanimation"}

    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF\x00\x00not really a wave file")
    with pytest.raises(InputError, match="broken.wav"):
        animator.animate_to_files(broken, tmp_path / "out", transcript="hello there")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_animate_reports_each_stage_in_order(animator, tmp_path):
    started = []
    animator.animate_to_files(
        EXAMPLES / "hello.wav",
        tmp_path,
        transcript=EXAMPLES / "hello.txt",
        video=False,
        progress=started.append,
    )
    assert started == list(STAGES)


def test_unknown_or_untrained_speaker_is_a_clear_error(animator, speech):
    with pytest.raises(InputError, match="Grumpy"):
        animator.animate(speech[0], speech[1], speaker="Grumpy")
    # a known style name the model never trained on (its embedding is untrained)
    assert set(animator.metadata.training_speakers) == {"Neutral", "Happy"}
    with pytest.raises(
        InputError, match="not one this model was trained on; it takes Happy, Neutral"
    ):
        animator.animate(speech[0], speech[1], speaker="Angry")
    animator.animate(speech[0], speech[1], speaker="Happy")


@pytest.mark.parametrize("chunk", [1600, 517, 16000])
def test_stream_equals_offline(animator, speech, chunk):
    audio, transcript = speech
    result = animator.animate(audio, transcript)
    offline = result.motion.to_array(np.float32)
    stream = AnimationStream(animator, transcript)
    pieces = [stream.push_frames(audio[i : i + chunk]) for i in range(0, len(audio), chunk)]
    pieces.append(stream.finish_frames())
    streamed = np.concatenate([p.body for p in pieces])
    assert streamed.shape == offline.shape
    assert np.abs(streamed - offline).max() < 1e-4
    assert sum(len(p.body) > 0 for p in pieces[:-1]) > 0  # frames come out before the end
    assert all(len(p.face) == len(p.body) for p in pieces)  # face frames with body frames
    # the learned mouth's model runs in other chunks: equal to float round-off
    np.testing.assert_allclose(np.concatenate([p.face for p in pieces]), result.face, atol=1e-5)


@pytest.mark.parametrize("fps", [30.0, 60.0, 24.0])
def test_stream_releases_each_frame_as_soon_as_its_stated_latency_allows(animator, speech, fps):
    """Fed 1 ms at a time, every frame after the first smoothing window is released once the
    audio reaches its time plus ``latency_seconds``, within the 1 ms step, and not later."""
    audio = speech[0][: 3 * 16000]
    stream = AnimationStream(animator, speech[1], fps=fps)
    step = 16
    released_at = []  # seconds of audio received when each frame came out
    for first in range(0, len(audio), step):
        count = len(stream.push(audio[first : first + step]))
        released_at += [(first + step) / 16000] * count
    lead = np.array(released_at) - np.arange(len(released_at)) / fps
    steady = lead[9:]  # the first frames wait for a whole smoothing window
    assert len(steady) > fps
    assert steady.max() <= stream.latency_seconds + step / 16000 + 1e-9
    assert steady.max() > stream.latency_seconds - 1e-9


@pytest.mark.slow
def test_stream_of_ten_minutes_keeps_bounded_buffers(animator):
    rng = np.random.default_rng(0)
    stream = AnimationStream(animator)
    chunk = np.zeros(1600, np.float32)
    frames = sizes = 0
    for index in range(10 * 60 * 10):
        chunk[:] = 0.1 * rng.standard_normal(1600) * (index % 7 < 4)
        frames += len(stream.push(chunk))
        sizes = max(
            sizes, len(stream.audio), len(stream.assembler.model_root), len(stream.face.audio)
        )
    frames += len(stream.finish())
    assert frames == 600 * 60
    assert sizes < 16000  # under one second of audio or frames is ever kept


def test_bad_audio_file_for_soundfile(tmp_path, animator):
    path = tmp_path / "nan.wav"
    soundfile.write(path, np.full(16000, np.nan, np.float32), 16000, subtype="FLOAT")
    with pytest.raises(InputError, match="nan.wav"):
        animator.animate(path, "hello")


def test_stream_with_words_pushed_as_they_come(animator, speech):
    audio, transcript = speech
    offline = animator.animate(audio, transcript).motion.to_array(np.float32)
    # all words with the first chunk: the same as knowing the transcript up front
    stream = AnimationStream(animator)
    pieces = [stream.push(audio[:1600], words=transcript.words)]
    pieces += [stream.push(audio[i : i + 1600]) for i in range(1600, len(audio), 1600)]
    pieces.append(stream.finish())
    assert np.abs(np.concatenate(pieces) - offline).max() < 1e-4

    # words arriving when spoken: same length; a word's vector is frozen once its frames are used
    stream = AnimationStream(animator)
    pending, pieces, used = list(transcript.words), [], {}
    for i in range(0, len(audio), 1600):
        now = (i + 1600) / 16000
        heard = [w for w in pending if w.end <= now]
        pending = pending[len(heard) :]
        pieces.append(stream.push(audio[i : i + 1600], words=heard))
        released = stream.features_out / stream.model_fps
        for index, word in enumerate(stream.words):
            if word.end <= released and index not in used and stream._vectors is not None:
                used[index] = stream._vectors[index].copy()
    pieces.append(stream.finish())
    streamed = np.concatenate(pieces)
    assert streamed.shape == offline.shape and np.all(np.isfinite(streamed))
    assert len(stream.words) == len(transcript.words) and len(used) > 5
    for index, vector in used.items():
        assert np.array_equal(stream._vectors[index], vector)
