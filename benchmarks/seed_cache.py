"""Fill an embedding cache with the vectors an index already holds.

    python benchmarks/seed_cache.py FROM_VECTORSTORE TO_VECTORSTORE

Each stored segment's document is exactly the text that was embedded (`passage_text`), so
its vector can be cached under the current embedder's identity. The scale benchmark uses
this to give a grown archive (benchmarks/make_archive.py, made of the shared archive's
paragraphs) the vectors one ingest of the shared archive computed, instead of spending
hours re-embedding the same paragraphs on two cores.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.embed import make_embedder  # noqa: E402
from assistant.embed_cache import EmbeddingCache, cache_key  # noqa: E402
from assistant.index import open_store  # noqa: E402
from assistant.settings import Settings  # noqa: E402


def main() -> None:
    source, target = Path(sys.argv[1]), Path(sys.argv[2])
    started = time.perf_counter()
    settings = Settings(vectorstore_dir=source)
    embedder = make_embedder(settings)
    store = open_store(settings, embedder)
    cache = EmbeddingCache(target / Settings().embedding_cache)
    found = store.segments.get(include=["documents", "embeddings"])
    vectors = {
        cache_key(embedder.identity, document): vector
        for document, vector in zip(found["documents"], found["embeddings"], strict=True)
    }
    cache.put(vectors)
    seconds = time.perf_counter() - started
    print(f"cached {len(vectors):,} vectors from {source} in {cache.path} ({seconds:.1f} s)")


if __name__ == "__main__":
    main()
