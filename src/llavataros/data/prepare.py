"""``llavataros features``: compute and cache the model inputs of a corpus folder ahead of
training, exactly as training will ask for them (same frame counts, same cache keys)."""

from __future__ import annotations

import time
from pathlib import Path

from tqdm import tqdm

from llavataros.data.dataset import corpus_vocabulary, prepare_take
from llavataros.data.index import index_takes
from llavataros.features.build import build_extractor
from llavataros.motion.timing import MODEL_FPS


def compute_corpus_features(
    data_dir: str | Path,
    fps: float = MODEL_FPS,
    cache_dir: str | Path | None = None,
    text_model: str | Path | None = None,
    audio_model: str | Path | None = None,
    progress: bool = True,
) -> dict:
    """Features of every take in ``data_dir`` at ``fps`` into the cache (default
    ``DATA_DIR/.cache``, the folder training uses); returns a summary."""
    data_dir = Path(data_dir)
    cache_dir = Path(cache_dir) if cache_dir else data_dir / ".cache"
    records = index_takes(data_dir)
    extractor = build_extractor(fps, text_model, audio_model, cache_dir)
    vocabulary = corpus_vocabulary(records)
    start, frames = time.perf_counter(), 0
    for record in tqdm(records, desc="features", unit="take", disable=not progress):
        frames += prepare_take(record, extractor, fps, vocabulary).num_frames
    return {
        "takes": len(records),
        "frames": frames,
        "fps": fps,
        "seconds_of_speech": round(frames / fps, 2),
        "text_dim": extractor.text_dim,
        "audio_dim": extractor.audio_dim,
        "cache": str(cache_dir),
        "cache_hits": extractor.cache.hits,
        "cache_misses": extractor.cache.misses,
        "compute_seconds": round(time.perf_counter() - start, 2),
    }
