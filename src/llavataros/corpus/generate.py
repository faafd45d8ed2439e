"""Generate the synthetic co-speech corpus (SPEC section 4) in the AvatarOS layout.

Per take: a script and its Piper speech (:mod:`.text`, :mod:`.speech`), procedural motion
(:mod:`.motion`) in one speaker's style, then ``NAME.npy`` (float32 ``(T, 9, 7)``, 60 fps),
``NAME.wav`` (16 kHz PCM), ``NAME.words.json``, ``NAME.TextGrid`` (tiers ``words`` and
``phones``, Piper's IPA phonemes), ``NAME.gestures.json`` (labels and the speaker style) and
``NAME.face.npy`` (float32 ``(T, 52)`` ARKit weights at the same fps: visemes from Piper's
phoneme times, blinks, brow raises on pitch accents; :mod:`llavataros.corpus.face_truth`).
Names are ``NNN_<Speaker>_k_x_1_0`` with ``NNN`` the take number and ``k`` the speaker's own
take count. ``corpus.json`` sums up the corpus and the
detector check of every take (:mod:`llavataros.gestures.detectors`).

Determinism: speakers come from ``seed``; take ``i`` draws its text from
``default_rng([seed, i, 0])``, its motion from ``default_rng([seed, i, 1])`` and its upper
face from ``[seed, i, 2]`` only, so the
worker count and scheduling never change a byte.

Mirrored takes (``mirror=True``) add ``NNN_<Speaker>_k_mirror_x_1_0`` with the same audio:
the left/right mirror (:func:`llavataros.motion.mirror.mirror`) of a motion made from the
same random draws, except that YOU, NO and EAT, which SPEC section 4 defines on the *right*
wrist, are performed by the left hand before mirroring, so the mirrored take shows them on the
right wrist as the detectors require (a plain mirror would turn every YOU/NO/EAT into a
left-hand gesture no detector accepts). Their labels are mirrored (hands swapped) and checked
with the detectors like every other take. The mirrored skeleton has the left/right bone
lengths exchanged, as in the mirrored AvatarOS takes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from llavataros.corpus.face_truth import synthetic_face
from llavataros.corpus.procedural_motion import generate_motion
from llavataros.corpus.styles import SpeakerStyle, make_speakers
from llavataros.corpus.writers import (
    write_atomic,
    write_json,
    write_motion,
    write_textgrid,
    write_wav,
)
from llavataros.errors import InputError
from llavataros.face.take import save_face
from llavataros.gestures.classes import CLASS_NAMES
from llavataros.gestures.detectors import detect_gestures, match_gestures
from llavataros.speech.words import save_words_json

CORPUS_VERSION = "1"
FPS = 60.0
WORDS_PER_SECOND = 2.9  # Piper joe at length_scale 1 with sentence pauses (measured)
SPEAKER_SEED = 1_000_003  # second seed word of the speakers' generator


@dataclass(frozen=True)
class TakeJob:
    """Everything one worker needs to make one take (and its mirror)."""

    index: int
    name: str
    style: SpeakerStyle
    seed: int
    words: int
    out_dir: str
    mirror: bool
    novel_contexts: bool = False


def take_plan(
    minutes: float, speakers: Sequence[SpeakerStyle], seed: int, take_seconds: tuple[float, float]
) -> list[tuple[str, SpeakerStyle, int]]:
    """``(name, speaker, target words)`` per take: about ``minutes`` of speech in takes of
    ``take_seconds`` (min, max) seconds, speakers in turn."""
    low, high = take_seconds
    count = max(1, round(minutes * 60.0 / (0.5 * (low + high))))
    lengths = np.random.default_rng([seed, SPEAKER_SEED, 1]).uniform(low, high, count)
    lengths *= minutes * 60.0 / lengths.sum()
    plan, per_speaker = [], {}
    for index, seconds in enumerate(lengths):
        style = speakers[index % len(speakers)]
        k = per_speaker.get(style.name, 0)
        per_speaker[style.name] = k + 1
        words = max(4, int(round(seconds * WORDS_PER_SECOND / style.voice.length_scale)))
        plan.append((f"{index + 1:03d}_{style.name}_{k}_x_1_0", style, words))
    return plan


def generate_corpus(
    out_dir: str | Path,
    minutes: float,
    speakers: int,
    seed: int,
    mirror: bool = False,
    workers: int = 2,
    progress: bool = True,
    take_seconds: tuple[float, float] = (30.0, 60.0),
    novel_contexts: bool = False,
) -> dict:
    """Write about ``minutes`` of synthetic takes by ``speakers`` speakers into ``out_dir``
    (see the module docstring); returns the ``corpus.json`` summary. ``novel_contexts`` uses
    sentences (templates and filler words) the training corpus never has, with the same
    speakers, to measure generalisation of the trigger words."""
    if minutes <= 0 or not math.isfinite(minutes):
        raise InputError(None, f"minutes must be positive, got {minutes}")
    if workers < 1:
        raise InputError(None, f"workers must be at least 1, got {workers}")
    if not 5.0 <= take_seconds[0] <= take_seconds[1]:
        raise InputError(
            None, f"take_seconds must be (min, max) with 5 <= min <= max, got {take_seconds}"
        )
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    styles = make_speakers(speakers, np.random.default_rng([seed, SPEAKER_SEED]))
    jobs = [
        TakeJob(index, name, style, seed, words, str(out_dir), mirror, novel_contexts)
        for index, (name, style, words) in enumerate(take_plan(minutes, styles, seed, take_seconds))
    ]
    results = _run(jobs, workers, progress)
    summary = _summary(results, styles, seed, minutes, mirror)
    summary["novel_contexts"] = novel_contexts
    summary["take_seconds"] = [float(take_seconds[0]), float(take_seconds[1])]
    write_json(out_dir / "corpus.json", summary)
    return summary


def _run(jobs: list[TakeJob], workers: int, progress: bool) -> list[dict]:
    from tqdm import tqdm

    bar = tqdm(total=len(jobs), desc="synthetic takes", unit="take", disable=not progress)
    results: list[dict] = []
    if workers == 1 or len(jobs) == 1:
        _start_worker()
        for job in jobs:
            results.append(make_take(job))
            bar.update()
    else:
        with ProcessPoolExecutor(
            max_workers=min(workers, len(jobs)), initializer=_start_worker
        ) as pool:
            for result in pool.map(make_take, jobs):
                results.append(result)
                bar.update()
    bar.close()
    return [entry for result in results for entry in result["takes"]]


_SYNTHESIZER = None


def _start_worker() -> None:
    """Load the Piper voice once per process (single-threaded: processes give parallelism)."""
    global _SYNTHESIZER
    if _SYNTHESIZER is None:
        from llavataros.speech.tts import Synthesizer

        _SYNTHESIZER = Synthesizer(threads=1)


def make_take(job: TakeJob) -> dict:
    """Synthesize, animate and write one take (and its mirror); returns their summaries."""
    from llavataros.corpus.speech_takes import generate_take
    from llavataros.motion.mirror import mirror, mirror_name

    _start_worker()
    speech_rng = np.random.default_rng([job.seed, job.index, 0])
    _, speech = generate_take(
        speech_rng, _SYNTHESIZER, job.style.voice, job.words, novel_contexts=job.novel_contexts
    )
    motion_seed = [job.seed, job.index, 1]
    motion, labels = generate_motion(speech, job.style, FPS, np.random.default_rng(motion_seed))
    out = Path(job.out_dir)
    blink_rate = float(np.random.default_rng([job.seed, job.index, 3]).uniform(14.0, 22.0))
    face = synthetic_face(
        speech.phonemes,
        speech.stress_times,
        speech.sentence_times,
        motion.num_frames,
        FPS,
        [job.seed, job.index, 2],
        blink_rate,
    )
    entries = [_write_take(out, job.name, speech, motion, labels, job.style, False, face)]
    if job.mirror:
        # The same random draws as the take itself, YOU/NO/EAT on the left hand.
        source, source_labels = generate_motion(
            speech, job.style, FPS, np.random.default_rng(motion_seed), right_wrist_hand="left"
        )
        entries.append(
            _write_take(
                out,
                mirror_name(job.name),
                speech,
                mirror(source),
                source_labels.mirrored(),
                job.style,
                True,
                face,  # the rule face is symmetric: the mirror keeps it
            )
        )
    return {"takes": entries}


def _write_take(
    out: Path,
    name: str,
    speech,
    motion,
    labels,
    style: SpeakerStyle,
    mirrored: bool,
    face: np.ndarray,
) -> dict:
    """Write the six files of a take; returns its ``corpus.json`` entry."""
    duration = len(speech.audio) / speech.sample_rate
    write_atomic(out / f"{name}.face.npy", lambda target: save_face(target, face))
    write_motion(out / f"{name}.npy", motion.to_array(np.float32))
    write_wav(out / f"{name}.wav", speech.audio, speech.sample_rate)
    save_words_json(speech.transcript, out / f"{name}.words.json")
    write_textgrid(out / f"{name}.TextGrid", speech.transcript, duration, speech.phonemes)
    triggers = [
        {
            "gesture": t.gesture,
            "word": t.word,
            "word_index": t.word_index,
            "start": round(t.start, 4),
            "end": round(t.end, 4),
        }
        for t in speech.triggers
    ]
    write_json(
        out / f"{name}.gestures.json",
        {
            "name": name,
            "fps": FPS,
            "seconds": round(duration, 4),
            "mirror": mirrored,
            "speaker": style.to_dict(),
            **labels.to_dict(),
            "triggers": triggers,
        },
    )
    scores = match_gestures(detect_gestures(motion.positions, FPS), speech.triggers)
    counts = {c: [s.triggers, s.detected, s.matched] for c, s in scores.per_class.items()}
    return {
        "name": name,
        "speaker": style.name,
        "mirror": mirrored,
        "seconds": round(duration, 4),
        "frames": motion.num_frames,
        "gestures": len(labels.gestures),
        "beats": len(labels.beats),
        "detector": counts,
    }


def _summary(
    entries: list[dict], styles: Sequence[SpeakerStyle], seed: int, minutes: float, mirror: bool
) -> dict:
    """``corpus.json``: settings, speakers, takes and the pooled detector check."""
    validation = {}
    for name in CLASS_NAMES:
        triggers, detected, matched = (
            sum(e["detector"][name][k] for e in entries) for k in range(3)
        )
        validation[name] = {
            "triggers": triggers,
            "detected": detected,
            "matched": matched,
            "recall": round(matched / triggers, 4) if triggers else None,
            "precision": round(matched / detected, 4) if detected else None,
        }
    return {
        "version": CORPUS_VERSION,
        "seed": seed,
        "minutes": minutes,
        "fps": FPS,
        "mirror": mirror,
        "seconds": round(sum(e["seconds"] for e in entries), 3),
        "speakers": [style.to_dict() for style in styles],
        "takes": [{k: v for k, v in e.items() if k != "detector"} for e in entries],
        "detector_check": validation,
    }
