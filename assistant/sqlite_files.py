"""What the two SQLite files we derive from Chroma (the lexical store, the embedding cache)
need to survive other processes: telling damage from a busy file, and noticing a file
deleted or replaced under an open connection."""

from __future__ import annotations

import sqlite3
from pathlib import Path

__all__ = ["file_identity", "is_damaged"]


def is_damaged(exc: sqlite3.Error) -> bool:
    """Whether SQLite found the file corrupted or not a database at all (not merely busy)."""
    # Extended result codes keep the primary code in the low byte.
    code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF
    return code in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)


def file_identity(path: Path) -> tuple[int, int] | None:
    """The file's device and inode, or None when it is not there: a different value means
    the file was replaced."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_dev, stat.st_ino
