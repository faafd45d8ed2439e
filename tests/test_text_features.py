"""Per-word LM vectors (last sub-token, one pass, windows) and their frame alignment."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from llavataros.errors import InputError
from llavataros.features.text_encoders import (
    TextEncoder,
    TransformersTextEncoder,
    last_token_per_word,
    text_frames,
    window_for_token,
    window_starts,
    word_spans,
)
from llavataros.speech.words import Transcript, Word

SENTENCES = [
    "the cat sat on the mat",
    "a gesture is a movement of the hands",
    "she waved her hands to say hello",
    "we talked about the weather and the sea",
    "i think that is a very big idea",
]
SPLIT_WORD = "handshaking"  # unseen in training: the tiny tokenizers split it into pieces


def _save_tiny_bert(folder):
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.train_from_iterator(
        SENTENCES, trainers.WordPieceTrainer(vocab_size=90, special_tokens=specials)
    )
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        special_tokens=[(name, tokenizer.token_to_id(name)) for name in ("[CLS]", "[SEP]")],
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
    )
    config = BertConfig(
        vocab_size=fast.vocab_size,
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=64,
    )
    torch.manual_seed(0)
    BertModel(config).save_pretrained(folder)
    fast.save_pretrained(folder)


def _save_tiny_llama(folder):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import LlamaConfig, LlamaModel, PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace()
    tokenizer.decoder = decoders.Metaspace()
    tokenizer.train_from_iterator(
        SENTENCES, trainers.BpeTrainer(vocab_size=90, special_tokens=["<unk>", "<s>", "</s>"])
    )
    tokenizer.post_processor = processors.TemplateProcessing(
        single="<s> $A", special_tokens=[("<s>", tokenizer.token_to_id("<s>"))]
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, bos_token="<s>", eos_token="</s>", unk_token="<unk>"
    )
    config = LlamaConfig(
        vocab_size=fast.vocab_size,
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=256,
    )
    torch.manual_seed(0)
    LlamaModel(config).save_pretrained(folder)
    fast.save_pretrained(folder)


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory):
    root = tmp_path_factory.mktemp("text_models")
    _save_tiny_bert(root / "bert")
    _save_tiny_llama(root / "llama")
    return root


@pytest.fixture(scope="module", params=["bert", "llama"])
def tiny_model_path(request, tiny_models):
    return tiny_models / request.param


def _reference_states(model_path, words):
    """Hidden states of a plain full-text forward pass and each word's token positions."""
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_path, local_files_only=True)
    model = AutoModel.from_pretrained(model_path, local_files_only=True).eval()
    encoding = tokenizer(" ".join(words), return_tensors="pt")
    with torch.inference_mode():
        hidden = model(**encoding).last_hidden_state[0].numpy()
    word_ids = encoding.word_ids()
    positions = [[p for p, w in enumerate(word_ids) if w == i] for i in range(len(words))]
    return hidden, positions


def test_last_sub_token_is_selected(tiny_model_path):
    words = ["she", "waved", SPLIT_WORD, "hands"]
    encoder = TransformersTextEncoder(tiny_model_path)
    vectors = encoder.encode_words(words)
    assert vectors.shape == (4, 16) and vectors.dtype == np.float32
    hidden, positions = _reference_states(tiny_model_path, words)
    assert len(positions[2]) >= 3, "the test word must split into several sub-tokens"
    for index, tokens in enumerate(positions):
        np.testing.assert_allclose(vectors[index], hidden[tokens[-1]], atol=1e-5)
    assert not np.allclose(vectors[2], hidden[positions[2][0]], atol=1e-3)


def test_vectors_depend_on_context(tiny_model_path):
    encoder = TransformersTextEncoder(tiny_model_path)
    first = encoder.encode_words(["the", "cat", "sat", "on", "the", "mat"])
    second = encoder.encode_words(["we", "talked", "about", "the", "mat"])
    assert not np.allclose(first[5], second[4], atol=1e-4)  # "mat" after different words
    again = encoder.encode_words(["the", "cat", "sat", "on", "the", "mat"])
    np.testing.assert_array_equal(first, again)


def test_long_transcript_uses_windows_with_left_context(tiny_models):
    words = (" ".join(SENTENCES).split() + [SPLIT_WORD]) * 2  # about 90 tokens
    full = TransformersTextEncoder(tiny_models / "llama", max_tokens=256)
    windowed = TransformersTextEncoder(tiny_models / "llama", max_tokens=24)
    full_vectors, window_vectors = full.encode_words(words), windowed.encode_words(words)
    assert window_vectors.shape == full_vectors.shape
    assert np.all(np.isfinite(window_vectors)) and np.all(np.abs(window_vectors).sum(1) > 0)
    # The causal model sees the same left context in the first window as in the full pass.
    ids, offsets, spans = windowed._tokenize(words)
    assert len(ids) > 3 * 23
    last = last_token_per_word(offsets, spans)
    in_first = last < 23
    np.testing.assert_allclose(window_vectors[in_first], full_vectors[in_first], atol=1e-5)
    assert not np.allclose(window_vectors[~in_first], full_vectors[~in_first], atol=1e-4)


def test_bert_context_longer_than_model_limit(tiny_models):
    words = " ".join(SENTENCES * 3).split()  # > 64 tokens, the tiny BERT's position limit
    encoder = TransformersTextEncoder(tiny_models / "bert")
    assert encoder.max_tokens == 64
    vectors = encoder.encode_words(words)
    assert vectors.shape == (len(words), 16) and np.all(np.isfinite(vectors))


def test_window_choice_maximises_left_context():
    capacity = 10
    starts = window_starts(37, capacity)
    assert starts[0] == 0 and starts[-1] + capacity == 37
    for position in range(37):
        window = window_for_token(position, starts, capacity)
        left = position - starts[window]
        holders = [s for s in starts if s <= position < s + capacity]
        assert left == max(position - s for s in holders)
        assert window == 0 or left >= capacity // 2 - 1
    assert window_starts(5, capacity) == [0]


def test_offsets_map_tokens_to_words():
    text, spans = word_spans(["hello", "unbelievably", "", "crab"])
    assert text == "hello unbelievably  crab" and spans[1] == (6, 18)
    # "▁hello" starts on no space here; "▁un" includes the space before the word.
    offsets = [(0, 0), (0, 5), (5, 8), (8, 12), (12, 18), (19, 24), (0, 0)]
    np.testing.assert_array_equal(last_token_per_word(offsets, spans), [1, 4, 4, 5])


class SlowTokenizer:
    """A tokenizer without offsets: only ``encode`` and ``__call__`` of the wrapped one."""

    is_fast = False

    def __init__(self, inner):
        self.inner = inner

    def encode(self, text, add_special_tokens=False):
        return self.inner.encode(text, add_special_tokens=add_special_tokens)


def test_tokenizer_without_offsets_gives_the_same_vectors(tiny_models):
    words = ["she", "waved", SPLIT_WORD, "hands"]
    encoder = TransformersTextEncoder(tiny_models / "bert")
    fast = encoder.encode_words(words)
    encoder._tokenizer = SlowTokenizer(encoder._tokenizer)
    np.testing.assert_allclose(encoder.encode_words(words), fast, atol=1e-6)


def test_missing_model_folder_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="not found"):
        TransformersTextEncoder(tmp_path / "nothing")


class CountingEncoder(TextEncoder):
    """One-hot-ish vectors: word ``i`` gets ``i + 1`` in every dimension."""

    def __init__(self):
        self.calls = 0

    @property
    def dim(self) -> int:
        return 3

    def settings(self) -> dict:
        return {"encoder": "counting"}

    def encode_words(self, words):
        self.calls += 1
        return np.repeat(np.arange(1, len(words) + 1, dtype=np.float32)[:, None], 3, axis=1)


def test_text_frames_hold_each_word_over_its_interval():
    transcript = Transcript(
        "a b c", (Word("a", 0.1, 0.35), Word("b", 0.5, 0.62), Word("c", 0.71, 0.74))
    )
    vectors, mask = text_frames(transcript, num_frames=10, fps=10.0, encoder=CountingEncoder())
    assert vectors.shape == (10, 3) and vectors.dtype == np.float32 and mask.dtype == bool
    # frame i is time i/10 s: "a" covers 0.1, 0.2, 0.3; "b" covers 0.5, 0.6; "c" is between
    # frame times and takes the frame nearest its middle (0.725 s -> frame 7).
    np.testing.assert_array_equal(vectors[:, 0], [0, 1, 1, 1, 0, 2, 2, 3, 0, 0])
    np.testing.assert_array_equal(mask, vectors[:, 0] > 0)


def test_text_frames_of_empty_transcript_are_masked():
    vectors, mask = text_frames(Transcript(""), 5, 30.0, CountingEncoder())
    assert vectors.shape == (5, 3) and not mask.any() and not vectors.any()


def test_default_minilm_gives_384_dimensional_context_vectors():
    encoder = TransformersTextEncoder()
    assert encoder.dim == 384
    river = encoder.encode_words("we sat on the bank of the river".split())
    money = encoder.encode_words("she put money in the bank".split())
    assert river.shape == (8, 384) and money.shape == (6, 384)
    cosine = river[4] @ money[5] / np.linalg.norm(river[4]) / np.linalg.norm(money[5])
    assert 0.2 < cosine < 0.999
