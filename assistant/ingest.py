"""Archive → index, incrementally: parse every file, diff against the index, embed only
what changed, and write each episode's manifest entry last.

Any interruption (Ctrl-C, SIGKILL) leaves an index whose finished episodes are complete;
an unfinished one has no current manifest entry, so the next run diffs it segment by
segment and completes it. Ids are deterministic, so nothing is ever duplicated.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
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
    "claim_ids",
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
    note: str = ""  # why an episode was pruned


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
    """Markdown files under `paths`, by the path they have in the archive (a symlink is
    not replaced by its target). In folders, README.md, dot files, dot and underscore
    folders (`_drafts`), and folders named `*.md` are skipped (archives carry a README);
    a path named explicitly is always taken, and a file reached twice is taken once."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*.md")):
                *folders, name = child.relative_to(path).parts
                # Not underscore files: a YouTube id may start with `_` (135 of 9,060 notes).
                hidden = name.startswith(".") or any(p[0] in "._" for p in folders)
                if name.lower() == "readme.md" or hidden:
                    continue
                if child.is_dir():  # walked into by rglob; a FIFO or socket is reported
                    continue
                found.append(child)
        else:
            found.append(path)
    unique: dict[Path, Path] = {}
    for file in found:
        unique.setdefault(_identity(file), Path(os.path.abspath(file)))
    return list(unique.values())


def _identity(file: Path | str) -> Path:
    """What two paths of one file have in common (symlinks resolved)."""
    path = Path(file)
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # a symlink loop
        return Path(os.path.abspath(path))


# Below this many files one process parses faster than starting a pool.
_PARALLEL_FROM = 200


def _read(file: Path, max_bytes: int) -> Episode | str:
    """`read_episode`, with the failure as its reason (plain values cross processes)."""
    try:
        return read_episode(file, max_bytes)
    except ParseError as exc:
        return exc.reason


def parse_files(
    files: Sequence[Path], max_bytes: int, owners: Mapping[str, str] | None = None
) -> tuple[list[Episode], list[FileResult]]:
    """Parse every file; a bad file, or a second file claiming an episode id, is a failure.

    `owners` names the file each indexed episode was indexed from (see `claim_ids`).
    Parsing is pure and CPU-bound, so a large archive is parsed on every core.
    """
    if len(files) >= _PARALLEL_FROM and (os.cpu_count() or 1) > 1:
        with ProcessPoolExecutor() as pool:
            parsed = list(pool.map(_read, files, [max_bytes] * len(files), chunksize=32))
    else:
        parsed = [_read(file, max_bytes) for file in files]
    return claim_ids(files, parsed, owners or {}, lambda path: _read(path, max_bytes))


def claim_ids(
    files: Sequence[Path],
    parsed: Sequence[Episode | str],
    owners: Mapping[str, str],
    read: Callable[[Path], Episode | str],
) -> tuple[list[Episode], list[FileResult]]:
    """Give each episode id to one file; every other file claiming it fails, naming both.

    The same rule within a run and across runs, however a file comes by its id (source
    URL or file name): an indexed episode keeps its id while the file it was indexed from
    (`owners`) is there and still claims it, or cannot be read to say otherwise. A file
    renamed, whose old path is gone, simply takes its id over (an update). Among new
    claimants the first in archive order wins. `read` parses an owner this run did not.
    """
    outcome: dict[Path, str | None] = {}  # each file's episode id; None when it failed
    claims: dict[str, list[Episode]] = {}
    for file, result in zip(files, parsed, strict=True):
        outcome[_identity(file)] = None if isinstance(result, str) else result.id
        if not isinstance(result, str):
            claims.setdefault(result.id, []).append(result)

    def still_holds(owner: str, episode_id: str) -> bool:
        path = _identity(owner)
        if path in outcome:  # parsed above, but not to this id (or not at all)
            return outcome[path] is None
        if not path.exists():
            return False
        result = read(Path(owner))
        return isinstance(result, str) or result.id == episode_id

    holder: dict[str, str] = {}  # episode id -> the file that gets it
    for episode_id, claimants in claims.items():
        owner = owners.get(episode_id, "")
        mine = [e for e in claimants if owner and _identity(e.file) == _identity(owner)]
        if mine:
            holder[episode_id] = mine[0].file
        elif owner and still_holds(owner, episode_id):
            holder[episode_id] = owner
        else:
            holder[episode_id] = claimants[0].file

    episodes: list[Episode] = []
    failures: list[FileResult] = []
    for file, result in zip(files, parsed, strict=True):
        if isinstance(result, str):
            failures.append(FileResult(str(file), "failed", error=result))
        elif holder[result.id] == result.file:
            episodes.append(result)
        else:
            taken = f"episode id {result.id} is already taken by {holder[result.id]}"
            failures.append(FileResult(str(file), "failed", episode_id=result.id, error=taken))
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
    manifest = store.manifest()
    owners = {episode_id: str(entry.get("file", "")) for episode_id, entry in manifest.items()}
    episodes, failures = parse_files(discover(paths), max_bytes, owners)
    report.results.extend(failures)

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
            holds = {_identity(e.file): e.id for e in episodes}
            report.results.extend(_prune(manifest, seen, holds, store))
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
    manifest: dict[str, dict[str, Any]],
    seen: set[str],
    holds: dict[Path, str],
    store: SegmentStore,
) -> list[FileResult]:
    """Drop indexed episodes whose file is gone, or now holds another episode."""
    results = []
    for episode_id, entry in manifest.items():
        file = str(entry.get("file", ""))
        if episode_id in seen:
            continue
        now = holds.get(_identity(file)) if file else None
        if file and Path(file).exists() and now is None:
            continue
        note = f"{file} now holds episode {now}" if now else f"{file} is gone"
        removed = store.delete_episode(episode_id)
        results.append(FileResult(file, "pruned", episode_id, deleted=removed, note=note))
    return results
