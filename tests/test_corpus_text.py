"""Synthetic corpus text: trigger words, filler, balance and determinism (SPEC section 4)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from llavataros.corpus.script import (
    MIN_TRIGGER_GAP,
    generate_script,
    is_forbidden_filler,
    is_trigger_word,
)
from llavataros.corpus.vocabulary import (
    FUNCTION_WORDS,
    NOVEL,
    SLOTS,
    TRAINING,
    TRIGGER_MARK,
    plural,
)
from llavataros.gestures.classes import CLASS_NAMES, GESTURE_CLASSES, TRIGGER_TO_CLASS
from llavataros.speech.words import split_words

CONTEXTS = pytest.mark.parametrize("novel", [False, True], ids=["training", "novel"])


@pytest.fixture(scope="module")
def scripts() -> dict[bool, list]:
    """Many scripts of both context sets (about 24,000 words each)."""
    return {
        novel: [
            generate_script(np.random.default_rng(seed), 400, novel_contexts=novel)
            for seed in range(60)
        ]
        for novel in (False, True)
    }


@CONTEXTS
def test_filler_holds_no_trigger_word_or_held_out_synonym(scripts, novel):
    for script in scripts[novel]:
        trigger_indices = {t.word_index for t in script.triggers}
        for index, word in enumerate(script.words):
            if index not in trigger_indices:
                assert not is_forbidden_filler(word), (word, script.sentences)
        # every trigger word in the text is listed as a trigger
        assert trigger_indices == {i for i, w in enumerate(script.words) if is_trigger_word(w)}


@pytest.mark.parametrize("context", [TRAINING, NOVEL], ids=["training", "novel"])
def test_vocabulary_lists_have_no_trigger_word_or_synonym(context):
    bad = sorted(word for word in context.words() if is_forbidden_filler(word))
    assert bad == []
    assert all(not is_forbidden_filler(plural(thing)) for thing in context.things)


@pytest.mark.parametrize("context", [TRAINING, NOVEL], ids=["training", "novel"])
def test_every_trigger_word_has_frames_with_one_mark_and_known_slots(context):
    spelled = {word.lower() for word in context.frames}
    assert spelled == set(TRIGGER_TO_CLASS)
    for frames in context.frames.values():
        assert frames
        for frame in frames:
            assert frame.count(TRIGGER_MARK) == 1, frame
    for template in [*context.fillers, *(f for fs in context.frames.values() for f in fs)]:
        slots = {part.split("}")[0] for part in template.split("{")[1:]}
        assert slots <= set(SLOTS), template
    assert all(TRIGGER_MARK not in filler for filler in context.fillers)


def test_novel_contexts_share_only_function_words_with_training():
    assert (TRAINING.words() & NOVEL.words()) <= FUNCTION_WORDS
    assert not set(TRAINING.fillers) & set(NOVEL.fillers)
    for word, frames in TRAINING.frames.items():
        assert not set(frames) & set(NOVEL.frames[word]), word


def test_novel_scripts_use_no_training_content_word(scripts):
    training_words = TRAINING.words() - FUNCTION_WORDS
    for script in scripts[True]:
        trigger_indices = {t.word_index for t in script.triggers}
        for index, word in enumerate(script.words):
            if index not in trigger_indices and word.lower() not in ("a", "an"):
                assert word.lower() not in training_words, (word, script.sentences)


@CONTEXTS
def test_all_classes_and_words_appear_about_equally(scripts, novel):
    script = generate_script(np.random.default_rng(5), 5000, novel_contexts=novel)
    counts = Counter(t.gesture for t in script.triggers)
    assert set(counts) == set(CLASS_NAMES)
    assert max(counts.values()) - min(counts.values()) <= 1
    words = Counter(t.word.lower() for t in script.triggers)
    assert set(words) == set(TRIGGER_TO_CLASS)
    for name, class_words in GESTURE_CLASSES.items():
        uses = [words[w] for w in class_words]
        assert max(uses) - min(uses) <= 1, (name, uses)
    # over many short scripts the classes stay balanced too
    totals = Counter(t.gesture for s in scripts[novel] for t in s.triggers)
    assert max(totals.values()) / min(totals.values()) < 1.1


@CONTEXTS
def test_trigger_index_points_at_the_trigger_word(scripts, novel):
    for script in scripts[novel]:
        for trigger in script.triggers:
            assert script.words[trigger.word_index] == trigger.word
            assert TRIGGER_TO_CLASS[trigger.word.lower()] == trigger.gesture


@CONTEXTS
def test_triggers_keep_the_minimum_word_gap(scripts, novel):
    for script in scripts[novel]:
        indices = [t.word_index for t in script.triggers]
        assert indices == sorted(indices)
        assert np.all(np.diff(indices) >= MIN_TRIGGER_GAP)


@CONTEXTS
def test_triggers_sit_at_start_middle_and_end_of_sentences(scripts, novel):
    positions = Counter()
    for script in scripts[novel]:
        spans = script.sentence_spans()
        for trigger in script.triggers:
            first, stop = next(s for s in spans if s[0] <= trigger.word_index < s[1])
            if trigger.word_index == first:
                positions["start"] += 1
            elif trigger.word_index == stop - 1:
                positions["end"] += 1
            else:
                positions["middle"] += 1
    total = sum(positions.values())
    assert all(positions[where] > 0.03 * total for where in ("start", "middle", "end"))


def test_words_are_the_sentences_split_and_capitalised():
    script = generate_script(np.random.default_rng(1), 300)
    assert script.words == tuple(w for s in script.sentences for w in split_words(s))
    spans = script.sentence_spans()
    assert spans[0][0] == 0 and spans[-1][1] == len(script.words)
    for sentence in script.sentences:
        assert sentence[0].isupper() and sentence.endswith(".")
        words = split_words(sentence)
        for article, following in zip(words, words[1:], strict=False):
            if article.lower() == "a":
                assert following[0].lower() not in "aeio", sentence
            if article.lower() == "an":
                assert following[0].lower() in "aeiou", sentence


def test_same_seed_gives_the_same_script_and_another_seed_another():
    first = generate_script(np.random.default_rng(11), 200)
    assert first == generate_script(np.random.default_rng(11), 200)
    assert first.sentences != generate_script(np.random.default_rng(12), 200).sentences


@pytest.mark.parametrize("rate", [0.0, 0.05, 0.1, 0.14])
def test_trigger_rate_and_length_are_met(rate):
    script = generate_script(np.random.default_rng(2), 3000, trigger_rate=rate)
    assert 3000 <= len(script.words) < 3000 + 40
    assert len(script.triggers) / len(script.words) == pytest.approx(rate, abs=0.01)


def test_rate_above_what_the_gap_allows_is_refused():
    with pytest.raises(ValueError, match="trigger_rate"):
        generate_script(np.random.default_rng(0), 100, trigger_rate=0.5)


def test_split_words_strips_punctuation():
    assert split_words("No, Anna saw my lamp.") == ("No", "Anna", "saw", "my", "lamp")
