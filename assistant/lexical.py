"""Our own BM25 index, because Chroma's local mode has none.

Tokens come from jieba for Chinese and a light normaliser for English, over both sides of
a segment, so a query in either language matches either side. The tokens are persisted in
SQLite beside the Chroma data, one row per segment, with each episode's manifest hash, so
the index is kept in step with ingest episode by episode and checked against Chroma's
manifest on open (and repaired from Chroma where they differ) instead of being rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
import sqlite3
from collections import Counter
from collections.abc import Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from scipy import sparse

from assistant.sqlite_files import file_identity, is_damaged

if TYPE_CHECKING:
    from assistant.index import SegmentStore

__all__ = [
    "BM25",
    "LexicalStore",
    "Row",
    "episode_facts",
    "sync_episode",
    "sync_lexical",
    "tokenize",
]

# Bump when `tokenize` changes: stored tokens of another version are rebuilt from Chroma.
# The store's format: the tokenizer's version, and since 4 each segment's vector beside
# its tokens (for exact filtered dense search, see retrieve.py).
TOKENIZER_VERSION = 4

_CJK_RUN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
_LATIN_WORD = re.compile(r"[a-z0-9]+(?:[.'’-][a-z0-9]+)*%?")
_EN_STOP = frozenset(
    """a about above after again all also am an and any are as at be because been before
    being between both but by can could did do does doing down during each few for from
    further had has have having he her here hers him his how i if in into is it its just
    me more most my no nor not now of off on once only or other our out over own same she
    should so some such than that the their them then there these they this those through
    to too under until up very was we were what when where which while who whom why will
    with would you your yours uh um like yeah okay oh gonna kind sort really thing things
    said say says tell told know think get got going one two much many according host
    episode video podcast show clip talk mention mentioned""".split()
)
_ZH_STOP = frozenset(
    """的 了 是 在 我 你 他 她 它 们 我们 你们 他们 这 那 这个 那个 就 都 也 和 与 及 或 而
    一个 有 没有 吗 呢 吧 啊 呀 说 对 会 要 能 可以 就是 什么 怎么 如何 为什么 哪 哪些 谁
    是否 以及 还 又 很 被 把 让 给 到 从 向 于 之 其 中 上 下 里 个 些 种 所 所以 因为 但
    但是 如果 然后 这样 那样 这些 那些 关于 认为 觉得 表示 提到 谈到 讲 问题 一下 多少 哪位
    哪家 哪个 哪些 怎样 什么样 节目 视频 主播 主持人 期 里 时 大概 当时 一期""".split()
)


@cache
def _jieba() -> object:
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


def _stem(word: str) -> str:
    if word.endswith(("'s", "’s")):
        word = word[:-2]
    if len(word) > 3 and not word[-1].isdigit():
        if word.endswith("ies"):
            return word[:-3] + "y"
        if word.endswith("s") and not word.endswith(("ss", "us", "is")):
            return word[:-1]
    return word


def tokenize(text: str) -> list[str]:
    """Search terms of a text in Chinese, English or both, stopwords dropped."""
    tokens: list[str] = []
    lowered = text.lower()
    for word in _LATIN_WORD.findall(_CJK_RUN.sub(" ", lowered)):
        if word in _EN_STOP or (len(word) < 2 and not word.isdigit()):
            continue
        tokens.append(_stem(word))
    runs = _CJK_RUN.findall(text)
    if runs:
        cut = _jieba().lcut_for_search  # type: ignore[attr-defined]
        for run in runs:
            tokens.extend(t for t in cut(run) if t not in _ZH_STOP)
    return tokens


@dataclass(frozen=True)
class Row:
    id: str
    episode_id: str
    turn_speaker: str
    tokens: Sequence[str]


def episode_facts(episode_id: str, entry: dict[str, Any]) -> dict[str, Any]:
    """What the lexical store keeps of a manifest entry: the facts filters need."""
    return {
        "episode_id": episode_id,
        "speaker": str(entry.get("speaker", "")),
        "date_int": int(entry.get("date_int") or 0),
        "people": list(entry.get("people") or []),
        "companies": list(entry.get("companies") or []),
        "tags": list(entry.get("tags") or []),
        "products": list(entry.get("products") or []),
    }


class LexicalStore:
    """The persisted tokens: one SQLite file beside the Chroma data.

    Several processes share it (API workers, ingest). It is derived from Chroma, so a
    damaged file is deleted and rebuilt, and one deleted or replaced under an open
    connection is reopened (see `replaced`).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = self._connect()
        except sqlite3.DatabaseError as exc:
            if not is_damaged(exc):
                raise
            _remove(path)
            self._db = self._connect()
        self._identity = file_identity(path)

    def replaced(self) -> bool:
        """Whether the file was deleted or replaced (by hand, or by another process that
        rebuilt it) since it was opened: this connection then reads a file no one sees."""
        return file_identity(self.path) != self._identity

    def discard(self) -> None:
        """Close, and delete the file (found unreadable) unless it was already replaced."""
        self.close()
        if not self.replaced():
            _remove(self.path)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
        # A rollback journal, not WAL: WAL's -wal and -shm files outlive a deleted or
        # replaced database, and are replayed into (or deleted from under) the new one.
        # Busy while a process of an older version holds it in WAL mode, which still works.
        with suppress(sqlite3.OperationalError):
            db.execute("PRAGMA journal_mode=DELETE")
        if db.execute("PRAGMA user_version").fetchone()[0] != TOKENIZER_VERSION:
            # Tokens from another tokenizer version are stale: start over, sync refills.
            db.executescript("DROP TABLE IF EXISTS segments; DROP TABLE IF EXISTS episodes;")
            db.execute(f"PRAGMA user_version = {TOKENIZER_VERSION}")
        db.executescript(
            """
            CREATE TABLE IF NOT EXISTS segments (
                id TEXT PRIMARY KEY, episode_id TEXT NOT NULL,
                turn_speaker TEXT NOT NULL, tokens TEXT NOT NULL, vector BLOB NOT NULL);
            CREATE INDEX IF NOT EXISTS segments_episode ON segments(episode_id);
            CREATE TABLE IF NOT EXISTS episodes (
                episode_id TEXT PRIMARY KEY, episode_hash TEXT NOT NULL, facts TEXT NOT NULL);
            """
        )
        db.execute("SELECT count(*) FROM segments").fetchone()
        return db

    def episode_hashes(self) -> dict[str, str]:
        return dict(self._db.execute("SELECT episode_id, episode_hash FROM episodes"))

    def version(self) -> str:
        """A digest of every episode's hash: changes whenever the contents do."""
        rows = self._db.execute("SELECT episode_id, episode_hash FROM episodes ORDER BY episode_id")
        return hashlib.sha256(repr(rows.fetchall()).encode()).hexdigest()[:16]

    def episodes(self) -> list[dict[str, Any]]:
        cursor = self._db.execute("SELECT facts FROM episodes ORDER BY episode_id")
        return [json.loads(facts) for (facts,) in cursor]

    def replace_episode(
        self, episode_id: str, entry: dict[str, Any], rows: Iterable[tuple[str, str, str, Any]]
    ) -> None:
        """Set an episode's segments to `rows` of (id, text, turn speaker, vector),
        atomically. `entry` is the episode's manifest entry from Chroma; its hash marks
        the version.
        """
        tokenized = [
            (sid, episode_id, turn, " ".join(tokenize(text)), _blob(vector))
            for sid, text, turn, vector in rows
        ]
        facts = json.dumps(episode_facts(episode_id, entry), ensure_ascii=False)
        with self._db:
            self._db.execute("DELETE FROM segments WHERE episode_id = ?", (episode_id,))
            self._db.executemany(
                "INSERT OR REPLACE INTO segments VALUES (?, ?, ?, ?, ?)", tokenized
            )
            self._db.execute(
                "INSERT OR REPLACE INTO episodes VALUES (?, ?, ?)",
                (episode_id, str(entry.get("episode_hash", "")), facts),
            )

    def delete_episode(self, episode_id: str) -> None:
        with self._db:
            self._db.execute("DELETE FROM segments WHERE episode_id = ?", (episode_id,))
            self._db.execute("DELETE FROM episodes WHERE episode_id = ?", (episode_id,))

    def rows(self) -> tuple[list[Row], npt.NDArray[np.float32]]:
        """Every segment, and the matrix of their vectors in the same order."""
        cursor = self._db.execute(
            "SELECT id, episode_id, turn_speaker, tokens, vector FROM segments "
            "ORDER BY episode_id, id"
        )
        rows, blobs = [], []
        for sid, eid, turn, tokens, vector in cursor:
            rows.append(Row(sid, eid, turn, tokens.split()))
            blobs.append(vector)
        width = len(blobs[0]) // 4 if blobs else 0
        if any(len(b) != width * 4 for b in blobs):
            raise sqlite3.DatabaseError("vectors of different lengths: malformed lexical store")
        matrix = np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(blobs), width)
        return rows, matrix

    def close(self) -> None:
        self._db.close()


def _blob(vector: Any) -> bytes:
    return np.asarray(vector, dtype=np.float32).tobytes()


def _remove(path: Path) -> None:
    # The journals of a deleted database go too, or its replacement would replay them.
    for suffix in ("", "-journal", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


class BM25:
    """Okapi BM25 over a sparse document-term matrix of precomputed term weights."""

    def __init__(self, docs: Sequence[Sequence[str]], k1: float = 1.2, b: float = 0.75):
        vocabulary: dict[str, int] = {}
        indptr = [0]
        indices: list[int] = []
        counts: list[int] = []
        for tokens in docs:
            for term, count in Counter(tokens).items():
                indices.append(vocabulary.setdefault(term, len(vocabulary)))
                counts.append(count)
            indptr.append(len(indices))
        self.vocabulary = vocabulary
        n_docs = max(len(docs), 1)
        tf = sparse.csr_matrix(
            (np.asarray(counts, dtype=np.float32), indices, indptr),
            shape=(len(docs), len(vocabulary)),
        )
        lengths = np.asarray(tf.sum(axis=1)).ravel()
        df = np.bincount(np.asarray(indices, dtype=np.int64), minlength=len(vocabulary))
        self.idf = np.log1p((n_docs - df + 0.5) / (df + 0.5)).astype(np.float32)
        # Unknown query terms count as rarer than any indexed term.
        self.max_idf = float(math.log1p((n_docs + 0.5) / 0.5))
        norm = k1 * (1 - b + b * lengths / max(float(lengths.mean()) if len(docs) else 1, 1))
        tf = tf.tocoo()
        weights = tf.data * (k1 + 1) / (tf.data + norm[tf.row]) * self.idf[tf.col]
        self._weights = sparse.csc_matrix(
            (weights.astype(np.float32), (tf.row, tf.col)), shape=tf.shape
        )
        self.size = len(docs)

    @classmethod
    def from_arrays(
        cls,
        vocabulary: Sequence[str],
        idf: npt.NDArray[np.float32],
        max_idf: float,
        weights: sparse.csc_matrix,
    ) -> BM25:
        """A BM25 as `arrays()` described it (see assistant/snapshot.py)."""
        bm25 = cls.__new__(cls)
        bm25.vocabulary = {term: i for i, term in enumerate(vocabulary)}
        bm25.idf, bm25.max_idf, bm25._weights = idf, max_idf, weights
        bm25.size = weights.shape[0]
        return bm25

    def arrays(self) -> tuple[list[str], npt.NDArray[np.float32], float, sparse.csc_matrix]:
        """Everything a BM25 is: vocabulary in column order, idf, max idf, weights."""
        return list(self.vocabulary), self.idf, self.max_idf, self._weights

    def scores(self, query_tokens: Sequence[str]) -> npt.NDArray[np.float32]:
        columns = [self.vocabulary[t] for t in set(query_tokens) if t in self.vocabulary]
        if not columns:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self._weights[:, columns].sum(axis=1), dtype=np.float32).ravel()

    def rows_with(self, term: str) -> npt.NDArray[np.int32]:
        """The documents that contain `term`."""
        index = self.vocabulary.get(term)
        if index is None:
            return np.zeros(0, dtype=np.int32)
        column = self._weights.indptr[index], self._weights.indptr[index + 1]
        return np.asarray(self._weights.indices[column[0] : column[1]], dtype=np.int32)

    def term_idf(self, term: str) -> float:
        index = self.vocabulary.get(term)
        return float(self.idf[index]) if index is not None else self.max_idf


def sync_episode(
    store: SegmentStore, lexical: LexicalStore, episode_id: str, entry: dict[str, Any]
) -> None:
    """Copy one episode's segments, as Chroma holds them, into the lexical store."""
    found = store.segments.get(
        where={"episode_id": episode_id}, include=["documents", "metadatas", "embeddings"]
    )
    rows = [
        (sid, doc or "", str(meta.get("turn_speaker", "")), vector)
        for sid, doc, meta, vector in zip(
            found["ids"],
            found["documents"] or [],
            found["metadatas"] or [],
            found["embeddings"] if found["embeddings"] is not None else [],
            strict=True,
        )
    ]
    lexical.replace_episode(episode_id, entry, rows)


def sync_lexical(store: SegmentStore, lexical: LexicalStore) -> int:
    """Bring the lexical store in step with Chroma's manifest; returns episodes changed.

    Cheap when nothing changed (one read of the manifest), so it runs on every open: this
    is what repairs a missing or stale lexical file, or one left behind by another process.
    """
    manifest = store.manifest()
    known = lexical.episode_hashes()
    behind = {eid: e for eid, e in manifest.items() if known.get(eid) != e.get("episode_hash")}
    if behind:
        # Their vectors may have been written by another process (see `catch_up`).
        store.catch_up()
    for episode_id, entry in behind.items():
        sync_episode(store, lexical, episode_id, entry)
    changed = len(behind)
    for episode_id in set(known) - set(manifest):
        lexical.delete_episode(episode_id)
        changed += 1
    return changed
