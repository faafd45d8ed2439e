"""Front-end accuracy on the real AvatarOS take against its MFA TextGrid (SPEC section 3).

Targets (GitHub issue "Foundation", item 3): Whisper WER <= 0.06 after normalisation ("90" and
"ninety" equal); pipeline word onsets: median error <= 25 ms and >= 85 % within 50 ms, words
matched by the WER alignment. Measured with Silero VAD on and per-group re-alignment (December
2026): WER 0.045, median 10 ms, 85.7 % within 50 ms (before: 0.045, 10 ms, 86.8 %; the
reference itself misplaces five words around 92 s, where the speaker says "um" that MFA was not
told about, and it lacks the "percent" of "90%").
"""

from __future__ import annotations

import numpy as np
import pytest

from llavataros.speech.align import Aligner, normalize_word
from llavataros.speech.audio import load_audio
from llavataros.speech.frontend import words_for_audio
from llavataros.speech.textgrid import load_textgrid
from llavataros.speech.transcribe import Transcriber, screen_segments, words_from_pieces
from llavataros.speech.words import Transcript


def matched_pairs(reference: list[str], hypothesis: list[str]) -> tuple[list[tuple], int]:
    """Levenshtein alignment of two word lists: (i, j) pairs of equal words, and edit count."""
    rows, columns = len(reference) + 1, len(hypothesis) + 1
    cost = np.zeros((rows, columns), dtype=int)  # (ref + 1, hyp + 1)
    cost[:, 0], cost[0, :] = np.arange(rows), np.arange(columns)
    for i in range(1, rows):
        for j in range(1, columns):
            substitution = cost[i - 1, j - 1] + (reference[i - 1] != hypothesis[j - 1])
            cost[i, j] = min(substitution, cost[i - 1, j] + 1, cost[i, j - 1] + 1)
    pairs, i, j = [], rows - 1, columns - 1
    while i > 0 and j > 0:
        same = reference[i - 1] == hypothesis[j - 1]
        if cost[i, j] == cost[i - 1, j - 1] + (not same):
            if same:
                pairs.append((i - 1, j - 1))
            i, j = i - 1, j - 1
        elif cost[i, j] == cost[i - 1, j] + 1:
            i -= 1
        else:
            j -= 1
    return pairs[::-1], int(cost[-1, -1])


def word_error_rate(reference: Transcript, hypothesis: Transcript) -> float:
    """WER over normalised tokens ("90%" -> "ninety percent", case and punctuation dropped)."""
    ref = [t for w in reference.words for t in normalize_word(w.word).split()]
    hyp = [t for w in hypothesis.words for t in normalize_word(w.word).split()]
    return matched_pairs(ref, hyp)[1] / len(ref)


def onset_errors(reference: Transcript, hypothesis: Transcript) -> np.ndarray:
    """Start-time differences (s) of the words the WER alignment matches."""
    ref = [normalize_word(w.word) for w in reference.words]
    hyp = [normalize_word(w.word) for w in hypothesis.words]
    pairs, _ = matched_pairs(ref, hyp)
    return np.array([hypothesis.words[j].start - reference.words[i].start for i, j in pairs])


def test_matched_pairs_known_answer():
    pairs, edits = matched_pairs("a b c d".split(), "a x c d e".split())
    assert pairs == [(0, 0), (2, 2), (3, 3)] and edits == 2


@pytest.fixture(scope="module")
def sample(sample_wav, sample_textgrid):
    return load_audio(sample_wav), load_textgrid(sample_textgrid)


@pytest.fixture(scope="module")
def models():
    return Transcriber(), Aligner()


@pytest.fixture(scope="module")
def segments(sample, models):
    return models[0].segments(sample[0])


@pytest.fixture(scope="module")
def heard(segments, models):
    kept, warnings = screen_segments(segments, models[0].config)
    assert warnings == []
    return words_from_pieces([p[:3] for s in kept for p in s.pieces])


class _Replay:
    """A transcriber that returns segments already heard (saves a second Whisper run)."""

    def __init__(self, segments, config):
        self.heard, self.config = segments, config

    def segments(self, audio: np.ndarray, progress=None):
        return self.heard


@pytest.mark.slow
@pytest.mark.sample
def test_whisper_word_error_rate(sample, heard):
    assert word_error_rate(sample[1], heard) <= 0.06


@pytest.mark.slow
@pytest.mark.sample
def test_pipeline_word_onsets(sample, models, segments):
    audio, reference = sample
    replay = _Replay(segments, models[0].config)
    words = words_for_audio(audio, None, transcriber=replay, aligner=models[1])
    assert words.source == "whisper" and words.warnings == ()
    errors = np.abs(onset_errors(reference, words))
    assert len(errors) >= 0.9 * len(reference.words)
    assert np.median(errors) <= 0.025
    assert np.mean(errors <= 0.05 + 1e-6) >= 0.85


@pytest.mark.slow
@pytest.mark.sample
def test_alignment_of_the_reference_text(sample, models):
    audio, reference = sample
    aligned = models[1].align(audio, reference.text)
    assert [w.word for w in aligned.words] == [w.word for w in reference.words]
    pairs = zip(aligned.words, reference.words, strict=True)
    errors = np.abs(np.array([a.start - r.start for a, r in pairs]))
    assert np.median(errors) <= 0.025
    assert np.mean(errors <= 0.05 + 1e-6) >= 0.85
