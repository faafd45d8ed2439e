"""Shared helpers of the speed and memory benchmarks (SPEC section 5, "Speed"; issue 3, DoD).

- :func:`machine` describes where figures were measured (cores, CPU model, torch threads, load);
- :func:`measure` times a call with warm-up and repeats (wall and process CPU seconds);
- :func:`peak_rss_mb` / :func:`current_rss_mb` read the process's resident memory;
- :func:`speech_clip` makes N seconds of real speech by repeating ``examples/hello.wav`` (16 kHz)
  with its transcript repeated and the word times (aligned once with pocketsphinx) shifted;
- :func:`model_path` picks the model to benchmark: ``--model``, else the shipped default, else a
  default-config model trained for a few steps on a tiny corpus under ``/tmp`` (speed does not
  depend on the weights);
- :func:`print_table` and :func:`save_json` print and save the figures.

Every script runs as ``.venv/bin/python benchmarks/NAME.py [--model RUN] [--json PATH]``.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_AUDIO = ROOT / "examples" / "hello.wav"
EXAMPLE_TEXT = ROOT / "examples" / "hello.txt"
# the shipped Transformer-XL: the speed and stream benchmarks measure the live server's model
SHIPPED_MODEL = ROOT / "src" / "llavataros" / "assets" / "default"
SCRATCH = Path("/tmp/llavataros-bench")
from llavataros.speech.audio import SAMPLE_RATE  # noqa: E402

GAP_SECONDS = 0.3  # silence between repetitions of the example clip


# -- the machine -------------------------------------------------------------------------------
def cpu_model() -> str:
    """The ``model name`` line of /proc/cpuinfo (the machine name elsewhere)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict[str, Any]:
    """Cores, CPU, torch version and threads, and the load average (other processes running)."""
    import torch

    return {
        "cpus": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)),
        "cpu_model": cpu_model(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "load_average_1_5_15": [round(v, 2) for v in os.getloadavg()],
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
    }


def print_machine(info: dict[str, Any]) -> None:
    load = ", ".join(f"{v:.2f}" for v in info["load_average_1_5_15"])
    print(
        f"machine: {info['cpus_usable']}/{info['cpus']} cores, {info['cpu_model']}; "
        f"torch {info['torch']} with {info['torch_threads']} threads; load average {load}"
    )
    if info["load_average_1_5_15"][0] > info["cpus_usable"]:
        print("  note: the load average exceeds the cores: other processes share the CPU, so wall")
        print("  times are inflated; CPU seconds (cpu columns) are less affected.")
        if info["torch_threads"] > 1:
            print("  torch's OpenMP threads spin-wait for each other on a shared CPU, which can")
            print("  make them many times slower than one thread: compare with --threads 1.")


def set_threads(threads: int | None) -> None:
    """Torch intra-op threads (None: leave torch's default, one per core)."""
    if threads:
        import torch

        torch.set_num_threads(threads)


# -- timing ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Timing:
    """Wall seconds of each repeat (after warm-up) and the process CPU seconds of each."""

    wall: tuple[float, ...]
    cpu: tuple[float, ...]

    @property
    def best(self) -> float:
        return min(self.wall)

    @property
    def median(self) -> float:
        return statistics.median(self.wall)

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu)

    def to_dict(self) -> dict[str, Any]:
        return {
            "best": self.best,
            "median": self.median,
            "cpu_median": self.cpu_median,
            "wall": list(self.wall),
            "cpu": list(self.cpu),
        }


def cpu_seconds() -> float:
    """User + system CPU seconds of this process (all threads) so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(call: Callable[[], Any], repeats: int = 3, warmup: int = 1) -> tuple[Timing, Any]:
    """Run ``call`` ``warmup`` times untimed, then ``repeats`` times timed; the last result."""
    result = None
    for _ in range(warmup):
        result = call()
    walls, cpus = [], []
    for _ in range(max(1, repeats)):
        cpu, start = cpu_seconds(), time.perf_counter()
        result = call()
        walls.append(time.perf_counter() - start)
        cpus.append(cpu_seconds() - cpu)
    return Timing(tuple(walls), tuple(cpus)), result


def percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=np.float64), q))


# -- memory ------------------------------------------------------------------------------------
def _status_kb(key: str) -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return float(line.split()[1])
    except OSError:
        pass
    return None


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far (VmHWM; ``ru_maxrss`` elsewhere), MB."""
    kilobytes = _status_kb("VmHWM")
    if kilobytes is None:
        kilobytes = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kilobytes / 1024.0


def current_rss_mb() -> float:
    """Resident set size now (VmRSS), MB."""
    kilobytes = _status_kb("VmRSS")
    return (kilobytes if kilobytes is not None else 0.0) / 1024.0


def reset_peak_rss() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0: write 5 to clear_refs); True if done."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


# -- speech ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SpeechClip:
    """``audio`` float32 16 kHz mono of ``seconds``; ``text`` its words; ``transcript`` the
    same words timed (seconds)."""

    audio: np.ndarray
    text: str
    transcript: Any  # llavataros.speech.words.Transcript
    seconds: float = field(default=0.0)


def example_words(audio: np.ndarray) -> Any:
    """Timed words of the example clip: aligned once with pocketsphinx, cached under /tmp."""
    from llavataros.speech.words import Transcript, load_words_json, save_words_json

    cached = SCRATCH / "hello.words.json"
    if cached.exists() and cached.stat().st_mtime >= EXAMPLE_AUDIO.stat().st_mtime:
        return load_words_json(cached)
    from llavataros.speech.align import Aligner

    text = " ".join(EXAMPLE_TEXT.read_text().split())
    timed = Aligner().align(audio, text)
    SCRATCH.mkdir(parents=True, exist_ok=True)
    save_words_json(Transcript(timed.text, timed.words, timed.source), cached)
    return timed


def speech_clip(seconds: float, kind: str = "piper") -> SpeechClip:
    """``seconds`` of speech with exact word times, cached under /tmp.

    ``kind="piper"``: varied sentences of the synthetic corpus's script writer spoken by the
    bundled Piper voice (word times from the synthesiser); ``"repeat"``: the example clip
    repeated (``GAP_SECONDS`` of silence between), word times aligned once and shifted.
    Repeated speech makes Whisper fall back to temperature sampling (its output compresses too
    well), so Whisper is timed on Piper speech."""
    from llavataros.speech.words import load_words_json, save_words_json

    stem = SCRATCH / f"speech-{kind}-{seconds:g}s"
    wav, words = stem.with_suffix(".wav"), stem.with_suffix(".words.json")
    if wav.exists() and words.exists():
        import soundfile

        audio, _ = soundfile.read(wav, dtype="float32")
        transcript = load_words_json(words)
    else:
        make = {"piper": _piper_speech, "repeat": _repeated_speech}[kind]
        audio, transcript = make(int(round(seconds * SAMPLE_RATE)))
        write_wav(audio, wav)
        save_words_json(transcript, words)
    return SpeechClip(audio, transcript.text, transcript, len(audio) / SAMPLE_RATE)


def _cut(audio: np.ndarray, words, total: int, source: str):
    """The first ``total`` samples (zero-padded) and the words that end within them."""
    from llavataros.speech.words import Transcript

    audio = np.concatenate([audio, np.zeros(max(0, total - len(audio)), np.float32)])[:total]
    kept = tuple(word for word in words if word.end <= total / SAMPLE_RATE)
    return audio, Transcript(" ".join(word.word for word in kept), kept, source)


def _repeated_speech(total: int):
    from llavataros.speech.audio import load_audio
    from llavataros.speech.words import Word

    base = load_audio(EXAMPLE_AUDIO).astype(np.float32)
    words = example_words(base).words
    gap = np.zeros(int(GAP_SECONDS * SAMPLE_RATE), np.float32)
    period = len(base) + len(gap)
    repeats = total // period + 1
    audio = np.concatenate([np.concatenate([base, gap])] * repeats)
    shifted = [
        Word(word.word, word.start + r * period / SAMPLE_RATE, word.end + r * period / SAMPLE_RATE)
        for r in range(repeats)
        for word in words
    ]
    return _cut(audio, shifted, total, "transcript")


def _piper_speech(total: int, words_per_second: float = 3.2, seed: int = 0):
    """Corpus sentences spoken by the Piper voice (about 2.7 words per second)."""
    from llavataros.corpus.script import generate_script
    from llavataros.corpus.speech_takes import speak_script
    from llavataros.speech.tts import Synthesizer, Voice

    print(f"synthesising {total / SAMPLE_RATE:g} s of speech with Piper (once)", flush=True)
    rng = np.random.default_rng(seed)
    script = generate_script(rng, int(total / SAMPLE_RATE * words_per_second) + 10)
    take = speak_script(Synthesizer(threads=2), script, Voice())
    if len(take.audio) < total:
        raise RuntimeError(f"Piper made {take.duration:.1f} s, fewer than asked: raise the rate")
    return _cut(take.audio, take.transcript.words, total, "synthesised")


def write_wav(audio: np.ndarray, path: Path) -> Path:
    import soundfile

    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, audio, SAMPLE_RATE)
    return path


# -- the model ---------------------------------------------------------------------------------
def scratch_model(folder: Path = SCRATCH / "default-config-run") -> Path:
    """A model with the default architecture (``TrainConfig()``), trained 2 steps on a tiny
    corpus: the figures need its shapes, not good weights. Trained once, reused after."""
    if (folder / "model" / "model.json").exists():
        return folder
    sys.path.insert(0, str(ROOT / "tests"))
    from llavataros.training.train import train
    from tiny_corpus import write_tiny_corpus

    print(f"training a default-config model for 2 steps into {folder} (once)", flush=True)
    data = write_tiny_corpus(SCRATCH / "tiny-corpus", takes=4, seconds=10.0)
    overrides = [
        "trainer.max_steps=2",
        "trainer.batch_size=2",
        "trainer.progress_bar=false",
        "data.window_seconds=8",
    ]
    if folder.exists():
        import shutil

        shutil.rmtree(folder)
    return train(data, folder, overrides=overrides)


def model_path(given: str | None) -> Path:
    """``--model`` as given; else the shipped Transformer-XL; else :func:`scratch_model`."""
    if given:
        return Path(given)
    if (SHIPPED_MODEL / "model.json").exists():
        return SHIPPED_MODEL
    return scratch_model()


def add_common_arguments(parser) -> None:
    parser.add_argument(
        "--model",
        help="run folder or checkpoint (default: the shipped Transformer-XL, else a "
        "default-config model trained for 2 steps under /tmp)",
    )
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all)")
    parser.add_argument("--json", type=Path, help="also save the figures as JSON here")


# -- reporting ---------------------------------------------------------------------------------
def print_table(rows: Sequence[Sequence[Any]], header: Sequence[str]) -> None:
    """Rows of cells under ``header``: first column left-aligned, the others right-aligned."""
    cells = [[str(c) for c in header]] + [[_cell(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    for index, row in enumerate(cells):
        line = "  ".join(
            cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row)
        )
        print(line)
        if index == 0:
            print("-" * len(line))


def _cell(value: Any) -> str:
    if isinstance(value, float):
        if value == 0 or abs(value) >= 100:
            return f"{value:.1f}"
        if abs(value) >= 1:
            return f"{value:.3f}"
        return f"{value:.4f}"
    return str(value)


def save_json(figures: dict[str, Any], path: Path | None) -> None:
    from llavataros.models.checkpoint import to_json_value

    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(to_json_value(figures), indent=1) + "\n")
    print(f"figures saved to {path}")
