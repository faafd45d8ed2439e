"""Speech takes of the synthetic corpus: scripts spoken by Piper, joined with known pauses (SPEC
section 4). Every word and trigger time comes from the synthesiser (:mod:`llavataros.speech.tts`).

Output audio is 16 kHz mono float32, its peak normalised to 0.9.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from llavataros.corpus.script import DEFAULT_TRIGGER_RATE, Script, ScriptWriter, Trigger
from llavataros.speech.audio import SAMPLE_RATE
from llavataros.speech.tts import SpokenSentence, Synthesizer, Voice
from llavataros.speech.words import Transcript, Word

MIN_TRIGGER_SPACING = 1.0  # seconds between the starts of two gesture-carrying trigger words
MAX_SENTENCE_TRIES = 20  # generate_take: proposals per sentence before a trigger-free one


@dataclass(frozen=True)
class TimedTrigger(Trigger):
    """A trigger word with the start and end of the word in seconds."""

    start: float
    end: float


@dataclass(frozen=True)
class SpeechTake:
    """Speech of one script: audio, one timed word per script word, timed trigger words."""

    audio: np.ndarray  # (n,) float32 mono in [-1, 1]
    sample_rate: int  # 16000
    transcript: Transcript  # one Word per Script word, in order, times in seconds
    triggers: tuple[TimedTrigger, ...]  # gesture-carrying triggers, starts >= 1 s apart
    sentence_times: tuple[tuple[float, float], ...] = ()  # (start, end) s of each sentence audio
    dropped: tuple[TimedTrigger, ...] = ()  # script triggers < 1 s after the previous one
    phonemes: tuple[tuple[str, float, float], ...] = ()  # (IPA symbol, start s, end s)
    stress_times: tuple[float, ...] = ()  # starts of the phonemes under primary stress (s)

    @property
    def duration(self) -> float:
        return len(self.audio) / self.sample_rate


def speak_script(synthesizer: Synthesizer, script: Script, voice: Voice) -> SpeechTake:
    """Speak every sentence of ``script`` with ``voice``; see :class:`SpeechTake`.

    Trigger words that start less than ``MIN_TRIGGER_SPACING`` after the previous kept
    trigger go to ``SpeechTake.dropped`` (their word is still spoken). :func:`generate_take`
    never produces such scripts; use it to make corpus takes.
    """
    spoken = [
        synthesizer.speak_sentence(sentence, index, voice)
        for index, sentence in enumerate(script.sentences)
    ]
    return assemble_take(script, spoken, voice)


def generate_take(
    rng: np.random.Generator,
    synthesizer: Synthesizer,
    voice: Voice,
    target_words: int,
    trigger_rate: float = DEFAULT_TRIGGER_RATE,
    novel_contexts: bool = False,
) -> tuple[Script, SpeechTake]:
    """A script and its speech whose triggers all start >= ``MIN_TRIGGER_SPACING`` apart.

    Sentences are written and spoken one at a time; a sentence whose trigger would come too soon
    after the previous one (in seconds) is written again, up to ``MAX_SENTENCE_TRIES`` times, then
    replaced by a sentence without triggers. ``speak_script(synthesizer, script, voice)`` gives the
    same take again, and ``take.dropped`` is empty.
    """
    writer = ScriptWriter(rng, trigger_rate, novel_contexts)
    spoken: list[SpokenSentence] = []
    offset = voice.edge_pause  # start of the next sentence in the take, seconds
    last_start: float | None = None
    while writer.word_count < target_words:
        for attempt in range(MAX_SENTENCE_TRIES + 1):
            sentence = writer.propose(allow_triggers=attempt < MAX_SENTENCE_TRIES)
            piece = synthesizer.speak_sentence(sentence.text, len(spoken), voice)
            starts = [offset + piece.word_times[t.word_index][0] for t in sentence.triggers]
            gaps = np.diff([last_start if last_start is not None else -np.inf, *starts])
            if np.all(gaps >= MIN_TRIGGER_SPACING):
                break
        writer.accept(sentence)
        spoken.append(piece)
        last_start = starts[-1] if starts else last_start
        offset += len(piece.audio) / SAMPLE_RATE + voice.sentence_pause
    script = writer.script()
    return script, assemble_take(script, spoken, voice)


def assemble_take(script: Script, spoken: list[SpokenSentence], voice: Voice) -> SpeechTake:
    """Join spoken sentences with pauses, normalise the peak to 0.9, time words and triggers."""
    edge = np.zeros(round(voice.edge_pause * SAMPLE_RATE), np.float32)
    pause = np.zeros(round(voice.sentence_pause * SAMPLE_RATE), np.float32)
    parts, words, sentence_times, phonemes, stresses = [edge], [], [], [], []
    cursor = len(edge)  # samples
    script_words = iter(script.words)
    for index, piece in enumerate(spoken):
        if index:
            parts.append(pause)
            cursor += len(pause)
        start = cursor / SAMPLE_RATE
        for begin, end in piece.word_times:
            words.append(Word(next(script_words), start + begin, start + end))
        stresses += [start + piece.phonemes[k][1] for k in piece.stressed]
        phonemes += [(symbol, start + begin, start + end) for symbol, begin, end in piece.phonemes]
        parts.append(piece.audio)
        cursor += len(piece.audio)
        sentence_times.append((start, cursor / SAMPLE_RATE))
    parts.append(edge)
    if len(words) != len(script.words):
        raise ValueError(f"{len(words)} timed words for a script of {len(script.words)}")
    audio = np.concatenate(parts)
    peak = float(np.max(np.abs(audio))) if len(audio) else 0.0
    if peak > 0:
        audio = (audio * np.float32(0.9 / peak)).astype(np.float32)
    kept, dropped = [], []
    for trigger in script.triggers:
        word = words[trigger.word_index]
        timed = TimedTrigger(
            trigger.word_index, trigger.word, trigger.gesture, word.start, word.end
        )
        if kept and timed.start - kept[-1].start < MIN_TRIGGER_SPACING:
            dropped.append(timed)
        else:
            kept.append(timed)
    transcript = Transcript(" ".join(script.sentences), tuple(words), source="piper")
    return SpeechTake(
        audio,
        SAMPLE_RATE,
        transcript,
        tuple(kept),
        tuple(sentence_times),
        tuple(dropped),
        tuple(phonemes),
        tuple(stresses),
    )
