"""Word lists and clause templates of the synthetic corpus text (SPEC section 4).

Two disjoint context sets share only function words (the, a, was, to, ...) and the trigger words
of :mod:`llavataros.gestures.classes`:

- ``TRAINING`` makes the training corpus;
- ``NOVEL`` (``generate_script(..., novel_contexts=True)``) makes sentences the training corpus
  never had: other names, nouns, verbs, adjectives, places, times, connectors and clause shapes,
  for the generalisation test.

Templates are clauses. ``{slot}`` is filled from a word list of the set (see ``SLOTS``); ``<T>``
marks the trigger word of a trigger frame. Filler words are chosen so that none is a trigger word
or a held-out synonym and, beyond that, none carries the meaning of a class: no pronouns of the
first or second person, no negation, no size, height or direction words, no food, dishes or eating,
no thinking verbs, no words of totality (every, whole, both, ...). ``tests/test_corpus_text.py``
checks the lists against ``classes.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

TRIGGER_MARK = "<T>"
# The only words the training and novel sets share (besides trigger words).
FUNCTION_WORDS = frozenset(
    "a an about after and at could in it last near of on some that the this to".split()
)


@dataclass(frozen=True)
class ContextSet:
    """The vocabulary and templates of one context set (training or novel).

    Verb lists hold ``(base, past)`` pairs so a template can ask for either form.
    """

    name: str
    names: tuple[str, ...]  # people's first names
    persons: tuple[str, ...]  # people nouns, used as "the {person}" or "my {person}"
    things: tuple[str, ...]  # countable objects with a regular plural
    spatial: tuple[str, ...]  # objects that can be wide, high or low
    places: tuple[str, ...]  # prepositional phrases: "in the garden"
    times: tuple[str, ...]  # time phrases: "on Monday"
    transitive: tuple[tuple[str, str], ...]  # verbs taking a thing: (paint, painted)
    social: tuple[tuple[str, str], ...]  # verbs taking a person: (call, called)
    intransitive: tuple[tuple[str, str], ...]  # verbs without object: (laugh, laughed)
    adjectives: tuple[str, ...]  # neutral qualities: colour, material, age, mood
    adverbs: tuple[str, ...]
    connectors: tuple[str, ...]  # join two clauses: ", and" / " because"
    fillers: tuple[str, ...]  # clause templates without a trigger
    frames: dict[str, tuple[str, ...]]  # trigger word -> clause templates with one <T>

    def words(self) -> set[str]:
        """Every filler word this set can produce (lower case), templates included."""
        pieces: list[str] = [
            *self.names,
            *self.persons,
            *self.things,
            *(plural(thing) for thing in self.things),
            *self.spatial,
            *self.places,
            *self.times,
            *(form for pair in self.transitive + self.social + self.intransitive for form in pair),
            *self.adjectives,
            *self.adverbs,
            *self.connectors,
            *self.fillers,
            *(frame for frames in self.frames.values() for frame in frames),
        ]
        found: set[str] = set()
        for piece in pieces:
            for token in piece.replace(TRIGGER_MARK, " ").split():
                if not token.startswith("{"):
                    found.add(token.strip(".,;:!?").lower())
        found.discard("")
        return found


def plural(noun: str) -> str:
    """Regular English plural (the lists hold only nouns with regular plurals)."""
    if noun.endswith(("s", "x", "ch", "sh")):
        return noun + "es"
    if noun.endswith("y") and noun[-2] not in "aeiou":
        return noun[:-1] + "ies"
    return noun + "s"


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


def _phrases(text: str) -> tuple[str, ...]:
    return tuple(phrase.strip() for phrase in text.split("|"))


def _pairs(text: str) -> tuple[tuple[str, str], ...]:
    return tuple(tuple(pair.split("/")) for pair in text.split())


# Slot name -> how it is filled (see text.py). Every slot a template uses must be listed here.
SLOTS = (
    "subject",  # a name or "the {person}"
    "name",
    "person",
    "thing",
    "things",
    "spatial",
    "place",
    "time",
    "verb",  # transitive, past
    "verb_base",
    "social",  # verb taking a person, past
    "social_base",
    "act",  # intransitive, past
    "act_base",
    "adjective",
    "adverb",
)

TRAINING = ContextSet(
    name="training",
    names=_words(
        "Anna Ben Clara David Emma Frank Grace Henry Julia Kevin Laura Martin Nina Oscar "
        "Paula Robert Sarah Thomas Vera Walter Alice Carlos Diana Edward Fiona George Helen "
        "Isaac Karen Lucas Maria Nathan Olivia Peter Rachel Simon Tina Victor Wendy Adam"
    ),
    persons=_words(
        "teacher driver doctor farmer painter neighbor pilot nurse student manager artist "
        "singer captain builder gardener writer dancer officer lawyer mechanic engineer "
        "director visitor coach"
    ),
    things=_words(
        "chair lamp book letter bicycle camera jacket ticket basket clock mirror blanket "
        "umbrella picture radio candle pencil notebook guitar key map bag box rope hammer "
        "bucket painting photo card envelope helmet hat sweater sofa desk carpet newspaper "
        "magazine backpack wallet ribbon brush phone computer printer engine wheel tent flag "
        "button shoe glove coin ring stamp poster toy jar coat belt"
    ),
    spatial=_words("wall fence shelf window gate bridge table bench road river door path"),
    adjectives=_words(
        "red blue green yellow black white old new clean quiet bright warm cold wooden shiny "
        "strange lovely famous busy lucky friendly noisy modern simple rare dark pretty "
        "useful expensive cheap broken dusty soft plastic funny careful"
    ),
    adverbs=_words("quickly slowly carefully quietly again early later happily suddenly loudly"),
    places=_phrases(
        "in the garden | at the station | in the office | at the library | near the river | "
        "in the park | at the museum | in the village | at the market | on the train | in the "
        "hallway | at the school | in the studio | near the harbor | at the hospital | in the "
        "city | at the airport | in the garage | on the bus | at the theater | in the forest "
        "| on the beach | at the hotel | in the classroom | near the bridge | at the factory "
        "| at the stadium | in the shop | at the gallery | in the yard"
    ),
    times=_phrases(
        "yesterday | today | this morning | last week | on Monday | on Tuesday | on Friday | "
        "last night | in the evening | this afternoon | last summer | in January | in March | "
        "on Sunday | last year | at noon | in the spring | at dawn | in May | after school"
    ),
    transitive=_pairs(
        "find/found paint/painted carry/carried move/moved clean/cleaned fix/fixed "
        "open/opened close/closed sell/sold buy/bought borrow/borrowed bring/brought see/saw "
        "watch/watched check/checked wash/washed wrap/wrapped pack/packed repair/repaired "
        "deliver/delivered show/showed hide/hid cover/covered count/counted keep/kept "
        "return/returned collect/collected share/shared change/changed hold/held build/built "
        "draw/drew send/sent want/wanted like/liked use/used take/took need/needed "
        "mention/mentioned describe/described"
    ),
    social=_pairs(
        "call/called meet/met help/helped visit/visited ask/asked thank/thanked "
        "follow/followed invite/invited teach/taught join/joined"
    ),
    intransitive=_pairs(
        "arrive/arrived laugh/laughed wait/waited smile/smiled sing/sang dance/danced "
        "leave/left travel/traveled work/worked rest/rested play/played walk/walked run/ran "
        "listen/listened stay/stayed talk/talked win/won start/started stop/stopped "
        "practice/practiced"
    ),
    connectors=(
        ", and",
        ", but",
        " because",
        " while",
        ", so",
        " when",
    ),
    fillers=(
        "{subject} {verb} the {adjective} {thing} {place}",
        "{time}, {subject} {act} {place}",
        "{subject} {verb} a {thing} {time}",
        "the {thing} was {adjective}",
        "{subject} wanted to {verb_base} the {thing}",
        "{subject} {act} {adverb} {place}",
        "{subject} and {name} {verb} the {thing}",
        "the {adjective} {thing} was {place}",
        "{subject} gave {name} a {adjective} {thing}",
        "{subject} said the {thing} was {adjective}",
        "{subject} {social} {name} {time}",
        "{time}, the {person} {verb} a {adjective} {thing}",
        "{subject} had to {act_base} {place}",
    ),
    frames={
        "I": (
            "<T> {verb} the {adjective} {thing} {place}",
            "{time}, <T> {act} {place}",
            "{subject} said that <T> {verb} the {thing}",
        ),
        "me": (
            "{subject} {verb} the {thing} with <T>",
            "{subject} gave <T> a {adjective} {thing}",
            "{time}, {subject} {social} <T> {place}",
            "{subject} {social} <T>",
        ),
        "my": (
            "<T> {person} {verb} the {thing}",
            "{subject} {verb} <T> {adjective} {thing} {place}",
            "{time}, <T> {thing} was {adjective}",
        ),
        "myself": (
            "{subject} {verb} a picture of <T>",
            "{subject} told {name} about <T>",
        ),
        "you": (
            "<T> {verb} the {thing} {place}",
            "{subject} {social} <T> {time}",
            "{subject} said that <T> {act} {adverb}",
            "{subject} {verb} the {thing} for <T>",
        ),
        "your": (
            "{subject} {verb} <T> {thing} {place}",
            "<T> {person} {act} {time}",
            "{time}, <T> {adjective} {thing} was {place}",
        ),
        "big": (
            "{subject} {verb} a <T> {thing} {place}",
            "the <T> {thing} was {adjective}",
            "{time}, {subject} {verb} the {thing} and a <T> {thing}",
        ),
        "huge": (
            "{subject} {verb} a <T> {thing} {time}",
            "the {thing} {place} was <T>",
            "{subject} {act} next to a <T> {spatial}",
        ),
        "large": (
            "{subject} {verb} a <T> {thing} {place}",
            "the <T> {thing} was {adjective}",
            "{subject} needed a <T> {spatial}",
            "the {thing} {place} was <T>",
        ),
        "wide": (
            "{subject} {act} along the <T> {spatial}",
            "the {spatial} {place} was <T>",
            "{subject} painted a <T> {spatial}",
        ),
        "small": (
            "{subject} {verb} a <T> {thing} {place}",
            "the {thing} was <T>",
            "{time}, {subject} {verb} a <T> {adjective} {thing}",
        ),
        "tiny": (
            "{subject} {verb} a <T> {thing} {time}",
            "the <T> {thing} was {adjective}",
            "{subject} {act} in a <T> room",
            "the {thing} was <T>",
        ),
        "little": (
            "{subject} {verb} a <T> {thing} {place}",
            "the <T> {thing} was {place}",
            "{subject} gave {name} a <T> {thing}",
        ),
        "up": (
            "{subject} looked <T> at the {spatial}",
            "{time}, {subject} stood <T>",
            "{subject} set the {thing} <T> {place}",
            "{subject} woke <T> {adverb}",
        ),
        "high": (
            "the {spatial} was <T>",
            "{subject} threw the {thing} <T>",
            "{subject} {act} next to a <T> {spatial}",
        ),
        "above": (
            "{subject} hung the {thing} <T> the {spatial}",
            "the {thing} was <T> the {spatial}",
        ),
        "rise": (
            "{subject} watched the sun <T>",
            "the river began to <T> {time}",
            "prices will <T> {time}",
        ),
        "down": (
            "{subject} sat <T> {place}",
            "{subject} walked <T> the street",
            "{subject} put the {thing} <T> {adverb}",
            "{subject} wrote it <T> {time}",
            "{time}, {subject} sat <T>",
        ),
        "low": (
            "the {spatial} was <T>",
            "{subject} spoke in a <T> voice",
            "{subject} {act} next to a <T> {spatial}",
        ),
        "below": (
            "{subject} found the {thing} <T> the {spatial}",
            "the {thing} was <T> the {spatial}",
        ),
        "fall": (
            "the {thing} began to <T>",
            "{subject} watched the {thing} <T>",
            "prices will <T> {time}",
        ),
        "no": (
            "<T>, {subject} {verb} the {thing}",
            "there was <T> {thing} {place}",
            "{subject} had <T> {thing} {time}",
        ),
        "not": (
            "{subject} did <T> {verb_base} the {thing}",
            "the {thing} was <T> {adjective}",
            "{subject} could <T> {act_base} {place}",
        ),
        "never": (
            "{subject} <T> {verb} the {thing}",
            "{subject} <T> {act} {place}",
        ),
        "nothing": (
            "{subject} {verb} <T> {place}",
            "<T> happened {time}",
            "<T> was {adjective} {place}",
            "{subject} {verb} <T>",
        ),
        "eat": (
            "{subject} wanted to <T> {place}",
            "{subject} and {name} will <T> {time}",
            "the {person} had to <T> {adverb}",
            "{subject} wanted to <T>",
        ),
        "food": (
            "{subject} brought the <T> {place}",
            "the <T> was {adjective}",
            "{subject} {verb} some <T> {time}",
            "{subject} {verb} the <T>",
        ),
        "fork": (
            "{subject} {verb} a <T> {place}",
            "the <T> was {adjective}",
            "{subject} gave {name} a <T>",
        ),
        "crab": (
            "{subject} saw a <T> {place}",
            "a <T> {act} {place}",
            "the <T> was {adjective}",
            "{time}, {subject} {verb} a <T>",
        ),
        "think": (
            "{subject} will <T> about the {thing}",
            "they <T> the {thing} is {adjective}",
            "{subject} had to <T> {adverb}",
            "{subject} stopped to <T>",
        ),
        "idea": (
            "{subject} had an <T> {time}",
            "the <T> was {adjective}",
            "{subject} liked the <T> {place}",
            "{subject} had an <T>",
        ),
        "remember": (
            "{subject} tried to <T> the {thing}",
            "{subject} will <T> the {adjective} {thing}",
            "they <T> the {thing} {place}",
        ),
        "all": (
            "<T> the {things} were {adjective}",
            "{subject} {verb} <T> the {things} {place}",
            "{subject} {act} <T> day",
            "{subject} {verb} it <T>",
        ),
        "everyone": (
            "<T> {act} {place}",
            "{subject} {social} <T> {time}",
            "{time}, <T> {act} {adverb}",
            "{subject} {social} <T>",
        ),
        "everything": (
            "{subject} {verb} <T> {place}",
            "<T> was {adjective} {time}",
            "{subject} {verb} <T>",
        ),
        "together": (
            "{subject} and {name} {act} <T>",
            "they {verb} the {thing} <T>",
            "{time}, {subject} and {name} {act} <T> {place}",
        ),
    },
)

NOVEL = ContextSet(
    name="novel",
    names=_words(
        "Bianca Cedric Daphne Elliot Felix Gloria Hugo Ingrid Jasper Kira Leon Mabel Nigel "
        "Rosa Stella Tobias Ursula Yusuf Agnes Boris"
    ),
    persons=_words(
        "plumber sailor tailor banker janitor librarian carpenter surgeon poet editor cashier "
        "jeweler architect professor pianist"
    ),
    things=_words(
        "violin lantern suitcase trumpet compass kite puzzle telescope cushion vase drum "
        "shovel anchor microscope keyboard trophy medal calendar feather pillow necklace "
        "wagon sculpture globe harp canoe scooter quilt crayon bracelet banner"
    ),
    spatial=_words("hedge cabinet archway counter canal corridor dresser railing"),
    adjectives=_words(
        "purple orange silver golden velvet rusty fragile elegant ancient shabby glossy "
        "striped curious gentle marble cozy"
    ),
    adverbs=_words("eagerly calmly proudly nervously briskly cheerfully"),
    places=_phrases(
        "at the lighthouse | near the lake | at the zoo | in the greenhouse | at the pharmacy "
        "| on the ferry | in the workshop | at the aquarium | near the castle | in the "
        "desert | at the cinema | on the island | at the embassy | in the laboratory | near "
        "the fountain | at the circus"
    ),
    times=_phrases(
        "on Wednesday | on Thursday | on Saturday | in October | in April | during winter | at "
        "midnight | at sunset | two days ago | tonight | in the autumn | recently"
    ),
    transitive=_pairs(
        "polish/polished decorate/decorated inspect/inspected rescue/rescued weigh/weighed "
        "fold/folded label/labeled sketch/sketched unlock/unlocked assemble/assembled "
        "adjust/adjusted examine/examined rent/rented trade/traded stitch/stitched "
        "test/tested scan/scanned sort/sorted sign/signed install/installed"
    ),
    social=_pairs(
        "greet/greeted interview/interviewed hug/hugged warn/warned guide/guided contact/contacted"
    ),
    intransitive=_pairs(
        "hurry/hurried wander/wandered giggle/giggled shout/shouted paddle/paddled "
        "knock/knocked cheer/cheered vanish/vanished sneeze/sneezed relax/relaxed "
        "argue/argued yawn/yawned hum/hummed cough/coughed whistle/whistled"
    ),
    connectors=(
        ", although",
        " after",
        " before",
        " since",
        ", whereas",
        " until",
    ),
    fillers=(
        "{subject} stored the {thing} beside the {spatial}",
        "it seemed that {subject} {act} {adverb}",
        "{subject} would rather {verb_base} a {adjective} {thing}",
        "according to {name}, the {thing} appeared {adjective}",
        "{time} {subject} finally {verb} the {thing}",
        "{subject} {social} {name} {place}",
        "apparently the {adjective} {thing} remained {place}",
    ),
    frames={
        "I": (
            "as usual, <T> {act} {adverb}",
            "{subject} insisted that <T> should {verb_base} the {thing}",
        ),
        "me": (
            "{subject} mailed <T> a {thing} {time}",
            "the {thing} belonged to <T>",
        ),
        "my": (
            "apparently <T> {adjective} {thing} remained {place}",
            "{subject} {verb} <T> {thing} {time}",
        ),
        "myself": (
            "{subject} compared the {thing} to <T>",
            "{subject} {verb} the {thing} beside <T>",
        ),
        "you": (
            "apparently <T> {act} {place}",
            "{subject} {social} <T> {adverb}",
            "{subject} finally {social} <T>",
        ),
        "your": (
            "according to {name}, <T> {thing} appeared {adjective}",
            "{subject} {verb} <T> {adjective} {thing}",
        ),
        "big": (
            "it seemed that the <T> {thing} appeared {adjective}",
            "the {thing} appeared <T>",
        ),
        "huge": ("{subject} would rather {verb_base} a <T> {thing}",),
        "large": ("apparently a <T> {thing} remained {place}",),
        "wide": ("{subject} {act} beside a <T> {spatial}",),
        "small": (
            "{subject} would rather {verb_base} a <T> {thing}",
            "the {thing} appeared <T>",
        ),
        "tiny": ("apparently a <T> {thing} remained {place}",),
        "little": ("it seemed that the <T> {thing} appeared {adjective}",),
        "up": (
            "{subject} jumped <T> {adverb}",
            "{subject} glanced <T> at the {spatial}",
            "{subject} jumped <T>",
        ),
        "high": ("the {thing} dangled <T> {place}",),
        "above": ("a {thing} floated <T> the {spatial}",),
        "rise": ("the water might <T> {time}",),
        "down": (
            "{subject} knelt <T> {adverb}",
            "{subject} glanced <T> at the {thing}",
            "{subject} knelt <T>",
        ),
        "low": ("the {thing} dangled <T> {place}",),
        "below": ("a {thing} lay <T> the {spatial}",),
        "fall": ("the {thing} might <T> {adverb}",),
        "no": (
            "<T>, it seemed that {subject} {act}",
            "{subject} discovered <T> {thing} {place}",
        ),
        "not": ("{subject} could <T> {verb_base} the {thing} {time}",),
        "never": ("{subject} would <T> {verb_base} a {adjective} {thing}",),
        "nothing": (
            "<T> seemed {adjective} {time}",
            "{subject} whispered <T> about the {thing}",
            "{subject} discovered <T>",
        ),
        "eat": ("{subject} decided to <T> {place}",),
        "food": (
            "{subject} offered some <T> to {name}",
            "{subject} offered {name} some <T>",
        ),
        "fork": ("{subject} {verb} the <T> {adverb}",),
        "crab": ("a <T> {act} beside the {spatial}",),
        "think": ("{subject} paused to <T> {adverb}",),
        "idea": (
            "{subject} explained the <T> to {name}",
            "{subject} disliked the <T>",
        ),
        "remember": ("{subject} struggled to <T> the {thing}",),
        "all": ("<T> of the {things} appeared {adjective}",),
        "everyone": (
            "<T> {act} {time}",
            "{subject} {social} <T> {adverb}",
        ),
        "everything": ("{subject} explained <T> to {name}",),
        "together": ("{subject} and {name} {act} <T> {adverb}",),
    },
)

CONTEXT_SETS = {"training": TRAINING, "novel": NOVEL}
