"""The main job: speech in, AvatarOS gestures out (SPEC section 2).

``load_audio`` -> ``words_for_audio`` (align or transcribe) -> ``FeatureExtractor.extract`` ->
``model.generate`` (any model family) -> :func:`~.postprocess.assemble_motion` (FK, resample to
the output fps, Savitzky-Golay 9/2 as in the paper) -> ``write_outputs``.

The speech is followed by :func:`silence_frames` of silence before features are computed: the
last frames then read silence as their lookahead, as every frame the model was trained on read
real input. (The model's own end convention, a learned boundary vector, never occurs in
training windows, and reading it made every clip end with an arm snap.)

:class:`Animator` loads every model once, so several recordings share them.
"""

from __future__ import annotations

import dataclasses
import math
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from llavataros.errors import InputError
from llavataros.face.outputs import write_face_outputs
from llavataros.features.build import build_extractor
from llavataros.features.frames import FeatureExtractor, FrameFeatures
from llavataros.features.speaker import SpeakerVocabulary
from llavataros.models.base import FrameInputs, SpeechModel
from llavataros.models.checkpoint import ModelMetadata, load_checkpoint, resolve_model_path
from llavataros.models.face.network import FaceModel
from llavataros.models.geometry import output_to_motion
from llavataros.motion.bvh import write_bvh
from llavataros.motion.skeleton import Skeleton
from llavataros.motion.smoothing import SpeedLimit
from llavataros.motion.take import Motion, save_take
from llavataros.motion.timing import frame_count
from llavataros.pipeline.face import is_english, speech_face
from llavataros.pipeline.learned_mouth import SHIPPED_FACE_MODEL, load_face_model
from llavataros.pipeline.postprocess import DEFAULT_SMOOTHING_SECONDS, assemble_motion
from llavataros.pipeline.preflight import output_fps
from llavataros.pipeline.progress import STAGES
from llavataros.speech.audio import SAMPLE_RATE, load_audio
from llavataros.speech.frontend import read_transcript_argument, words_for_audio
from llavataros.speech.words import Transcript, save_words_json


def silence_frames(model: SpeechModel) -> int:
    """Model frames of silence appended after the speech: the model's speech lookahead."""
    return int(model.config.lookahead)


def with_silence(samples: np.ndarray, frames: int, fps: float) -> np.ndarray:
    """``samples`` followed by ``frames`` model frames' worth of zeros (16 kHz)."""
    padding = int(math.ceil(frames * SAMPLE_RATE / fps))
    return np.concatenate([samples, np.zeros(padding, np.float32)])


@dataclass(frozen=True)
class AnimationResult:
    """Generated motion at the output fps, the timed words it was driven by, the seconds
    each stage took, and the face ``(T, 52)`` at the same fps (None with ``face=False``) with
    what drove it (:mod:`llavataros.pipeline.face`); ``model`` names the gesture model's family
    and, for a model that samples, its settings (what ``NAME.json`` records)."""

    motion: Motion
    transcript: Transcript
    timings: dict[str, float] = field(default_factory=dict)
    face: np.ndarray | None = None
    face_source: str | None = None
    model: dict = field(default_factory=dict)


@dataclass
class Animator:
    """A loaded model with its feature extractor and speech front-end (loaded on first use)."""

    model: SpeechModel
    metadata: ModelMetadata
    extractor: FeatureExtractor
    transcriber: object | None = None
    aligner: object | None = None
    threads: int = 1
    face_model: FaceModel | None = None  # the mouth where no words are known (None: loudness)
    # the speed limit's smoothing span in seconds (0: no limit); None: the model family's
    speed_limit_seconds: float | None = None

    @classmethod
    def load(
        cls,
        model: str | Path | None = None,
        text_model: str | Path | None = None,
        audio_model: str | Path | None = None,
        threads: int = 1,
        face_model: str | Path | None = SHIPPED_FACE_MODEL,
    ) -> Animator:
        """Load a model and its feature extractor once. ``threads``: torch CPU threads; one is
        fastest for the default-size model, and robust on a shared machine (two threads were
        up to 60 times slower per call when another process took a core). ``face_model``: the
        face checkpoint whose mouth animates speech without known words (default: the shipped
        one; None: a loudness-driven jaw)."""
        if threads < 1:
            raise InputError(None, f"threads must be at least 1, got {threads}")
        torch.set_num_threads(threads)
        source = resolve_model_path(model)
        network, metadata = load_checkpoint(source)
        for name in ("skeleton", "root_statistics", "audio_statistics"):
            if getattr(metadata, name) is None:
                raise InputError(source, f"model.json has no {name} (not an animation model)")
        extractor = build_extractor(
            network.config.fps,
            text_model or metadata.features.text_model,
            audio_model or metadata.features.audio_model,
        )
        if extractor.text_dim != network.config.text_dim:
            raise InputError(
                text_model,
                f"text model gives {extractor.text_dim}-d vectors, the "
                f"model expects {network.config.text_dim}-d",
            )
        if extractor.audio_dim != network.config.audio_dim:
            raise InputError(
                audio_model,
                f"audio features are {extractor.audio_dim}-d, the "
                f"model expects {network.config.audio_dim}-d",
            )
        face = load_face_model(face_model) if face_model is not None else None
        return cls(network, metadata, extractor, threads=threads, face_model=face)

    def set_sampling(
        self,
        steps: int | None = None,
        guidance: float | None = None,
        seed: int | None = None,
        temperature: float | None = None,
        eta: float | None = None,
    ) -> None:
        """Sampling options of a model that samples (the ``diffusion`` family): DDIM ``steps``,
        classifier-free ``guidance`` scale, random ``seed`` (the same seed gives the same
        motion), ``temperature`` of the initial noise, DDIM ``eta`` (fresh noise per step). None
        keeps the model's setting; a model that does not sample refuses any."""
        options = {
            "steps": steps,
            "guidance": guidance,
            "seed": seed,
            "temperature": temperature,
            "eta": eta,
        }
        given = {name: value for name, value in options.items() if value is not None}
        if not given:
            return
        sampler = getattr(self.model, "sampler", None)
        if sampler is None:
            options = ", ".join(f"--{name}" for name in given)
            raise InputError(
                None,
                f"{options}: only a model that samples takes these (the diffusion family); "
                f"this model is {self.model.family}",
            )
        try:
            self.model.sampler = dataclasses.replace(sampler, **given)
        except ValueError as error:
            raise InputError(None, str(error)) from None

    # -- metadata views -------------------------------------------------------------------
    @property
    def skeleton(self) -> Skeleton:
        return self.metadata.skeleton

    @property
    def speakers(self) -> SpeakerVocabulary:
        return self.metadata.speakers

    @property
    def default_fps(self) -> float:
        return self.metadata.corpus_fps

    @property
    def smoothing_seconds(self) -> float:
        """Span of the output smoothing window: the model family's (a sampler's frames jitter
        more than a regressor's), else the paper's 9 frames at 30 fps."""
        return getattr(self.model, "smoothing_seconds", DEFAULT_SMOOTHING_SECONDS)

    @property
    def speed_limit(self) -> SpeedLimit | None:
        """Extra smoothing where the wrists move fast: the model family's (the diffusion model
        has one, the Transformer-XL none, to keep the live stream's latency), or one over
        ``speed_limit_seconds`` (0: none); at the wrist speeds of the model's training takes
        where its model.json records them, else at people's."""
        corpus = self.metadata.speed_limit
        if self.speed_limit_seconds is not None:
            return SpeedLimit.over(self.speed_limit_seconds, corpus)
        family = getattr(self.model, "speed_limit", None)
        if family is None or corpus is None:
            return family
        return dataclasses.replace(family, slow=corpus.slow, fast=corpus.fast)

    def speaker_id(self, speaker: str | int | None) -> int:
        """The id of a speaker/style name or id the model was trained on; None: the model's
        default (the most common speaker of its training data)."""
        return self.metadata.speaker_id(speaker)

    # -- stages ---------------------------------------------------------------------------
    def words(self, audio: np.ndarray, transcript: str | Path | Transcript | None) -> Transcript:
        """Timed words: a timed transcript as is; text aligned; nothing: Whisper + alignment."""
        if isinstance(transcript, str | Path):
            transcript = read_transcript_argument(transcript)
        if transcript is None and self.transcriber is None:
            from llavataros.speech.transcribe import Transcriber

            self.transcriber = Transcriber()
            torch.set_num_threads(self.threads)  # CTranslate2's OpenMP resets torch's count
        if not isinstance(transcript, Transcript) and self.aligner is None:
            from llavataros.speech.align import Aligner

            self.aligner = Aligner()
        return words_for_audio(audio, transcript, self.transcriber, self.aligner)

    def features(
        self, audio: np.ndarray, transcript: Transcript, silence: int = 0
    ) -> FrameFeatures:
        """Model-rate features of ``audio`` followed by ``silence`` frames of silence."""
        fps = self.model.config.fps
        frames = frame_count(len(audio) / SAMPLE_RATE, fps) + silence
        if silence:
            audio = with_silence(audio, silence, fps)
        features = self.extractor.extract(audio, transcript, fps, num_frames=frames)
        audio = self.metadata.audio_statistics.normalize(features.audio)
        return FrameFeatures(features.text, features.text_mask, audio, fps)

    def model_output(self, features: FrameFeatures, speaker: int) -> torch.Tensor:
        """Model output rows ``(t, output_dim)`` for one sequence of frame features."""
        inputs = FrameInputs(
            torch.from_numpy(features.text)[None],
            torch.from_numpy(features.text_mask)[None],
            torch.from_numpy(features.audio)[None],
        )
        return self.model.generate(inputs, torch.tensor([speaker]))[0]

    def motion_from_features(self, features: FrameFeatures, speaker: int) -> Motion:
        """Model-rate motion (FK-consistent) for frame features."""
        output = self.model_output(features, speaker)
        stats = self.metadata.root_statistics
        return output_to_motion(output, stats, self.skeleton, self.model.config.fps)

    def animate(
        self,
        audio: str | Path | np.ndarray,
        transcript: str | Path | Transcript | None = None,
        fps: float | None = None,
        speaker: str | int | None = None,
        smooth: bool = True,
        face: bool = True,
        progress: Callable[[str], None] | None = None,
    ) -> AnimationResult:
        """Gestures (and the face, unless ``face=False``) for ``audio`` (a file, or 16 kHz mono
        samples) at ``fps`` (default: the training corpus rate), ``T = round(duration * fps)``
        frames. ``progress`` is called with the name of each stage in :data:`STAGES` (but "write")
        as it starts."""
        timings: dict[str, float] = {}
        clock = time.perf_counter()
        progress = progress or (lambda stage: None)
        progress("load_audio")

        def lap(stage: str) -> None:
            nonlocal clock
            now = time.perf_counter()
            timings[stage] = now - clock
            clock = now
            following = STAGES.index(stage) + 1
            if following < len(STAGES) - 1:  # "write" belongs to animate_to_files
                progress(STAGES[following])

        samples = load_audio(audio) if isinstance(audio, str | Path) else np.asarray(audio)
        speaker_id = self.speaker_id(speaker)
        fps = output_fps(fps, self.default_fps)
        lap("load_audio")
        words = self.words(samples, transcript)
        lap("words")
        features = self.features(samples, words, silence_frames(self.model))
        lap("features")
        output = self.model_output(features, speaker_id)
        lap("model")
        motion = assemble_motion(
            output,
            self.skeleton,
            self.metadata.root_statistics,
            self.model.config.fps,
            fps,
            frame_count(len(samples) / SAMPLE_RATE, fps),
            smooth,
            self.smoothing_seconds,
            self.speed_limit,
        )
        lap("postprocess")
        weights, source = None, None
        if face:
            weights, source = speech_face(
                samples,
                words.words,
                motion.num_frames,
                fps,
                face_model=self.face_model,
                english=is_english(words),
            )
            lap("face")
        return AnimationResult(motion, words, timings, weights, source, self.model_record())

    def model_record(self) -> dict:
        """``{"model": family}`` plus ``"sampling"`` (steps, guidance, eta, seed, temperature)
        for a model that samples: enough to make the same motion again."""
        record: dict = {"model": self.model.family}
        sampler = getattr(self.model, "sampler", None)
        if sampler is not None:
            record["sampling"] = dataclasses.asdict(sampler)
        return record

    def animate_to_files(
        self,
        audio: str | Path,
        out_dir: str | Path,
        transcript: str | Path | Transcript | None = None,
        fps: float | None = None,
        speaker: str | int | None = None,
        video: bool = True,
        smooth: bool = True,
        gltf: bool = False,
        face: bool = True,
        progress: Callable[[str], None] | None = None,
    ) -> list[Path]:
        """Write ``NAME.npy``, ``.bvh``, ``.words.json``, ``.face.npy``, ``.face.csv`` (and
        ``.mp4``, ``.glb``) for ``audio``; ``progress`` as in :meth:`animate`, then
        ``"write"``."""
        audio = Path(audio)
        result = self.animate(audio, transcript, fps, speaker, smooth, face, progress)
        if progress is not None:
            progress("write")
        keep = (audio,) + ((Path(transcript),) if isinstance(transcript, str | Path) else ())
        return write_outputs(result, out_dir, audio.stem, audio if video else None, gltf, keep)


def write_outputs(
    result: AnimationResult,
    out_dir: str | Path,
    name: str,
    video_audio: Path | None,
    gltf: bool = False,
    keep: tuple[Path, ...] = (),
) -> list[Path]:
    """Write the outputs of one input as one unit: into a hidden staging folder first, then
    renamed into ``out_dir``, where outputs of ``NAME`` from earlier runs that this run does
    not write (an old ``NAME.mp4`` after ``--no-video``, ``NAME.face.*``) are removed, except
    the files in ``keep`` (this run's inputs). A failure leaves no partial files; staging
    folders of killed runs are removed first."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    remove_dead_staging(out_dir)
    staging = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{os.getpid()}.{name}.", dir=out_dir))
    try:
        face = {} if result.face is None else {"face": result.face_source}
        path = staging / f"{name}.npy"
        motion_path = save_take(result.motion, path, write_metadata=True, **face, **result.model)
        files = [
            motion_path,
            motion_path.with_suffix(".json"),  # the fps (so every command reads the take),
            # what drove the face, the model and its sampler
            write_bvh(result.motion, staging / f"{name}.bvh"),
            save_words_json(result.transcript, staging / f"{name}.words.json"),
        ]
        if result.face is not None:
            files += write_face_outputs(motion_path, result.face, result.motion.fps)
        if video_audio is not None:
            from llavataros.render.video import render_video

            files.append(
                render_video(result.motion, staging / f"{name}.mp4", video_audio, face=result.face)
            )
        if gltf:
            from llavataros.export.gltf import write_glb

            files.append(
                write_glb(staging / f"{name}.glb", result.motion, result.face, source=name)
            )
        fresh = {file.name for file in files}
        kept = {resolved(path) for path in keep}
        for stale in earlier_outputs(out_dir, name):
            if stale.name not in fresh and stale.resolve() not in kept:
                stale.unlink()
        written = []
        for file in files:
            target = out_dir / file.name
            os.replace(file, target)
            written.append(target)
        return written
    finally:
        shutil.rmtree(staging, ignore_errors=True)


STAGING_PREFIX = ".llavataros-staging."  # + PID.NAME.random: the folder of a run in progress
OUTPUT_SUFFIXES = (".npy", ".json", ".bvh", ".words.json", ".mp4", ".glb")


def earlier_outputs(out_dir: Path, name: str) -> list[Path]:
    """Files in ``out_dir`` that an ``animate`` run writes for ``name``."""
    paths = [out_dir / f"{name}{suffix}" for suffix in OUTPUT_SUFFIXES]
    paths += sorted(out_dir.glob(f"{glob_escape(name)}.face.*"))
    return [path for path in paths if path.is_file()]


def resolved(path: str | Path) -> Path | None:
    """``path`` resolved, or None for text that is no path (a transcript given as text)."""
    try:
        return Path(path).resolve()
    except (OSError, ValueError):
        return None


def glob_escape(text: str) -> str:
    """``text`` with glob's special characters taken literally."""
    return "".join(f"[{c}]" if c in "*?[" else c for c in text)


def remove_dead_staging(out_dir: Path) -> None:
    """Remove staging folders in ``out_dir`` whose run no longer lives (killed runs)."""
    for folder in out_dir.glob(f"{STAGING_PREFIX}*"):
        pid = folder.name[len(STAGING_PREFIX) :].split(".", 1)[0]
        if folder.is_dir() and pid.isdigit() and not process_alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` exists (on this machine)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True
