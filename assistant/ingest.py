"""Archive → index, incrementally: parse every file, diff against the index, embed only
what changed, and write each episode's manifest entry last.

Any interruption (Ctrl-C, SIGKILL) leaves an index whose finished episodes are complete;
an unfinished one has no current manifest entry, so the next run diffs it segment by
segment and completes it. Ids are deterministic, so nothing is ever duplicated.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from assistant.embed import Embedder, Vectors
from assistant.embed_cache import CachedEmbedder
from assistant.index import Record, SegmentStore, episode_hash, segment_record
from assistant.lexical import LexicalStore, sync_episode, sync_lexical
from assistant.models import Episode
from assistant.parse import ParseError, read_episode

__all__ = [
    "EpisodeWork",
    "FileResult",
    "IngestReport",
    "Progress",
    "discover",
    "ingest",
    "parse_files",
    "plan_episode",
]

Status = Literal["added", "updated", "unchanged", "failed", "pruned"]


class Progress(Protocol):
    """Told how much work there is, then of each embedded batch and finished episode."""

    def start(self, episodes: int, segments: int) -> None: ...

    def segments_done(self, count: int) -> None: ...

    def episode_done(self, result: FileResult) -> None: ...


class _NoProgress:
    def start(self, episodes: int, segments: int) -> None:
        pass

    def segments_done(self, count: int) -> None:
        pass

    def episode_done(self, result: FileResult) -> None:
        pass


@dataclass
class FileResult:
    file: str
    status: Status
    episode_id: str = ""
    segments: int = 0
    embedded: int = 0  # vectors computed by the embedder
    cached: int = 0  # vectors taken from the embedding cache instead
    written: int = 0
    deleted: int = 0
    error: str = ""


@dataclass
class IngestReport:
    results: list[FileResult] = field(default_factory=list)
    seconds: float = 0.0
    interrupted: bool = False

    def count(self, status: Status) -> int:
        return sum(1 for r in self.results if r.status == status)

    @property
    def embedded(self) -> int:
        return sum(r.embedded for r in self.results)

    @property
    def cached(self) -> int:
        return sum(r.cached for r in self.results)

    @property
    def written(self) -> int:
        return sum(r.written for r in self.results)

    @property
    def deleted(self) -> int:
        return sum(r.deleted for r in self.results)

    @property
    def failures(self) -> list[FileResult]:
        return [r for r in self.results if r.status == "failed"]


@dataclass
class EpisodeWork:
    """What one changed episode needs: new vectors, reused vectors, deletions."""

    episode: Episode
    digest: str
    is_new: bool
    to_embed: list[Record]
    to_reuse: list[tuple[Record, str]]  # (record, id of a stored segment with that content)
    to_delete: list[str]


def discover(paths: Iterable[Path]) -> list[Path]:
    """Markdown files under `paths`. In folders, README.md and dot/underscore files are
    skipped (archives carry a README); a file named explicitly is always taken."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*.md")):
                rel = child.relative_to(path).parts
                if child.name.lower() == "readme.md" or any(p[0] in "._" for p in rel):
                    continue
                found.append(child)
        else:
            found.append(path)
    unique: dict[Path, None] = {}
    for file in found:
        unique.setdefault(file.resolve() if file.exists() else file, None)
    return list(unique)


# Below this many files one process parses faster than starting a pool.
_PARALLEL_FROM = 200


def _read(file: Path, max_bytes: int) -> Episode | str:
    """`read_episode`, with the failure as its reason (plain values cross processes)."""
    try:
        return read_episode(file, max_bytes)
    except ParseError as exc:
        return exc.reason


def parse_files(files: Sequence[Path], max_bytes: int) -> tuple[list[Episode], list[FileResult]]:
    """Parse every file; a bad file or a second file claiming an episode id is a failure.

    Parsing is pure and CPU-bound, so a large archive is parsed on every core.
    """
    if len(files) >= _PARALLEL_FROM and (os.cpu_count() or 1) > 1:
        with ProcessPoolExecutor() as pool:
            parsed = list(pool.map(_read, files, [max_bytes] * len(files), chunksize=32))
    else:
        parsed = [_read(file, max_bytes) for file in files]
    episodes: list[Episode] = []
    failures: list[FileResult] = []
    owner: dict[str, str] = {}
    for file, result in zip(files, parsed, strict=True):
        if isinstance(result, str):
            failures.append(FileResult(str(file), "failed", error=result))
        elif result.id in owner:
            taken = f"episode id {result.id} is already taken by {owner[result.id]}"
            failures.append(FileResult(str(file), "failed", episode_id=result.id, error=taken))
        else:
            owner[result.id] = result.file
            episodes.append(result)
    return episodes, failures


def plan_episode(
    episode: Episode, manifest_entry: dict[str, Any] | None, store: SegmentStore
) -> EpisodeWork | None:
    """None when the index already holds exactly this episode."""
    records = [segment_record(episode, s) for s in episode.segments]
    digest = episode_hash(episode, records)
    if manifest_entry and manifest_entry.get("episode_hash") == digest:
        return None
    stored = store.episode_records(episode.id)
    by_content = {str(meta["content_hash"]): sid for sid, meta in stored.items()}
    to_embed: list[Record] = []
    to_reuse: list[tuple[Record, str]] = []
    for record in records:
        current = stored.get(record.id)
        if current and current.get("record_hash") == record.record_hash:
            continue
        source = by_content.get(record.content_hash)
        if source:
            to_reuse.append((record, source))
        else:
            to_embed.append(record)
    wanted = {r.id for r in records}
    return EpisodeWork(
        episode=episode,
        digest=digest,
        is_new=manifest_entry is None and not stored,
        to_embed=to_embed,
        to_reuse=to_reuse,
        to_delete=[sid for sid in stored if sid not in wanted],
    )


def ingest(
    paths: Iterable[Path],
    store: SegmentStore,
    *,
    max_bytes: int,
    batch_size: int = 32,
    prune: bool = False,
    progress: Progress | None = None,
    lexical: LexicalStore | None = None,
) -> IngestReport:
    """Index `paths` into `store` (and keep `lexical` in step with it)."""
    started = time.perf_counter()
    progress = progress or _NoProgress()
    report = IngestReport()
    episodes, failures = parse_files(discover(paths), max_bytes)
    report.results.extend(failures)

    manifest = store.manifest()
    work: list[EpisodeWork] = []
    for episode in episodes:
        planned = plan_episode(episode, manifest.get(episode.id), store)
        if planned is None:
            report.results.append(
                FileResult(episode.file, "unchanged", episode.id, len(episode.segments))
            )
        else:
            work.append(planned)

    progress.start(len(work), sum(len(w.to_embed) for w in work))
    writer = _Writer()
    try:
        for item in work:
            report.results.append(_apply(item, store, batch_size, progress, lexical, writer))
        writer.drain()
        if prune:
            seen = {e.id for e in episodes} | {r.episode_id for r in failures}
            report.results.extend(_prune(manifest, seen, store))
        if lexical is not None:
            sync_lexical(store, lexical)
    except KeyboardInterrupt:
        report.interrupted = True
    finally:
        # Writes already queued finish, so every batch is whole; queued ones are dropped.
        writer.close()
    report.seconds = time.perf_counter() - started
    return report


class _Writer:
    """Writes to Chroma and the lexical store on one background thread, in order, while
    the next batch is embedded: the embedder and Chroma both release the GIL."""

    _MAX_PENDING = 4

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="ingest-writer")
        self._pending: list[Future[None]] = []

    def submit(self, fn: Callable[..., None], *args: Any) -> None:
        self._pending.append(self._pool.submit(fn, *args))
        while len(self._pending) > self._MAX_PENDING or (self._pending and self._pending[0].done()):
            self._pending.pop(0).result()  # re-raises a failed write here

    def drain(self) -> None:
        while self._pending:
            self._pending.pop(0).result()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def _apply(
    work: EpisodeWork,
    store: SegmentStore,
    batch_size: int,
    progress: Progress,
    lexical: LexicalStore | None,
    writer: _Writer,
) -> FileResult:
    result = FileResult(
        work.episode.file,
        "added" if work.is_new else "updated",
        work.episode.id,
        len(work.episode.segments),
    )
    if work.to_reuse:
        vectors = store.vectors(sorted({source for _, source in work.to_reuse}))
        for start in range(0, len(work.to_reuse), batch_size):
            pairs = work.to_reuse[start : start + batch_size]
            writer.submit(store.upsert, [r for r, _ in pairs], [vectors[src] for _, src in pairs])
            result.written += len(pairs)
    for start in range(0, len(work.to_embed), batch_size):
        batch = work.to_embed[start : start + batch_size]
        embedded, computed = _embed(store.embedder, [r.document for r in batch])
        writer.submit(store.upsert, batch, list(embedded))
        result.embedded += computed
        result.cached += len(batch) - computed
        result.written += len(batch)
        progress.segments_done(len(batch))
    result.deleted = len(work.to_delete)
    writer.submit(_finish_episode, work, store, lexical, progress, result)
    return result


def _embed(embedder: Embedder, texts: list[str]) -> tuple[Vectors, int]:
    """The vectors of `texts`, and how many the embedder computed (not from the cache)."""
    if isinstance(embedder, CachedEmbedder):
        return embedder.embed_counting(texts)
    return embedder.embed_passages(texts), len(texts)


def _finish_episode(
    work: EpisodeWork,
    store: SegmentStore,
    lexical: LexicalStore | None,
    progress: Progress,
    result: FileResult,
) -> None:
    """After all of an episode's segments: drop stale ones, then write its manifest entry
    (which marks it complete), then bring the lexical store in step."""
    store.delete(work.to_delete)
    entry = store.put_episode(work.episode, work.digest)
    if lexical is not None:
        sync_episode(store, lexical, work.episode.id, dict(entry))
    progress.episode_done(result)


def _prune(
    manifest: dict[str, dict[str, Any]], seen: set[str], store: SegmentStore
) -> list[FileResult]:
    results = []
    for episode_id, entry in manifest.items():
        file = str(entry.get("file", ""))
        if episode_id in seen or (file and Path(file).exists()):
            continue
        removed = store.delete_episode(episode_id)
        results.append(FileResult(file, "pruned", episode_id, deleted=removed))
    return results
