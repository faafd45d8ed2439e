"""Semantic gesture classes of the synthetic corpus and their trigger words (SPEC section 4)."""

from __future__ import annotations

GESTURE_CLASSES: dict[str, tuple[str, ...]] = {
    "SELF": ("i", "me", "my", "myself"),
    "YOU": ("you", "your"),
    "BIG": ("big", "huge", "large", "wide"),
    "SMALL": ("small", "tiny", "little"),
    "UP": ("up", "high", "above", "rise"),
    "DOWN": ("down", "low", "below", "fall"),
    "NO": ("no", "not", "never", "nothing"),
    "EAT": ("eat", "food", "fork", "crab"),
    "THINK": ("think", "idea", "remember"),
    "ALL": ("all", "everyone", "everything", "together"),
}
CLASS_NAMES: tuple[str, ...] = tuple(GESTURE_CLASSES)
TRIGGER_TO_CLASS: dict[str, str] = {
    word: name for name, words in GESTURE_CLASSES.items() for word in words
}

# Words that mean the same as a class but are not its trigger words. Filler text must never use
# them; they are kept for measuring generalisation to unseen synonyms separately.
HELD_OUT_SYNONYMS: dict[str, tuple[str, ...]] = {
    "SELF": ("mine", "myself's", "we", "us", "our", "ourselves"),
    "YOU": ("yours", "yourself", "yourselves", "ya"),
    "BIG": ("enormous", "giant", "massive", "vast", "immense", "broad", "great", "gigantic"),
    "SMALL": ("minor", "mini", "miniature", "petite", "wee", "slight", "compact"),
    "UP": ("upward", "upwards", "raise", "lift", "higher", "top", "over", "ascend", "climb"),
    "DOWN": ("downward", "downwards", "drop", "lower", "beneath", "under", "descend", "sink"),
    "NO": ("none", "nope", "neither", "nor", "nobody", "nowhere", "cannot"),
    "EAT": (
        "meal",
        "dinner",
        "lunch",
        "breakfast",
        "snack",
        "bite",
        "chew",
        "eating",
        "ate",
        "spoon",
        "knife",
        "lobster",
        "fish",
    ),
    "THINK": (
        "thought",
        "thinking",
        "ponder",
        "wonder",
        "recall",
        "consider",
        "believe",
        "imagine",
        "concept",
        "notion",
    ),
    "ALL": ("every", "everybody", "whole", "entire", "entirely", "both", "each", "totally"),
}
