"""One ingest at a time per index: a lock file beside the index, held with `flock`.

Two ingests on one index did end consistent (writes are idempotent upserts), but each
printed a summary while the other was still writing, so neither summary was true. The OS
drops an flock when its process ends however it ends (SIGKILL included), so a crashed
ingest never leaves the index locked. The file names its holder for the next one's message.
It guards the processes of one machine, which is where `vectorstore_dir` is.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import shlex
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["IndexBusy", "hold_index_lock", "index_lock_path"]


class IndexBusy(RuntimeError):
    """Another process holds the index's lock; `holder` says who, as far as it is known."""

    def __init__(self, path: Path, holder: str) -> None:
        super().__init__(f"{path} is held by {holder}")
        self.path = path
        self.holder = holder


def index_lock_path(vectorstore_dir: Path, collection: str) -> Path:
    return vectorstore_dir / f"{collection}.ingest.lock"


@contextmanager
def hold_index_lock(path: Path) -> Iterator[None]:
    """Hold the lock at `path` for the block, or raise `IndexBusy` at once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise IndexBusy(path, _holder(fd)) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, _describe_self().encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock


def _describe_self() -> str:
    since = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"pid {os.getpid()} ({shlex.join(['assistant', *sys.argv[1:]])}), since {since}"


def _holder(fd: int) -> str:
    # Empty only in the instant between the holder's lock and its write.
    text = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip()
    return text or "another process"
