"""The embedding cache: a real SQLite file, the real embedder, real processes."""

from __future__ import annotations

import logging
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, CountingEmbedder

from assistant.embed import OpenAIEmbedder
from assistant.embed_cache import CachedEmbedder, EmbeddingCache, cache_key, ingest_embedder
from assistant.settings import Settings


def cached(embedder: CountingEmbedder, path: Path) -> CachedEmbedder:
    return CachedEmbedder(embedder, EmbeddingCache(path))


def test_only_text_not_seen_before_is_embedded(tmp_path: Path, embedder: CountingEmbedder) -> None:
    path = tmp_path / "cache.sqlite"
    first, computed = cached(embedder, path).embed_counting(["降息", "rate cut"])
    assert computed == embedder.passages == 2

    again, computed = cached(embedder, path).embed_counting(
        ["rate cut", "banana", "banana", "降息"]
    )

    assert computed == 1 and embedder.passages == 3  # banana once, though asked for twice
    assert np.array_equal(again[[3, 0]], first)  # the stored float32 bytes, in asked order
    assert np.array_equal(again[1], again[2])
    assert np.allclose(again[1], embedder.inner.embed_passages(["banana"])[0], atol=1e-6)


def test_another_model_or_passage_prefix_is_another_key(
    tmp_path: Path, embedder: CountingEmbedder
) -> None:
    path = tmp_path / "cache.sqlite"
    cached(embedder, path).embed_passages(["降息"])
    embedder.identity = "another model"

    assert cached(embedder, path).embed_counting(["降息"])[1] == 1

    plain = OpenAIEmbedder("m", "http://127.0.0.1:9/v1")
    moved = OpenAIEmbedder("m", "http://10.0.0.1:9/v1")
    prefixed = OpenAIEmbedder("m", "http://127.0.0.1:9/v1", passage_prefix="passage: ")
    assert plain.identity == moved.identity != prefixed.identity
    assert cache_key(plain.identity, "x") != cache_key(prefixed.identity, "x")


def test_ingest_caches_beside_the_index_unless_switched_off(tmp_path: Path) -> None:
    on = ingest_embedder(Settings(vectorstore_dir=tmp_path, embedder="ngram"))
    elsewhere = ingest_embedder(
        Settings(embedding_cache=str(tmp_path / "shared.sqlite"), embedder="ngram")
    )
    off = ingest_embedder(Settings(vectorstore_dir=tmp_path, embedding_cache="", embedder="ngram"))

    assert isinstance(on, CachedEmbedder) and isinstance(elsewhere, CachedEmbedder)
    assert on.cache.path == tmp_path / "embeddings.cache.sqlite"
    assert elsewhere.cache.path == tmp_path / "shared.sqlite"
    assert not isinstance(off, CachedEmbedder)


def _garbage(path: Path) -> None:
    path.write_bytes(os.urandom(64 * 1024))


def _damaged_pages(path: Path) -> None:
    """A valid header and schema, with the table's pages overwritten."""
    cache = EmbeddingCache(path)
    cache.put({cache_key("m", str(i)): np.ones(384, dtype=np.float32) for i in range(300)})
    cache.close()  # the last connection checkpoints the WAL into the file
    with path.open("r+b") as file:
        file.seek(4096 * 2)
        file.write(b"\xff" * (path.stat().st_size - 4096 * 2))


@pytest.mark.parametrize("damage", [_garbage, _damaged_pages])
def test_a_corrupt_cache_is_set_aside_and_rebuilt(
    tmp_path: Path,
    embedder: CountingEmbedder,
    damage: Callable[[Path], None],
    caplog: pytest.LogCaptureFixture,
) -> None:
    path = tmp_path / "cache.sqlite"
    damage(path)

    with caplog.at_level(logging.WARNING):
        vectors, computed = cached(embedder, path).embed_counting(["降息", "rate cut"])

    assert computed == 2 and vectors.shape == (2, 384)
    assert "unreadable" in caplog.text
    assert len(list(tmp_path.glob("cache.sqlite.corrupt-*"))) == 1
    assert cached(embedder, path).embed_counting(["降息", "rate cut"])[1] == 0
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_an_unusable_cache_path_only_costs_the_cache(
    tmp_path: Path, embedder: CountingEmbedder, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        unusable = cached(embedder, tmp_path)  # a folder, not a file

    assert unusable.embed_counting(["降息"])[1] == unusable.embed_counting(["降息"])[1] == 1
    assert "cannot be used" in caplog.text


def test_a_damaged_row_is_recomputed(tmp_path: Path, embedder: CountingEmbedder) -> None:
    path = tmp_path / "cache.sqlite"
    good, _ = cached(embedder, path).embed_counting(["降息", "rate cut"])
    EmbeddingCache(path).put({cache_key(embedder.identity, "降息"): np.zeros(7, np.float32)})

    vectors, computed = cached(embedder, path).embed_counting(["降息", "rate cut"])

    assert computed == 2
    assert np.allclose(vectors, good, atol=1e-6)
    assert cached(embedder, path).embed_counting(["降息"])[1] == 0  # and stored again


WRITER = """
import sys, time
from collections.abc import Callable
from pathlib import Path
import numpy as np
from assistant.embed_cache import EmbeddingCache, cache_key

path, folder, first, last = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
cache = EmbeddingCache(path)
(folder / f"ready-{first}").touch()
while not (folder / "go").exists():
    time.sleep(0.005)
for start in range(first, last, 7):
    stop = min(start + 7, last)
    cache.put({cache_key("m", str(i)): np.full(384, i, np.float32) for i in range(start, stop)})
    assert len(cache.get([cache_key("m", str(start))])) == 1
"""


def test_two_processes_writing_at_once_leave_a_sound_cache(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    ranges = [(0, 3000), (2000, 5000)]  # a third of each one's keys are the other's too
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), str(tmp_path), str(a), str(b)], env=env
        )
        for a, b in ranges
    ]
    deadline = time.monotonic() + 60
    while len(list(tmp_path.glob("ready-*"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    (tmp_path / "go").touch()

    assert [writer.wait(timeout=120) for writer in writers] == [0, 0]
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    cache = EmbeddingCache(path)
    assert len(cache) == 5000
    found = cache.get([cache_key("m", str(i)) for i in range(5000)])
    assert all(found[cache_key("m", str(i))][0] == i for i in range(5000))
    assert not list(tmp_path.glob("cache.sqlite.corrupt-*"))
