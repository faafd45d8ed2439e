"""Live words (issue 13): how late words arrive, how many, and what they bring to the gestures.

On Piper speech of the corpus's script writer (``common.speech_clip``, trigger words included):

1. The offline reference: Whisper on the whole clip (what ``animate`` hears without a transcript).
2. :class:`LiveWords` fed 100 ms chunks, passes inside ``push`` (``background=False``): for each
   committed word, the stream time of the push that returned it plus the wall time of that push
   (the pass's compute), minus the word's end = the word delay, as a live server would see it if
   the passes kept up with real time (``--paced`` instead streams in real time with background
   passes and measures wall time directly). Word recall: offline words matched in order.
3. Semantic recall (SPEC section 5, the ``gestures`` detectors; triggers = the offline words that
   are trigger words) of offline ``animate`` with the offline words, of the stream without words,
   and of the stream fed live words with the frames held back ``hold`` seconds: a frame is
   computed once the words committed by then are known (words committed by stream time
   ``t + hold`` go with the audio up to ``t``). The smallest hold that keeps the recall of the
   offline animation (within one trigger) is what the live server must add to its lookahead.

Measured (60 s, 16 triggers, load average 8-11 on the 2 cores, ``--threads 1``): word recall
0.966, word end error p95 0.135 s; word delay in stream time p50 1.76 s, p95 3.86 s, with this
machine's compute p50 5.9 s, p95 17.9 s (a Whisper pass: 1.0 s CPU p50 per 1 s step, 3.0 s
wall). Semantic recall: offline 1.00, stream without words 0.00; live words with hold 0/1/2/3/4
s and all words at once: stream time 0.00/0.00/0.63/0.88/0.94/1.00, with compute
0.00/0.00/0.00/0.00/0.13 (6 s 0.44, 8 s 0.75, all 0.94).

Run: ``.venv/bin/python benchmarks/live_words.py [--seconds 60] [--threads 1] [--paced]``.
"""

from __future__ import annotations

import argparse
import difflib
import time

import numpy as np

import common

CHUNK = 1600  # 100 ms at 16 kHz
PASS_COST: list[tuple[float, float]] = []  # (wall, CPU seconds) of each pass run in a push
PUSHES: list[tuple[list, float]] = []  # (words returned, settled_until) after each push
HOLDS = (0.0, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0, float("inf"))
SESSION_HOLDS = (0.0, 1.0, 2.0, 3.0, 4.0)


def live_words(audio: np.ndarray, paced: bool) -> list[tuple[object, float, float]]:
    """``(word, commit time, commit stream time)`` in seconds from the stream's start for every
    committed word (the stream time excludes compute)."""
    from llavataros.serve.live_words import LiveWords

    live = LiveWords(background=paced)
    committed, started = [], time.perf_counter()
    for first in range(0, len(audio), CHUNK):
        chunk = audio[first : first + CHUNK]
        stream_time = (first + len(chunk)) / 16000
        if paced:
            time.sleep(max(0.0, started + stream_time - time.perf_counter()))
        clock, cpu = time.perf_counter(), time.process_time()
        words = live.push(chunk)
        PUSHES.append((words, live.settled_until))
        wall = time.perf_counter() - clock
        if wall > 0.05 and not paced:  # this push ran a pass
            PASS_COST.append((wall, time.process_time() - cpu))
        at = time.perf_counter() - started if paced else stream_time + wall
        committed += [(w, at, stream_time) for w in words]
    clock = time.perf_counter()
    words = live.finish()
    PUSHES.append((words, float("inf")))
    end = len(audio) / 16000
    committed += [(w, end + time.perf_counter() - clock, end) for w in words]
    return committed


def matched_pairs(reference, heard) -> list[tuple[int, int]]:
    from llavataros.speech.align import normalize_word

    matcher = difflib.SequenceMatcher(
        a=[normalize_word(w.word) for w in reference],
        b=[normalize_word(w.word) for w in heard],
        autojunk=False,
    )
    return [(b.a + k, b.b + k) for b in matcher.get_matching_blocks() for k in range(b.size)]


def triggers_of(words) -> list[dict]:
    from llavataros.gestures import TRIGGER_TO_CLASS
    from llavataros.speech.align import normalize_word

    return [
        {"gesture": TRIGGER_TO_CLASS[normalize_word(w.word)], "start": w.start, "end": w.end}
        for w in words
        if normalize_word(w.word) in TRIGGER_TO_CLASS
    ]


def semantic_recall(positions: np.ndarray, fps: float, triggers: list[dict]) -> float:
    from llavataros.gestures import detect_gestures, match_gestures

    return match_gestures(detect_gestures(positions, fps), triggers).overall.recall


def stream_motion(
    animator, audio: np.ndarray, committed, hold: float | None, clock: int = 1
) -> np.ndarray:
    """Stream frames ``(T, 9, 7)``; ``hold=None``: no words at all. ``clock``: which commit
    time of ``committed`` counts (1: with compute, 2: stream time)."""
    from llavataros.pipeline.stream import AnimationStream

    stream = AnimationStream(animator, transcript=None)
    known_at = [] if hold is None else [(c[0], c[clock]) for c in committed]
    pending = sorted(known_at, key=lambda c: c[1])
    frames, given = [], 0
    for first in range(0, len(audio), CHUNK):
        chunk = audio[first : first + CHUNK]
        now = (first + len(chunk)) / 16000
        known = given
        while known < len(pending) and pending[known][1] <= now + hold:
            known += 1
        frames.append(stream.push(chunk, [w for w, _ in pending[given:known]]))
        given = known
    frames.append(stream.finish())
    return np.concatenate(frames)


class ReplayedWords:
    """The recorded live-words run, push by push, in a server session (stream time)."""

    def __init__(self):
        self.index = 0

    def push(self, samples: np.ndarray) -> list:
        self.index += 1
        return PUSHES[self.index - 1][0]

    def finish(self) -> list:
        self.index = len(PUSHES)
        return PUSHES[-1][0]

    @property
    def settled_until(self) -> float:
        return PUSHES[self.index - 1][1] if self.index else 0.0


def session_motion(animator, audio: np.ndarray, hold: float) -> tuple[np.ndarray, list[float]]:
    """Frames of a server session fed the recorded live words with ``words_hold_s=hold``
    (words gate the audio until settled, at most ``hold``), and the audio held per push."""
    from llavataros.serve.protocol import Start
    from llavataros.serve.session import Session

    session = Session(animator, Start(words_hold_s=hold), live_words=ReplayedWords())
    frames, held = [], []
    for first in range(0, len(audio), CHUNK):
        frames.append(session.push(audio[first : first + CHUNK]).body)
        held.append((session.received - session.samples_in) / 16000)
    frames.append(session.finish().body)
    return np.concatenate(frames), held


def hold_name(hold: float) -> str:
    return "all words at once" if hold == float("inf") else f"{hold:g}"


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    common.add_common_arguments(parser)
    parser.add_argument("--seconds", type=float, default=60.0, help="speech length")
    parser.add_argument("--paced", action="store_true", help="real time, background passes")
    args = parser.parse_args(argv)
    common.set_threads(args.threads)

    import torch

    from llavataros.motion.take import Motion
    from llavataros.pipeline.animate import Animator
    from llavataros.serve.live_words import shared_transcriber
    from llavataros.speech.words import Transcript

    common.print_machine(common.machine())
    clip = common.speech_clip(args.seconds, "piper")
    print(f"speech: {clip.seconds:g} s of Piper speech, {len(clip.transcript.words)} words")
    clock = time.perf_counter()
    offline = shared_transcriber().transcribe(clip.audio).words
    offline_seconds = time.perf_counter() - clock
    committed = live_words(clip.audio, args.paced)
    heard = [item[0] for item in committed]
    pairs = matched_pairs(offline, heard)
    delays = [committed[j][1] - offline[i].end for i, j in pairs]
    stream_delays = [committed[j][2] - offline[i].end for i, j in pairs]
    end_errors = [abs(heard[j].end - offline[i].end) for i, j in pairs]
    figures = {
        "seconds": clip.seconds,
        "offline_whisper_seconds": offline_seconds,
        "offline_words": len(offline),
        "live_words": len(heard),
        "word_recall": len(pairs) / max(1, len(offline)),
        "word_delay_p50_s": common.percentile(delays, 50),
        "word_delay_p95_s": common.percentile(delays, 95),
        "word_delay_max_s": max(delays),
        "word_delay_stream_time_p50_s": common.percentile(stream_delays, 50),
        "word_delay_stream_time_p95_s": common.percentile(stream_delays, 95),
        "word_end_error_p95_s": common.percentile(end_errors, 95),
        "passes": len(PASS_COST),
        "pass_wall_p50_s": common.percentile([w for w, _ in PASS_COST], 50) if PASS_COST else None,
        "pass_cpu_p50_s": common.percentile([c for _, c in PASS_COST], 50) if PASS_COST else None,
        "mode": "paced, background passes" if args.paced else "passes in push (+ their compute)",
    }
    print(
        f"offline Whisper: {len(offline)} words in {offline_seconds:.1f} s; live "
        f"({figures['mode']}): {len(heard)} words, recall {figures['word_recall']:.3f}, word "
        f"end error p95 {figures['word_end_error_p95_s']:.3f} s"
    )
    if PASS_COST:
        print(
            f"Whisper passes: {len(PASS_COST)}, each p50 {figures['pass_wall_p50_s']:.2f} s wall, "
            f"{figures['pass_cpu_p50_s']:.2f} s CPU (a pass per step_s of audio per stream)"
        )
    print(
        f"word delay (commit time - word end): p50 {figures['word_delay_p50_s']:.2f} s, p95 "
        f"{figures['word_delay_p95_s']:.2f} s, max {figures['word_delay_max_s']:.2f} s; in "
        f"stream time (no compute) p50 {figures['word_delay_stream_time_p50_s']:.2f} s, p95 "
        f"{figures['word_delay_stream_time_p95_s']:.2f} s"
    )

    animator = Animator.load(common.model_path(args.model), threads=torch.get_num_threads())
    triggers = triggers_of(offline)
    fps = animator.default_fps
    result = animator.animate(clip.audio, Transcript("", tuple(offline), "whisper"))
    offline_recall = semantic_recall(result.motion.positions, fps, triggers)
    rows = [("offline animate (all words)", "-", offline_recall)]
    skeleton = animator.skeleton

    def recall_of(frames: np.ndarray) -> float:
        return semantic_recall(Motion.from_array(frames, fps, skeleton).positions, fps, triggers)

    rows.append(("stream, no words", "-", recall_of(stream_motion(animator, clip.audio, [], None))))
    by_hold: dict[str, dict[str, float]] = {"with compute": {}, "stream time": {}}
    for kind, clock in (("with compute", 1), ("stream time", 2)):
        for hold in HOLDS:
            if kind == "stream time" and hold > 4.0 and hold != float("inf"):
                continue
            frames = stream_motion(animator, clip.audio, committed, hold, clock)
            by_hold[kind][hold_name(hold)] = recall = recall_of(frames)
            rows.append((f"stream, live words ({kind})", hold_name(hold), recall))
    by_hold["server session (settled words, stream time)"] = {}
    held_by_hold = {}
    for hold in SESSION_HOLDS:
        frames, held = session_motion(animator, clip.audio, hold)
        recall = recall_of(frames)
        by_hold["server session (settled words, stream time)"][hold_name(hold)] = recall
        held_by_hold[hold_name(hold)] = {
            "mean_s": float(np.mean(held)),
            "p95_s": common.percentile(held, 95),
        }
        rows.append(
            (
                f"server session, words_hold_s (held mean {np.mean(held):.2f} s)",
                hold_name(hold),
                recall,
            )
        )
    common.print_table(
        [(name, hold, f"{recall:.3f}") for name, hold, recall in rows],
        ["motion", "hold (s)", f"semantic recall ({len(triggers)} triggers)"],
    )
    figures.update(
        triggers=len(triggers),
        semantic_recall_offline=offline_recall,
        semantic_recall_no_words=rows[1][2],
        semantic_recall_by_hold=by_hold,
        session_audio_held=held_by_hold,
    )
    slack = 1.0 / max(1, len(triggers)) + 1e-9  # one trigger: runs differ by that much
    for kind, recalls in by_hold.items():
        enough = [h for h, r in recalls.items() if r >= offline_recall - slack]
        figures[f"smallest_hold_{kind.replace(' ', '_')}"] = enough[0] if enough else None
        print(
            f"{kind}: smallest hold with recall within one trigger of offline animate: "
            f"{enough[0] if enough else 'none'}"
        )
    common.save_json(figures, args.json)
    return figures


if __name__ == "__main__":
    main()
