"""Corpus indexing, take-level splits and training windows."""

from llavataros.data.dataset import (
    PreparedTake,
    WindowDataset,
    audio_statistics,
    corpus_vocabulary,
    prepare_corpus,
)
from llavataros.data.index import TakeRecord, index_takes, read_transcript, split_takes

__all__ = [
    "PreparedTake",
    "TakeRecord",
    "WindowDataset",
    "audio_statistics",
    "corpus_vocabulary",
    "index_takes",
    "prepare_corpus",
    "read_transcript",
    "split_takes",
]
