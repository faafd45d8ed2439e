"""TextGrid import, words.json round trip and the --transcript argument (SPEC sections 1-2)."""

from __future__ import annotations

import pytest

from llavataros.errors import InputError
from llavataros.speech.frontend import read_transcript_argument
from llavataros.speech.textgrid import load_textgrid, read_tiers
from llavataros.speech.words import Transcript, Word, load_words_json, save_words_json

LONG_FORMAT = """File type = "ooTextFile"
Object class = "TextGrid"

xmin = 0
xmax = 2.5
tiers? <exists>
size = 2
item []:
    item [1]:
        class = "IntervalTier"
        name = "words"
        xmin = 0
        xmax = 2.5
        intervals: size = 4
        intervals [1]:
            xmin = 0
            xmax = 0.52
            text = ""
        intervals [2]:
            xmin = 0.52
            xmax = 0.81
            text = "hello"
        intervals [3]:
            xmin = 0.81
            xmax = 1.4
            text = "say ""hi"" 90"
        intervals [4]:
            xmin = 1.4
            xmax = 2.5
            text = "  "
    item [2]:
        class = "IntervalTier"
        name = "phones"
        xmin = 0
        xmax = 2.5
        intervals: size = 1
        intervals [1]:
            xmin = 0.52
            xmax = 0.6
            text = "HH"
"""

SHORT_FORMAT = """File type = "ooTextFile"
Object class = "TextGrid"

0
2.5
<exists>
1
"IntervalTier"
"Words"
0
2.5
3
0
0.52
""
0.52
0.81
"hello"
0.81
1.4
"say ""hi"" 90"
"""

EXPECTED = (Word("hello", 0.52, 0.81), Word('say "hi" 90', 0.81, 1.4))


@pytest.mark.parametrize("content", [LONG_FORMAT, SHORT_FORMAT], ids=["long", "short"])
def test_handmade_textgrid(tmp_path, content):
    path = tmp_path / "tiny.TextGrid"
    path.write_text(content)
    transcript = load_textgrid(path)
    assert transcript.source == "textgrid"
    assert transcript.words == EXPECTED  # empty and blank intervals skipped
    assert transcript.text == 'hello say "hi" 90'


def test_utf16_textgrid_and_other_tier(tmp_path):
    path = tmp_path / "wide.TextGrid"
    path.write_text(LONG_FORMAT, encoding="utf-16")
    assert [t.name for t in read_tiers(path)] == ["words", "phones"]
    assert load_textgrid(path, tier="phones").words == (Word("HH", 0.52, 0.6),)


def test_textgrid_errors(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_textgrid(tmp_path / "none.TextGrid")
    path = tmp_path / "tiny.TextGrid"
    path.write_text(LONG_FORMAT)
    with pytest.raises(InputError, match=r"no tier named 'syllables' \(tiers: 'words', 'phones'\)"):
        load_textgrid(path, tier="syllables")
    bad = tmp_path / "bad.TextGrid"
    bad.write_text("hello world")
    with pytest.raises(InputError, match="bad.TextGrid: not a TextGrid"):
        load_textgrid(bad)
    cut = tmp_path / "cut.TextGrid"
    cut.write_text(LONG_FORMAT[: LONG_FORMAT.index("intervals [3]")])
    with pytest.raises(InputError, match="cut.TextGrid: not a valid TextGrid"):
        load_textgrid(cut)


@pytest.mark.sample
def test_sample_textgrid(sample_textgrid):
    transcript = load_textgrid(sample_textgrid)
    assert len(transcript.words) == 198
    assert transcript.words[0] == Word("i", 5.98, 6.06)
    assert transcript.words[-1] == Word("just", 115.49, 115.93)
    assert "90" in [w.word for w in transcript.words]
    starts = [w.start for w in transcript.words]
    assert starts == sorted(starts)
    assert all(w.end > w.start for w in transcript.words)


@pytest.mark.sample
def test_words_json_round_trip(tmp_path, sample_textgrid):
    transcript = load_textgrid(sample_textgrid)
    path = save_words_json(transcript, tmp_path / "out" / "speech.words.json")
    again = load_words_json(path)
    assert again.words == transcript.words
    assert again.text == transcript.text and again.source == "textgrid"


def test_transcript_argument_kinds(tmp_path):
    text_file = tmp_path / "speech.txt"
    text_file.write_text("Hello there,\n  general   Kenobi.\n")
    assert read_transcript_argument(str(text_file)) == "Hello there, general Kenobi."
    grid = tmp_path / "speech.TextGrid"
    grid.write_text(LONG_FORMAT)
    assert read_transcript_argument(grid).words == EXPECTED
    timed = Transcript("hi you", (Word("hi", 0.1, 0.3), Word("you", 0.3, 0.5)), "whisper")
    words_json = save_words_json(timed, tmp_path / "speech.words.json")
    assert read_transcript_argument(words_json) == timed
    assert read_transcript_argument("  I think, therefore I am. ") == "I think, therefore I am."


def test_transcript_argument_errors(tmp_path):
    with pytest.raises(InputError, match="missing.txt: transcript file not found"):
        read_transcript_argument(str(tmp_path / "missing.txt"))
    with pytest.raises(InputError, match="no words"):
        read_transcript_argument(" ... ")
    empty = tmp_path / "empty.txt"
    empty.write_text("\n")
    with pytest.raises(InputError, match="empty.txt: the transcript has no words"):
        read_transcript_argument(empty)
