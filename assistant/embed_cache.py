"""Passage vectors kept on disk by model and text, so ingest never embeds a text twice.

A new collection (another segmentation version, another prefix), re-segmented episodes
and paragraphs an archive repeats would otherwise pay the embedder again for text it has
already seen. The cache is one SQLite file beside the index, shared by every process that
ingests. It holds derived data only: an unreadable file is set aside and a new one begun,
and any other failure costs a cache miss, never the ingest.

Queries do not go through it: a question is one short text, embedded in ~25 ms, rarely
asked twice word for word, and caching it would put a SQLite write on every request of
every API worker.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

import numpy as np

from assistant.embed import Embedder, Vectors, make_embedder
from assistant.settings import Settings
from assistant.sqlite_files import file_identity, is_damaged

__all__ = ["CachedEmbedder", "EmbeddingCache", "cache_key", "ingest_embedder"]

log = logging.getLogger(__name__)

# Bump when the stored format changes: a file of another version is set aside.
_FORMAT = 1
# SQLite limits bound parameters per statement; lookups go in chunks well under it.
_CHUNK = 500
# Little-endian float32: 1.5 KB for an e5 vector, the same bytes on any machine.
_DTYPE = np.dtype("<f4")

Arg = TypeVar("Arg")
Out = TypeVar("Out")
Rows = list[tuple[bytes, bytes]]


def cache_key(identity: str, text: str) -> bytes:
    """The embedder's identity (model, version, prefix) and the exact text, hashed."""
    return hashlib.sha256(f"{identity}\x00{text}".encode()).digest()


class EmbeddingCache:
    """Vectors by key in one SQLite file. WAL: readers never wait and writers take turns,
    so several processes can use one file at once."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._inode: tuple[int, int] | None = None
        with self._lock:
            self._open()

    def get(self, keys: Sequence[bytes]) -> dict[bytes, Vectors]:
        rows = self._run(_select, keys) or []
        # A row of a length no vector has is damaged: leave it out, and it is recomputed.
        return {
            key: np.frombuffer(blob, dtype=_DTYPE)
            for key, blob in rows
            if blob and len(blob) % _DTYPE.itemsize == 0
        }

    def put(self, vectors: Mapping[bytes, Vectors]) -> None:
        rows = [(key, np.asarray(v, dtype=_DTYPE).tobytes()) for key, v in vectors.items()]
        self._run(_insert, rows)

    def __len__(self) -> int:
        return self._run(_count, None) or 0

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def _run(self, op: Callable[[sqlite3.Connection, Arg], Out], arg: Arg) -> Out | None:
        """`op` on the database; None (a miss, a skipped write) if the cache fails."""
        with self._lock:
            for attempt in range(2):
                if self._db is None:
                    return None
                try:
                    return op(self._db, arg)
                except sqlite3.DatabaseError as exc:
                    if not _is_corrupt(exc) or attempt:
                        log.warning("embedding cache %s: %s; going on without it", self.path, exc)
                        return None
                    self._set_aside(exc)
                    self._open()
        return None

    def _open(self) -> None:
        try:
            self._connect()
        except sqlite3.DatabaseError as exc:
            if not _is_corrupt(exc):
                self._give_up(exc)
                return
            self._set_aside(exc)
            try:
                self._connect()
            except (sqlite3.Error, OSError) as again:
                self._give_up(again)
        except OSError as exc:
            self._give_up(exc)

    def _connect(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Taken before connecting: if another process replaces a bad file after this, we
        # must not set its new one aside (see `_set_aside`).
        self._inode = file_identity(self.path)
        db = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            # A crash may lose the last writes but never corrupts the file in WAL mode,
            # and lost writes are only misses.
            db.execute("PRAGMA synchronous=NORMAL")
            if db.execute("PRAGMA user_version").fetchone()[0] not in (0, _FORMAT):
                raise _OtherFormat(f"user_version is not {_FORMAT}")
            with db:
                db.execute(
                    "CREATE TABLE IF NOT EXISTS vectors "
                    "(key BLOB PRIMARY KEY, vector BLOB NOT NULL) WITHOUT ROWID"
                )
                db.execute(f"PRAGMA user_version = {_FORMAT}")
        except BaseException:
            db.close()
            raise
        self._inode = self._inode or file_identity(self.path)
        self._db = db

    def _set_aside(self, reason: Exception) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
        if file_identity(self.path) not in (self._inode, None):
            return  # another process has already set it aside and begun a new one
        aside = self.path.with_name(f"{self.path.name}.corrupt-{int(time.time())}-{os.getpid()}")
        try:
            os.replace(self.path, aside)
            for suffix in ("-wal", "-shm"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
        except FileNotFoundError:
            return
        except OSError as exc:  # e.g. a read-only folder: reconnecting fails, and we give up
            log.warning(
                "embedding cache %s is unreadable (%s) and stays: %s", self.path, reason, exc
            )
            return
        log.warning(
            "embedding cache %s is unreadable (%s): moved it to %s, starting a new one",
            self.path,
            reason,
            aside.name,
        )

    def _give_up(self, reason: BaseException) -> None:
        self._db = None
        log.warning(
            "embedding cache %s cannot be used (%s); embedding without it", self.path, reason
        )


class CachedEmbedder:
    """An `Embedder` that takes what it can from the cache and computes only the rest."""

    def __init__(self, inner: Embedder, cache: EmbeddingCache) -> None:
        self.inner = inner
        self.cache = cache
        self.name = inner.name
        self.identity = inner.identity

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        return self.embed_counting(texts)[0]

    def embed_query(self, text: str) -> Vectors:
        return self.inner.embed_query(text)

    def embed_counting(self, texts: Sequence[str]) -> tuple[Vectors, int]:
        """The vectors of `texts`, and how many of them were computed (not cached)."""
        if not texts:
            return np.zeros((0, 0), dtype=np.float32), 0
        keys = [cache_key(self.identity, text) for text in texts]
        found = self.cache.get(keys)
        missing = {key: text for key, text in zip(keys, texts, strict=True) if key not in found}
        if missing:
            computed = self.inner.embed_passages(list(missing.values()))
            fresh = dict(zip(missing, computed, strict=True))
            self.cache.put(fresh)
            found.update(fresh)
        if len({vector.shape for vector in found.values()}) > 1:
            # Only a damaged row can disagree with the model's dimension: start afresh.
            vectors = self.inner.embed_passages(texts)
            self.cache.put(dict(zip(keys, vectors, strict=True)))
            return vectors, len(texts)
        return np.stack([found[key] for key in keys]), len(missing)


def ingest_embedder(settings: Settings) -> Embedder:
    """The configured embedder behind the embedding cache (unless that is switched off)."""
    embedder = make_embedder(settings)
    if not settings.embedding_cache:
        return embedder
    return CachedEmbedder(
        embedder, EmbeddingCache(settings.vectorstore_dir / settings.embedding_cache)
    )


def _select(db: sqlite3.Connection, keys: Sequence[bytes]) -> Rows:
    rows: Rows = []
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start : start + _CHUNK]
        marks = ",".join("?" * len(chunk))
        cursor = db.execute(f"SELECT key, vector FROM vectors WHERE key IN ({marks})", chunk)
        rows.extend(cursor)
    return rows


def _insert(db: sqlite3.Connection, rows: Rows) -> None:
    with db:
        db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?)", rows)


def _count(db: sqlite3.Connection, _: None) -> int:
    return int(db.execute("SELECT count(*) FROM vectors").fetchone()[0])


class _OtherFormat(sqlite3.DatabaseError):
    """A SQLite file, but not one this version of the cache wrote."""


def _is_corrupt(exc: sqlite3.DatabaseError) -> bool:
    if isinstance(exc, _OtherFormat):
        return True
    return is_damaged(exc)
