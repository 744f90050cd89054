"""The Chroma side: one collection of segments, one small collection of episodes.

The episodes collection is the manifest that makes re-ingest cheap: an episode's entry is
written only after all its segments are, so an entry whose hash matches the parsed file
means the segments are complete and current. Both collections work the same on the
embedded `PersistentClient` and on a Chroma server.

A Chroma server can stop and come back while we run. Every call to it has a timeout, and
a call that cannot reach it raises `StoreUnavailable`, which callers may retry: the
client and collection handles stay valid across a server restart on the same data.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import chromadb
import httpx
import numpy as np
from chromadb.config import Settings as ChromaSettings

from assistant.embed import Embedder, Vectors, collection_name, passage_text
from assistant.models import Episode, Segment
from assistant.segment import SEGMENTATION_VERSION
from assistant.settings import Settings

__all__ = [
    "Record",
    "SegmentStore",
    "StoreUnavailable",
    "open_client",
    "open_store",
    "segment_record",
]

Metadata = dict[str, str | int | float | bool | list[str]]
_LIST_METADATA = ("tags", "people", "companies", "products")
# Chroma rejects very large requests; reads and deletes are chunked to stay well under.
_CHUNK = 500
# The manifest collection needs vectors too; a constant one is all it stores.
_NO_VECTOR = [1.0]


@dataclass(frozen=True)
class Record:
    """One segment as Chroma stores it (the vector is added at write time)."""

    id: str
    document: str
    metadata: Metadata

    @property
    def content_hash(self) -> str:
        return str(self.metadata["content_hash"])

    @property
    def record_hash(self) -> str:
        return str(self.metadata["record_hash"])


def segment_record(episode: Episode, segment: Segment) -> Record:
    metadata: Metadata = {
        "episode_id": episode.id,
        "title": episode.title,
        "date": episode.date,
        "date_int": episode.date_int,
        "speaker": episode.speaker,
        "turn_speaker": segment.turn_speaker,
        "section": segment.section,
        "position": segment.position,
        "line": segment.line,
        "source_url": episode.source_url,
        "file": episode.file,
        "category": episode.category,
        "text_zh": segment.text_zh,
        "text_en": segment.text_en,
        "content_hash": segment.content_hash,
    }
    for key in _LIST_METADATA:
        values: list[str] = getattr(episode, key)
        if values:  # Chroma rejects empty lists
            metadata[key] = values
    document = passage_text(segment)
    metadata["record_hash"] = _hash(
        json.dumps(metadata, sort_keys=True, ensure_ascii=False), document
    )
    return Record(segment.id, document, metadata)


def episode_hash(episode: Episode, records: Sequence[Record]) -> str:
    front = json.dumps(episode.front_matter, sort_keys=True, ensure_ascii=False, default=str)
    return _hash(episode.file, front, *(r.record_hash for r in records))


class StoreUnavailable(RuntimeError):
    """The Chroma server cannot be reached (stopped, restarting, or not answering in time).

    Worth retrying later: nothing is wrong with the request or the data.
    """


@contextmanager
def _reachable() -> Iterator[None]:
    try:
        yield
    except httpx.TransportError as exc:  # refused, reset, timed out, cut mid-answer
        raise StoreUnavailable(f"the Chroma server did not answer ({_reason(exc)})") from exc


def _reason(exc: httpx.TransportError) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def open_client(settings: Settings) -> Any:
    telemetry = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_url:
        url = urlparse(settings.chroma_url)
        timeout = httpx.Timeout(settings.chroma_timeout, connect=settings.chroma_connect_timeout)
        with _reachable():
            # The client's constructor asks the server who we are, with no timeout: a
            # heartbeat first keeps a hung server from hanging start-up.
            heartbeat = httpx.get(
                f"{settings.chroma_url.rstrip('/')}/api/v2/heartbeat", timeout=timeout
            )
            if heartbeat.is_error:  # e.g. a proxy in front of a stopped server
                raise StoreUnavailable(f"the Chroma server's heartbeat: {heartbeat.status_code}")
            client = chromadb.HttpClient(
                host=url.hostname or "127.0.0.1",
                port=url.port or (443 if url.scheme == "https" else 8000),
                ssl=url.scheme == "https",
                settings=telemetry,
            )
        _set_timeout(client, timeout)
        return client
    settings.vectorstore_dir.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.vectorstore_dir), settings=telemetry)


def _set_timeout(client: Any, timeout: httpx.Timeout) -> None:
    """chromadb's HTTP session waits forever (timeout=None) and has no setting for it."""
    session = getattr(getattr(client, "_server", None), "_session", None)
    if not isinstance(session, httpx.Client):
        raise RuntimeError("this chromadb version hides its HTTP session: cannot set timeouts")
    session.timeout = timeout


def open_store(settings: Settings, embedder: Embedder) -> SegmentStore:
    return SegmentStore(
        open_client(settings), embedder, settings.collection_prefix, reopen=reopener(settings)
    )


def reopener(settings: Settings) -> Callable[[], Any] | None:
    """How `SegmentStore.catch_up` gets a fresh client: only an embedded one needs it."""
    return None if settings.chroma_url else lambda: open_client(settings)


class SegmentStore:
    def __init__(
        self,
        client: Any,
        embedder: Embedder,
        prefix: str = "segments",
        *,
        reopen: Callable[[], Any] | None = None,
    ) -> None:
        """`reopen` opens a new client on the same data, for `catch_up`."""
        self.embedder = embedder
        self.name = collection_name(prefix, embedder, SEGMENTATION_VERSION)
        self._meta = {"embedder": embedder.name, "segmentation_version": SEGMENTATION_VERSION}
        self._reopen = reopen
        gate = _Gate()
        self._gate = gate
        self.segments = Collection(gate)
        self.episodes = Collection(gate)
        self._bind(client)

    def _bind(self, client: Any) -> None:
        with _reachable():
            segments = client.get_or_create_collection(
                self.name,
                embedding_function=None,
                configuration={"hnsw": {"space": "cosine"}},
                metadata=self._meta,
            )
            episodes = client.get_or_create_collection(
                self.name + "-episodes", embedding_function=None, metadata=self._meta
            )
        self.client = client
        self.segments.collection = segments
        self.episodes.collection = episodes

    def catch_up(self) -> None:
        """Make the next reads of vectors see what other processes wrote.

        An embedded Chroma loads a collection's vector index once, then applies only its
        own process's writes: a segment another process added since is in its metadata
        (read live from SQLite) but not in its vectors, and reading it fails with "Error
        finding id" for as long as the process lives (chroma-core/chroma#3792). Closing
        the client and opening a new one loads the index as it is now (40 ms on a
        small index). Chroma calls from other threads wait meanwhile. A Chroma server
        holds one index for all its clients: there is nothing to catch up.

        The new client is new only if this store held the process's last client on the
        path: chromadb shares one engine between the clients of a path.
        """
        if self._reopen is None:
            return
        with self._gate.exclusive():
            self.client.close()
            self._bind(self._reopen())

    # --- reads -------------------------------------------------------------------------

    def manifest(self) -> dict[str, dict[str, Any]]:
        """Every indexed episode's manifest entry, by episode id."""
        found = self.episodes.get(include=["metadatas"])
        return dict(zip(found["ids"], found["metadatas"] or [], strict=True))

    def episode_records(self, episode_id: str) -> dict[str, dict[str, Any]]:
        """The stored metadata of an episode's segments, by segment id."""
        found = self.segments.get(where={"episode_id": episode_id}, include=["metadatas"])
        return dict(zip(found["ids"], found["metadatas"] or [], strict=True))

    def episode(self, episode_id: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """An episode's manifest entry and its front matter, or None."""
        found = self.episodes.get(ids=[episode_id], include=["metadatas", "documents"])
        if not found["ids"]:
            return None
        front = json.loads((found["documents"] or ["{}"])[0] or "{}")
        return (found["metadatas"] or [{}])[0], front

    def episode_segments(self, episode_id: str) -> list[tuple[str, dict[str, Any]]]:
        """An episode's segments as (id, metadata), in document order."""
        found = self.segments.get(where={"episode_id": episode_id}, include=["metadatas"])
        pairs = zip(found["ids"], found["metadatas"] or [], strict=True)
        return sorted(pairs, key=lambda pair: int(pair[1].get("position", 0)))

    def vectors(self, ids: Sequence[str]) -> dict[str, Vectors]:
        out: dict[str, Vectors] = {}
        for chunk in _chunks(ids):
            found = self.segments.get(ids=list(chunk), include=["embeddings"])
            out.update(zip(found["ids"], found["embeddings"], strict=True))
        return out

    def count(self) -> int:
        return self.segments.count()

    # --- writes ------------------------------------------------------------------------

    def upsert(self, records: Sequence[Record], vectors: Sequence[Any]) -> None:
        if records:
            self.segments.upsert(
                ids=[r.id for r in records],
                documents=[r.document for r in records],
                metadatas=[r.metadata for r in records],
                embeddings=np.asarray(vectors, dtype=np.float32),
            )

    def delete(self, ids: Sequence[str]) -> None:
        for chunk in _chunks(ids):
            self.segments.delete(ids=list(chunk))

    def put_episode(self, episode: Episode, digest: str) -> Metadata:
        metadata: Metadata = {
            "file": episode.file,
            "title": episode.title,
            "date": episode.date,
            "date_int": episode.date_int,
            "speaker": episode.speaker,
            "category": episode.category,
            "source_url": episode.source_url,
            "segment_count": len(episode.segments),
            "episode_hash": digest,
        }
        for key in _LIST_METADATA:
            if values := getattr(episode, key):
                metadata[key] = values
        document = json.dumps(episode.front_matter, ensure_ascii=False, default=str)
        self.episodes.upsert(
            ids=[episode.id], embeddings=[_NO_VECTOR], metadatas=[metadata], documents=[document]
        )
        return metadata

    def delete_episode(self, episode_id: str) -> int:
        """Remove an episode and all its segments; returns the number of segments removed."""
        stale = list(self.episode_records(episode_id))
        self.delete(stale)
        self.episodes.delete(ids=[episode_id])
        return len(stale)


class Collection:
    """A Chroma collection whose calls raise `StoreUnavailable` when the server is gone,
    and wait while `SegmentStore.catch_up` swaps the client under them.

    Retrieval and the lexical sync call these directly; the wrapper is what lets every
    caller tell an outage from a bug without knowing Chroma's transport.
    """

    def __init__(self, gate: _Gate) -> None:
        self.collection: Any = None
        self._gate = gate

    def get(self, *args: Any, **kwargs: Any) -> Any:
        with self._gate.shared(), _reachable():
            return self.collection.get(*args, **kwargs)

    def query(self, *args: Any, **kwargs: Any) -> Any:
        with self._gate.shared(), _reachable():
            return self.collection.query(*args, **kwargs)

    def upsert(self, *args: Any, **kwargs: Any) -> None:
        with self._gate.shared(), _reachable():
            self.collection.upsert(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> None:
        with self._gate.shared(), _reachable():
            self.collection.delete(*args, **kwargs)

    def count(self) -> int:
        with self._gate.shared(), _reachable():
            return int(self.collection.count())


class _Gate:
    """Any number of Chroma calls at once, or one swap of the client with none."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._calls = 0
        self._swapping = False

    @contextmanager
    def shared(self) -> Iterator[None]:
        with self._changed:
            self._changed.wait_for(lambda: not self._swapping)
            self._calls += 1
        try:
            yield
        finally:
            with self._changed:
                self._calls -= 1
                self._changed.notify_all()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._changed:
            self._changed.wait_for(lambda: not self._swapping)
            self._swapping = True  # new calls wait from here; running ones finish
            self._changed.wait_for(lambda: self._calls == 0)
        try:
            yield
        finally:
            with self._changed:
                self._swapping = False
                self._changed.notify_all()


def _hash(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:16]


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]
