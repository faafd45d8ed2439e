"""Sentences of the synthetic co-speech corpus, with known semantic trigger words (SPEC section 4).

A script is a list of sentences made from clause templates (``vocabulary.py``). Some clauses are
trigger frames: they hold one training trigger word of a gesture class (``classes.py``) in a
given grammatical role (subject, object, determiner, adjective, verb, particle, ...), at the
start, middle or end of the sentence. The rest is filler that contains no trigger word and no
held-out synonym.

Guarantees of :func:`generate_script` (checked in ``tests/test_corpus_text.py``):

- classes are chosen least-used first, so every class gets the same count within one;
  inside a class the least-used trigger word goes next;
- gesture-carrying triggers are at least ``min_gap`` words apart (word index difference), also
  across sentence boundaries; a sentence that would break this is drawn again;
- every word that is a trigger word (case-insensitive) is listed in ``Script.triggers``;
- the same generator state gives the same script.

The time spacing of at least 1 s is checked after synthesis (``speech.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from llavataros.corpus.vocabulary import CONTEXT_SETS, TRIGGER_MARK, ContextSet, plural
from llavataros.gestures.classes import (
    CLASS_NAMES,
    GESTURE_CLASSES,
    HELD_OUT_SYNONYMS,
    TRIGGER_TO_CLASS,
)
from llavataros.speech.words import PUNCTUATION, split_words

MIN_TRIGGER_GAP = 4  # words between two gesture-carrying triggers (index difference)
DEFAULT_TRIGGER_RATE = 0.1  # gesture-carrying triggers per spoken word
MAX_TRIGGER_RATE = 0.14  # at most one trigger per clause (~7 words) and the word gap
MAX_SENTENCE_TRIES = 40
HELD_OUT_WORDS = frozenset(word for words in HELD_OUT_SYNONYMS.values() for word in words)
_SLOT = re.compile(r"\{(\w+)\}")
_MARK = "\x00"  # stands for the trigger word while a template is filled
_CONSONANT_SOUND = ("use", "uni", "eu", "one")  # vowel letter, consonant sound: "a useful"


@dataclass(frozen=True)
class Trigger:
    """A word that carries a semantic gesture."""

    word_index: int  # index into the sentence or script words
    word: str  # as written (e.g. "My" at a sentence start)
    gesture: str  # class name, e.g. "THINK"


@dataclass(frozen=True)
class Sentence:
    """One sentence: its text, its words (punctuation stripped) and its triggers (local index)."""

    text: str
    words: tuple[str, ...]
    triggers: tuple[Trigger, ...] = ()


@dataclass(frozen=True)
class Script:
    """The text of one take: sentences, every spoken word in order, and the trigger words."""

    sentences: tuple[str, ...]
    words: tuple[str, ...]
    triggers: tuple[Trigger, ...]
    context: str = "training"  # the vocabulary set: "training" or "novel"

    def sentence_spans(self) -> tuple[tuple[int, int], ...]:
        """``(first, stop)`` word indices of each sentence in ``words``."""
        spans, first = [], 0
        for sentence in self.sentences:
            stop = first + len(split_words(sentence))
            spans.append((first, stop))
            first = stop
        return tuple(spans)


def is_trigger_word(word: str) -> bool:
    return word.strip(PUNCTUATION).lower() in TRIGGER_TO_CLASS


def is_forbidden_filler(word: str) -> bool:
    """True for words filler may not use: trigger words and held-out synonyms."""
    word = word.strip(PUNCTUATION).lower()
    return word in TRIGGER_TO_CLASS or word in HELD_OUT_WORDS


def generate_script(
    rng: np.random.Generator,
    target_words: int,
    trigger_rate: float = DEFAULT_TRIGGER_RATE,
    novel_contexts: bool = False,
    min_gap: int = MIN_TRIGGER_GAP,
) -> Script:
    """Sentences with at least ``target_words`` words in total (the last sentence is finished).

    ``trigger_rate`` is the share of words that carry a gesture (about 0.1: one trigger every
    ten words, every ~3.5 s of speech); ``novel_contexts`` draws from the vocabulary and templates
    the training corpus never uses.
    """
    writer = ScriptWriter(rng, trigger_rate, novel_contexts, min_gap)
    while writer.word_count < target_words:
        writer.accept(writer.propose())
    return writer.script()


@dataclass
class ScriptWriter:
    """Writes a script sentence by sentence; a proposed sentence counts once accepted.

    :func:`generate_script` accepts every proposal; ``speech.generate_take`` proposes again when
    the synthesised sentence puts two triggers closer than 1 s.
    """

    rng: np.random.Generator
    trigger_rate: float = DEFAULT_TRIGGER_RATE
    novel_contexts: bool = False
    min_gap: int = MIN_TRIGGER_GAP
    sentences: list[Sentence] = field(default_factory=list)
    word_count: int = 0
    last_trigger: int | None = None  # script word index of the last accepted trigger
    class_counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CLASS_NAMES, 0))
    word_counts: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 0.0 <= self.trigger_rate <= MAX_TRIGGER_RATE:
            raise ValueError(f"trigger_rate {self.trigger_rate} must be in [0, {MAX_TRIGGER_RATE}]")
        self.context = CONTEXT_SETS["novel" if self.novel_contexts else "training"]

    def propose(self, allow_triggers: bool = True) -> Sentence:
        """A new sentence whose triggers keep ``min_gap`` words to each other and the last one."""
        for _ in range(MAX_SENTENCE_TRIES if allow_triggers else 0):
            sentence = self._draw_sentence(allow_triggers=True)
            if self._spacing_ok(sentence):
                return sentence
        return self._draw_sentence(allow_triggers=False)

    def accept(self, sentence: Sentence) -> None:
        for trigger in sentence.triggers:
            self.class_counts[trigger.gesture] += 1
            key = trigger.word.lower()
            self.word_counts[key] = self.word_counts.get(key, 0) + 1
            self.last_trigger = self.word_count + trigger.word_index
        self.sentences.append(sentence)
        self.word_count += len(sentence.words)

    def script(self) -> Script:
        return assemble_script(self.sentences, self.context.name)

    def _spacing_ok(self, sentence: Sentence) -> bool:
        previous = self.last_trigger
        for trigger in sentence.triggers:
            index = self.word_count + trigger.word_index
            if previous is not None and index - previous < self.min_gap:
                return False
            previous = index
        return True

    def _draw_sentence(self, allow_triggers: bool) -> Sentence:
        context, rng = self.context, self.rng
        clause_count = 1 if rng.random() < 0.55 else 2
        tokens: list[tuple[str, bool]] = []
        pending = 0  # triggers placed in this sentence, for the rate estimate
        for clause in range(clause_count):
            if clause:
                connector = context.connectors[rng.integers(len(context.connectors))]
                _append_text(tokens, connector)
            expected = self.trigger_rate * (self.word_count + len(tokens) + 7)
            deficit = expected - (sum(self.class_counts.values()) + pending)
            if allow_triggers and deficit > rng.random():
                word = self._next_trigger_word(pending_words=[t for t, flag in tokens if flag])
                frames = context.frames[word]
                template = frames[rng.integers(len(frames))]
                tokens += _fill(template, context, rng, word)
                pending += 1
            else:
                template = context.fillers[rng.integers(len(context.fillers))]
                tokens += _fill(template, context, rng, None)
        return _finish(tokens)

    def _next_trigger_word(self, pending_words: list[str]) -> str:
        """Least-used class, then least-used word in it (ties broken by the generator)."""
        counts = dict(self.class_counts)
        for word in pending_words:
            counts[TRIGGER_TO_CLASS[word.strip(PUNCTUATION).lower()]] += 1
        lowest = min(counts.values())
        classes = [name for name in CLASS_NAMES if counts[name] == lowest]
        gesture = classes[self.rng.integers(len(classes))]
        words = [w if w != "i" else "I" for w in GESTURE_CLASSES[gesture]]
        uses = [self.word_counts.get(w.lower(), 0) for w in words]
        fewest = [w for w, n in zip(words, uses, strict=True) if n == min(uses)]
        return fewest[self.rng.integers(len(fewest))]


def assemble_script(sentences: list[Sentence], context: str = "training") -> Script:
    """Join sentences into a :class:`Script` with script-level trigger word indices."""
    words: list[str] = []
    triggers: list[Trigger] = []
    for sentence in sentences:
        triggers += [
            Trigger(len(words) + t.word_index, t.word, t.gesture) for t in sentence.triggers
        ]
        words += sentence.words
    return Script(tuple(s.text for s in sentences), tuple(words), tuple(triggers), context)


def _append_text(tokens: list[tuple[str, bool]], text: str) -> None:
    """Add literal text; a leading comma attaches to the previous token."""
    if text.startswith(","):
        last, flag = tokens[-1]
        tokens[-1] = (last + ",", flag)
        text = text[1:]
    tokens += [(token, False) for token in text.split()]


def _fill(
    template: str, context: ContextSet, rng: np.random.Generator, trigger: str | None
) -> list[tuple[str, bool]]:
    """Fill the slots of a clause template; returns ``(token, is_trigger)`` pairs."""
    used: set[str] = set()

    def draw(match: re.Match) -> str:
        for _ in range(8):  # avoid "Anna and Anna"
            text = _slot_text(match.group(1), context, rng)
            if text not in used:
                break
        used.add(text)
        return text

    text = _SLOT.sub(draw, template.replace(TRIGGER_MARK, _MARK))
    tokens = []
    for token in text.split():
        if _MARK in token:
            tokens.append((token.replace(_MARK, trigger), True))
        else:
            tokens.append((token, False))
    return tokens


def _slot_text(slot: str, context: ContextSet, rng: np.random.Generator) -> str:
    def pick(items):
        return items[rng.integers(len(items))]

    if slot == "subject":
        return pick(context.names) if rng.random() < 0.5 else "the " + pick(context.persons)
    simple = {
        "name": context.names,
        "person": context.persons,
        "thing": context.things,
        "spatial": context.spatial,
        "place": context.places,
        "time": context.times,
        "adjective": context.adjectives,
        "adverb": context.adverbs,
    }
    if slot in simple:
        return pick(simple[slot])
    if slot == "things":
        return plural(pick(context.things))
    verbs = {"verb": context.transitive, "social": context.social, "act": context.intransitive}
    base = slot.removesuffix("_base")
    if base in verbs:
        present, past = pick(verbs[base])
        return present if slot.endswith("_base") else past
    raise KeyError(f"unknown template slot {{{slot}}}")


def _finish(tokens: list[tuple[str, bool]]) -> Sentence:
    """Articles, capital letter, full stop; find the trigger indices; check the filler."""
    texts = [text for text, _ in tokens]
    for i in range(len(texts) - 1):
        if texts[i].lower() in ("a", "an"):
            following = texts[i + 1].lower()
            vowel = following[0] in "aeiou" and not following.startswith(_CONSONANT_SOUND)
            article = "an" if vowel else "a"
            texts[i] = article.capitalize() if texts[i][0].isupper() else article
    texts[0] = texts[0][0].upper() + texts[0][1:]
    texts[-1] = texts[-1].rstrip(",") + "."
    words: list[str] = []
    triggers: list[Trigger] = []
    for text, (_, is_trigger) in zip(texts, tokens, strict=True):
        word = text.strip(PUNCTUATION)
        if is_trigger:
            triggers.append(Trigger(len(words), word, TRIGGER_TO_CLASS[word.lower()]))
        elif is_forbidden_filler(word):
            raise RuntimeError(f"vocabulary bug: filler word {word!r} is a trigger or synonym")
        words.append(word)
    return Sentence(" ".join(texts), tuple(words), tuple(triggers))
