"""Forced alignment of a known transcript to speech with pocketsphinx (SPEC section 3).

The paper (LLAniMAtion, arXiv 2405.08042, section 3.1) feeds one text embedding per word,
placed at the word's time span; this module gives those spans. pocketsphinx's bundled US-English
acoustic model and CMU dictionary are loaded once per :class:`Aligner`. Every transcript word gets
a time, in order: words missing from the dictionary ("90", "90%", "1990s", "well-known", "Zorbax's")
are spoken out (numbers to words) or given a letter-to-sound pronunciation that is added to the
dictionary, so the decoder really places them. Long recordings that fail to align whole are cut at
pauses and aligned chunk by chunk; a chunk that still fails gets its words spread over its speech.

The decoder's own scores say how well the text fits the audio (:class:`AlignmentFit`): each
aligned word's acoustic score is scaled by pocketsphinx against the best-scoring state of each
frame, so ``-ln(ascore) / frames`` is a per-frame cost that is near 0 where the text explains the
audio as well as anything could. On the AvatarOS sample its correct text costs 0.0012 per frame
(duration-weighted mean over words: see ``FIT_*`` below for the measured ranges), an unrelated
English text of the same length 0.0046, and the reference words shuffled fail to align whole.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from llavataros.errors import InputError
from llavataros.speech.audio import SAMPLE_RATE
from llavataros.speech.words import Transcript, Word

FRAME_SECONDS = 0.01  # pocketsphinx frame hop
NON_WORDS = ("<s>", "</s>", "<sil>", "(NULL)")
COST_CAP = 0.05  # per-frame cost of a word the decoder scored as impossible (ascore 0)


@dataclass(frozen=True)
class AlignerConfig:
    """pocketsphinx settings; ``None`` paths mean the models bundled with the package.

    ``silence_probability`` is the decoder's ``silprob``: raising it from pocketsphinx's 0.005
    lets short pauses between words be silence instead of being swallowed by the next word
    (AvatarOS sample, share of onsets within 50 ms of the MFA reference: 83 % -> 86 %).
    ``onset_shift`` (s) is added to every start; +10 ms removes the -10 ms median bias against
    MFA but does not raise the share within 50 ms, so it stays 0. ``chunk_seconds`` is the
    target chunk length when a whole recording fails to align.
    """

    model_directory: str | None = None
    dictionary_path: str | None = None
    silence_probability: float = 0.9
    onset_shift: float = 0.0
    chunk_seconds: float = 20.0


@dataclass(frozen=True)
class AlignmentFit:
    """How well a text fits its audio, from the decoder's scores.

    ``aligned_share``: share of the words the decoder placed (the rest were spread over the
    speech because no alignment was found); ``frame_cost``: mean per-frame cost of the placed
    words weighted by their frames (nan if none); ``word_costs``: per transcript word, None where
    not placed or not pronounceable.
    """

    words: int
    aligned_share: float
    frame_cost: float
    word_costs: tuple[float | None, ...] = ()


@dataclass(frozen=True)
class Token:
    """One transcript word as shown (``word``) and the dictionary words spoken for it."""

    word: str
    spoken: tuple[str, ...]


class Aligner:
    """Aligns transcripts to 16 kHz mono audio; the decoder and dictionary are loaded once."""

    def __init__(self, config: AlignerConfig | None = None):
        import pocketsphinx

        self.config = config or AlignerConfig()
        options = dict(
            samprate=SAMPLE_RATE,
            lm=None,
            bestpath=False,
            loglevel="FATAL",
            silprob=self.config.silence_probability,
        )
        if self.config.model_directory:
            options["hmm"] = self.config.model_directory
        if self.config.dictionary_path:
            options["dict"] = self.config.dictionary_path
        try:
            self.decoder = pocketsphinx.Decoder(**options)
        except (RuntimeError, ValueError) as error:
            source = self.config.model_directory or self.config.dictionary_path
            raise InputError(source, f"cannot load the pocketsphinx model ({error})") from None

    # ---- pronunciations -------------------------------------------------------------------

    def phones(self, word: str) -> str | None:
        """The dictionary pronunciation of a lower-case word (ARPABET), or None."""
        return self.decoder.lookup_word(word)

    def tokens(self, text: str) -> list[Token]:
        """Transcript words of ``text``, each with dictionary words to say (added if missing).

        A word with nothing pronounceable (e.g. in a script the letter rules do not cover) gets
        ``spoken=()``; it is timed at its neighbours' boundary.
        """
        tokens = []
        for shown in display_words(text):
            spoken = tuple(self._dictionary_word(w, shown) for w in spoken_words(shown))
            tokens.append(Token(shown, tuple(w for w in spoken if w)))
        return tokens

    def _dictionary_word(self, word: str, shown: str) -> str:
        """``word`` itself if the dictionary has it, else after adding a guessed pronunciation."""
        if self.phones(word):
            return word
        acronym = shown.isupper() and 1 < len(word) <= 5 and word.isalpha()
        phones = spelled_phones(word) if acronym else self._guess_phones(word)
        if not phones:
            return ""
        self.decoder.add_word(word, phones, True)
        return word

    def _guess_phones(self, word: str) -> str:
        parts = [p for p in re.split(r"[-/]", word) if p]
        if len(parts) > 1:
            return " ".join(filter(None, (self.phones(p) or self._guess_phones(p) for p in parts)))
        match = re.fullmatch(r"(.+?)'(s|ll|re|ve|d|m)", word)
        if match:
            base = self.phones(match[1]) or letter_to_sound(match[1])
            return f"{base} {_suffix_phones(match[2], base)}".strip()
        return letter_to_sound(word.replace("'", ""))

    # ---- alignment ------------------------------------------------------------------------

    def align(
        self,
        audio: np.ndarray,
        text: str,
        anchors: Transcript | None = None,
        source: str = "transcript",
    ) -> Transcript:
        """Times for every word of ``text`` in ``audio`` ``(n,)`` 16 kHz, labelled ``source``.

        ``anchors`` (e.g. Whisper's own word times for the same text) only guide how a recording
        that fails to align whole is cut into chunks.
        """
        return self.align_scored(audio, text, anchors, source)[0]

    def align_scored(
        self,
        audio: np.ndarray,
        text: str,
        anchors: Transcript | None = None,
        source: str = "transcript",
    ) -> tuple[Transcript, AlignmentFit]:
        """:meth:`align` and the :class:`AlignmentFit` of ``text`` to ``audio``."""
        audio = np.asarray(audio, dtype=np.float32).reshape(-1)
        tokens = self.tokens(text)
        duration = len(audio) / SAMPLE_RATE
        if not tokens or duration == 0:
            return Transcript(text=text, words=(), source=source), AlignmentFit(0, 0.0, np.nan)
        speakable = [t for t in tokens if t.spoken]
        if anchors is not None and len(anchors.words) == len(tokens):
            kept = (w for w, t in zip(anchors.words, tokens, strict=True) if t.spoken)
            anchors = Transcript(anchors.text, tuple(kept), anchors.source)
        placed = self._align_chunk(audio, speakable) if speakable else ([], [])
        if placed is None:
            placed = self._align_in_chunks(audio, speakable, anchors)
        spans, costs = placed
        spans = _with_silent_tokens(tokens, spans)
        words = _tidy(tokens, spans, duration, self.config.onset_shift)
        fit = _fit(tokens, costs, [(w.end - w.start) for w in words])
        return Transcript(text=text, words=words, source=source), fit

    def _align_chunk(self, audio: np.ndarray, tokens: list[Token]) -> tuple[list, list] | None:
        """``(spans, costs)``: (start, end) seconds per token relative to the chunk and its
        per-frame cost, or None if decoding failed."""
        expected = [w for t in tokens for w in t.spoken]
        pcm = (np.clip(audio, -1.0, 1.0) * 32767).astype("<i2").tobytes()
        try:
            self.decoder.set_align_text(" ".join(expected))
            self.decoder.start_utt()
            self.decoder.process_raw(pcm, full_utt=True)
            self.decoder.end_utt()
            segments = list(self.decoder.seg() or ())
        except RuntimeError:
            return None
        times, scores = [], []  # per dictionary word: (start, end) s; (-ln ascore, frames)
        for segment in segments:
            name = re.sub(r"\(\d+\)$", "", segment.word)
            if name in NON_WORDS or name.startswith("[") or len(times) == len(expected):
                continue
            if name != expected[len(times)]:
                return None
            start = segment.start_frame * FRAME_SECONDS
            times.append((start, (segment.end_frame + 1) * FRAME_SECONDS))
            frames = segment.end_frame - segment.start_frame + 1
            loss = -np.log(segment.ascore) if segment.ascore > 0 else COST_CAP * frames
            scores.append((min(loss, COST_CAP * frames), frames))
        if len(times) != len(expected):
            return None
        spans, costs, position = [], [], 0
        for token in tokens:
            count = len(token.spoken)
            first, last = times[position], times[position + count - 1]
            spans.append((first[0], last[1]))
            loss, frames = np.sum(scores[position : position + count], axis=0)
            costs.append(float(loss / max(frames, 1)))
            position += count
        return spans, costs

    def _align_in_chunks(
        self, audio: np.ndarray, tokens: list[Token], anchors: Transcript | None
    ) -> tuple[list, list]:
        """Cut at pauses into ~``chunk_seconds`` pieces, share out the words, align each piece.

        ``(spans, costs)`` as :meth:`_align_chunk`; a piece that fails has its words spread over
        its speech, with cost None."""
        cuts = pause_cuts(audio, self.config.chunk_seconds)
        bounds = list(zip([0.0, *cuts], [*cuts, len(audio) / SAMPLE_RATE], strict=True))
        owner = _chunk_of_each_token(audio, tokens, bounds, anchors)
        spans: list[tuple] = []
        costs: list[float | None] = []
        for index, (start, end) in enumerate(bounds):
            chosen = [t for t, o in zip(tokens, owner, strict=True) if o == index]
            if not chosen:
                continue
            piece = audio[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)]
            placed = self._align_chunk(piece, chosen)
            if placed is None:
                placed = spread_over_speech(piece, chosen), [None] * len(chosen)
            spans.extend((start + a, start + b) for a, b in placed[0])
            costs.extend(placed[1])
        return spans, costs


# ---- text normalisation ----------------------------------------------------------------------

_EDGE_PUNCTUATION = "\"'.,!?;:()[]{}<>«»“”‘’…—–-_*~`^|\\/"


def display_words(text: str) -> list[str]:
    """Whitespace words of ``text`` with surrounding punctuation stripped; empty ones dropped."""
    words = (w.replace("’", "'").strip(_EDGE_PUNCTUATION) for w in text.split())
    return [w for w in words if any(c.isalnum() for c in w) or w in {"&", "%", "+", "$"}]


def normalize_word(word: str) -> str:
    """Lower-case comparison form of a word: numbers spoken out ("90" -> "ninety")."""
    return " ".join(spoken_words(word))


def spoken_words(word: str) -> list[str]:
    """Lower-case words to say for one transcript word: "90%" -> ["ninety", "percent"]."""
    word = word.lower().replace("’", "'").strip(_EDGE_PUNCTUATION)
    symbols = {"&": "and", "+": "plus", "%": "percent", "@": "at", "=": "equals"}
    if word in symbols:
        return [symbols[word]]
    money = re.fullmatch(r"\$([\d,]*\.?\d+)", word)
    if money:
        amount = _number_phrase(money[1])
        return amount + (["dollar"] if amount == ["one"] else ["dollars"])
    percent = re.fullmatch(r"([\d,]*\.?\d+)%", word)
    if percent:
        return _number_phrase(percent[1]) + ["percent"]
    ordinal = re.fullmatch(r"(\d+)(st|nd|rd|th)", word)
    if ordinal:
        return _ordinal(number_words(int(ordinal[1])))
    decade = re.fullmatch(r"(\d+)'?s", word)
    if decade:
        return _plural(_number_phrase(decade[1]))
    if re.fullmatch(r"-?[\d,]*\.?\d+", word) and any(c.isdigit() for c in word):
        sign = ["minus"] if word.startswith("-") else []
        return sign + _number_phrase(word.lstrip("-"))
    if re.search(r"\d", word):  # "mp3", "covid19": letters and digits apart
        return [w for part in re.findall(r"\d+|[^\d]+", word) for w in spoken_words(part)]
    return [word] if any(c.isalpha() for c in word) else []


_ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
).split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_SCALES = ((10**9, "billion"), (10**6, "million"), (1000, "thousand"))


def number_words(n: int) -> list[str]:
    """Cardinal words of a non-negative integer: 1905 -> one thousand nine hundred five."""
    if n < 20:
        return [_ONES[n]]
    if n < 100:
        return [_TENS[n // 10]] + ([_ONES[n % 10]] if n % 10 else [])
    if n < 1000:
        return [_ONES[n // 100], "hundred"] + (number_words(n % 100) if n % 100 else [])
    if n >= 10**12:
        return [_ONES[int(d)] for d in str(n)]
    for scale, name in _SCALES:
        if n >= scale:
            rest = number_words(n % scale) if n % scale else []
            return number_words(n // scale) + [name] + rest
    raise AssertionError("unreachable")


def _number_phrase(digits: str) -> list[str]:
    """Digits as spoken: years read in pairs (1990 -> nineteen ninety), decimals by digit."""
    digits = digits.replace(",", "")
    whole, _, fraction = digits.partition(".")
    value = int(whole) if whole else 0
    if len(whole) == 4 and not fraction and (1100 <= value < 2000 or 2010 <= value < 2100):
        head, tail = divmod(value, 100)
        if tail == 0:
            return number_words(head) + ["hundred"]
        return number_words(head) + (["oh"] if tail < 10 else []) + number_words(tail)
    words = number_words(value)
    if fraction:
        words += ["point"] + [_ONES[int(d)] for d in fraction]
    return words


def _ordinal(words: list[str]) -> list[str]:
    special = {"one": "first", "two": "second", "three": "third", "five": "fifth"}
    special |= {"eight": "eighth", "nine": "ninth", "twelve": "twelfth"}
    last = words[-1]
    if last in special:
        last = special[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last += "th"
    return words[:-1] + [last]


def _plural(words: list[str]) -> list[str]:
    last = words[-1]
    last = last[:-1] + "ies" if last.endswith("y") else last + ("es" if last == "six" else "s")
    return words[:-1] + [last]


# ---- letter-to-sound ---------------------------------------------------------------------------

# Grapheme -> ARPABET, tried longest first. A rough English rule set: good enough for the
# decoder to place an unknown name, not a pronunciation dictionary.
_GRAPHEMES = {
    "tion": "SH AH N", "sion": "ZH AH N", "ough": "AO", "augh": "AO", "tch": "CH", "sch": "S K",
    "igh": "AY", "eau": "OW", "dge": "JH", "ch": "CH", "sh": "SH", "th": "TH", "ph": "F",
    "wh": "W", "ck": "K", "ng": "NG", "qu": "K W", "gh": "G", "kn": "N", "wr": "R", "ee": "IY",
    "ea": "IY", "oo": "UW", "ou": "AW", "ow": "OW", "oi": "OY", "oy": "OY", "ai": "EY",
    "ay": "EY", "ei": "EY", "ey": "EY", "au": "AO", "aw": "AO", "ie": "IY", "ue": "UW",
    "ew": "UW", "oa": "OW", "ar": "AA R", "er": "ER", "ir": "ER", "ur": "ER", "or": "AO R",
    "a": "AE", "b": "B", "c": "K", "d": "D", "e": "EH", "f": "F", "g": "G", "h": "HH", "i": "IH",
    "j": "JH", "k": "K", "l": "L", "m": "M", "n": "N", "o": "AA", "p": "P", "q": "K", "r": "R",
    "s": "S", "t": "T", "u": "AH", "v": "V", "w": "W", "x": "K S", "y": "IY", "z": "Z",
}  # fmt: skip
_LONG_VOWELS = {"a": "EY", "e": "IY", "i": "AY", "o": "OW", "u": "UW", "y": "AY"}
_FINAL_VOWELS = {"a": "AH", "i": "IY", "o": "OW", "u": "UW"}
_VOWELS = set("aeiouy")
_LETTER_NAMES = {
    "a": "EY", "b": "B IY", "c": "S IY", "d": "D IY", "e": "IY", "f": "EH F", "g": "JH IY",
    "h": "EY CH", "i": "AY", "j": "JH EY", "k": "K EY", "l": "EH L", "m": "EH M", "n": "EH N",
    "o": "OW", "p": "P IY", "q": "K Y UW", "r": "AA R", "s": "EH S", "t": "T IY", "u": "Y UW",
    "v": "V IY", "w": "D AH B AH L Y UW", "x": "EH K S", "y": "W AY", "z": "Z IY",
}  # fmt: skip


def spelled_phones(word: str) -> str:
    """Letter names, for acronyms: "fbi" -> "EH F B IY AY"."""
    return " ".join(_LETTER_NAMES[c] for c in word.lower() if c in _LETTER_NAMES)


def letter_to_sound(word: str) -> str:
    """A rough ARPABET pronunciation of an unknown word by spelling rules ("" if no letters)."""
    letters = "".join(c for c in word.lower() if "a" <= c <= "z")
    silent_e = len(letters) > 3 and letters.endswith("e") and letters[-2] not in _VOWELS
    if silent_e:
        letters = letters[:-1]
    phones: list[str] = []
    position = 0
    while position < len(letters):
        rest = letters[position:]
        letter = rest[0]
        following = rest[1:2]
        if letter == following and letter not in _VOWELS:  # doubled consonant
            position += 1
            continue
        if letter == "c" and following in ("e", "i", "y"):
            chunk, sound = "c", "S"
        elif letter == "g" and following in ("e", "i", "y"):
            chunk, sound = "g", "JH"
        elif letter == "y" and position == 0:
            chunk, sound = "y", "Y"
        elif letter in _FINAL_VOWELS and len(rest) == 1 and position > 0:
            chunk, sound = letter, _FINAL_VOWELS[letter]
        elif silent_e and letter in _LONG_VOWELS and len(rest) == 2 and rest[1] not in _VOWELS:
            chunk, sound = letter, _LONG_VOWELS[letter]  # "name" -> N EY M
        else:
            chunk = next(g for g in (rest[:4], rest[:3], rest[:2], rest[:1]) if g in _GRAPHEMES)
            sound = _GRAPHEMES[chunk]
        phones.extend(sound.split())
        position += len(chunk)
    return " ".join(phones)


def _suffix_phones(suffix: str, base: str) -> str:
    """Phones of a clitic after ``base``: 's is S, Z or IH Z depending on the last sound."""
    last = base.split()[-1] if base else ""
    if suffix == "s":
        if last in ("S", "Z", "SH", "ZH", "CH", "JH"):
            return "IH Z"
        return "S" if last in ("P", "T", "K", "F", "TH") else "Z"
    return {"ll": "L", "re": "ER", "ve": "V", "d": "D", "m": "M"}[suffix]


# ---- chunking and fallbacks ------------------------------------------------------------------


def frame_levels(audio: np.ndarray) -> np.ndarray:
    """Frame energy in dB ``(frames,)`` at 100 frames per second (25 ms Hann windows)."""
    hop, window = int(SAMPLE_RATE * FRAME_SECONDS), 400
    if len(audio) < window:
        audio = np.pad(audio, (0, window - len(audio)))
    count = 1 + (len(audio) - window) // hop
    hann = np.hanning(window)
    levels = np.empty(count)
    block = 6000  # frames per block: 60 s, 19 MB of windows, whatever the length of the audio
    for first in range(0, count, block):
        rows = np.arange(first, min(count, first + block))
        index = np.arange(window)[None, :] + hop * rows[:, None]  # (rows, window)
        frames = audio[index] * hann
        levels[rows] = 20 * np.log10(np.sqrt(np.mean(frames**2, axis=1)) + 1e-7)
    return levels


def speech_frames(audio: np.ndarray, below_loud: float = 25.0) -> np.ndarray:
    """Boolean ``(frames,)``: frames within ``below_loud`` dB of the loud (90th pct) level."""
    levels = frame_levels(audio)
    return levels > np.percentile(levels, 90) - below_loud


def pause_cuts(audio: np.ndarray, chunk_seconds: float, min_pause: float = 0.2) -> list[float]:
    """Cut times (s) in the middle of pauses so that chunks are about ``chunk_seconds`` long."""
    speech = speech_frames(audio)
    pauses, start = [], None
    for index, is_speech in enumerate([*speech, True]):
        if not is_speech and start is None:
            start = index
        elif is_speech and start is not None:
            if (index - start) * FRAME_SECONDS >= min_pause and start > 0:
                pauses.append((start + index) / 2 * FRAME_SECONDS)
            start = None
    cuts, last = [], 0.0
    duration = len(audio) / SAMPLE_RATE
    for middle in pauses:
        if middle - last >= chunk_seconds / 2 and duration - middle >= chunk_seconds / 4:
            cuts.append(middle)
            last = middle
    return cuts


def _chunk_of_each_token(
    audio: np.ndarray, tokens: list[Token], bounds: list[tuple], anchors: Transcript | None
) -> list[int]:
    """Index of the chunk each token goes to: by anchor times if they match the tokens one to one,
    else in proportion to speech time (letters spoken so far vs speech heard so far)."""
    if anchors is not None and len(anchors.words) == len(tokens):
        starts = [w.start for w in anchors.words]
    else:
        speech = speech_frames(audio)
        heard = np.cumsum(speech) / max(1, speech.sum())
        weights = np.array([sum(len(w) for w in t.spoken) for t in tokens], dtype=float)
        middle = (np.cumsum(weights) - weights / 2) / weights.sum()
        frames = np.searchsorted(heard, middle).clip(0, len(speech) - 1)
        starts = list(frames * FRAME_SECONDS)
    cut_times = [end for _, end in bounds[:-1]]
    return [int(np.searchsorted(cut_times, s, side="right")) for s in starts]


def spread_over_speech(audio: np.ndarray, tokens: list[Token]) -> list[tuple]:
    """Fallback times: the tokens laid end to end over the speech frames, by letter count."""
    speech = np.flatnonzero(speech_frames(audio))
    if len(speech) == 0:
        speech = np.arange(max(1, len(audio) // int(SAMPLE_RATE * FRAME_SECONDS)))
    weights = np.array([sum(len(w) for w in t.spoken) for t in tokens], dtype=float)
    edges = np.concatenate([[0.0], np.cumsum(weights) / weights.sum()])  # (tokens + 1,)
    positions = (edges * (len(speech) - 1)).round().astype(int)
    times = speech[positions] * FRAME_SECONDS
    times[-1] = (speech[-1] + 1) * FRAME_SECONDS
    return [(float(a), float(max(a, b))) for a, b in zip(times[:-1], times[1:], strict=True)]


def _with_silent_tokens(tokens: list[Token], spans: list[tuple]) -> list[tuple]:
    """Spans for all tokens: an unspeakable token sits, zero-length, where its neighbours meet."""
    spoken = iter(spans)
    result: list[tuple] = []
    for token in tokens:
        result.append(next(spoken) if token.spoken else None)
    for index, span in enumerate(result):
        if span is None:
            before = next((s[1] for s in reversed(result[:index]) if s is not None), None)
            after = next((s[0] for s in result[index + 1 :] if s is not None), 0.0)
            time = before if before is not None else after
            result[index] = (time, time)
    return result


def _fit(tokens: list[Token], costs: list, lengths: list[float]) -> AlignmentFit:
    """:class:`AlignmentFit` from the costs of the speakable tokens (in order) and word lengths."""
    spoken = iter(costs)
    word_costs = tuple(next(spoken) if t.spoken else None for t in tokens)
    placed = [(c, n) for c, n, t in zip(word_costs, lengths, tokens, strict=True) if c is not None]
    speakable = sum(1 for t in tokens if t.spoken)
    share = len(placed) / speakable if speakable else 0.0
    weight = sum(max(n, FRAME_SECONDS) for _, n in placed)
    cost = sum(c * max(n, FRAME_SECONDS) for c, n in placed) / weight if placed else np.nan
    return AlignmentFit(len(tokens), share, float(cost), word_costs)


def _tidy(tokens: list[Token], spans: list[tuple], duration: float, shift: float) -> tuple:
    """Words with shifted, clipped, non-decreasing times."""
    words, floor = [], 0.0
    for token, (start, end) in zip(tokens, spans, strict=True):
        start = min(max(start + shift, floor), duration)
        end = min(max(end, start), duration)
        words.append(Word(token.word, round(start, 3), round(end, 3)))
        floor = start
    return tuple(words)
