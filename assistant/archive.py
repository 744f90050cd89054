"""The opened archive: the Chroma store, our lexical store, and a retriever over both.

Every entry point (CLI, HTTP API, Slack, MCP) opens one of these from the settings.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from assistant.embed import Embedder, make_embedder
from assistant.index import SegmentStore, StoreUnavailable, open_client, reopener
from assistant.lexical import LexicalStore, sync_lexical
from assistant.settings import Settings
from assistant.snapshot import open_retriever
from assistant.sqlite_files import is_damaged

__all__ = ["Archive", "lexical_path", "snapshot_path"]
log = logging.getLogger(__name__)


def lexical_path(settings: Settings, collection: str) -> Path:
    return settings.vectorstore_dir / f"{collection}.lexical.sqlite"


def snapshot_path(settings: Settings, collection: str) -> Path:
    return settings.vectorstore_dir / f"{collection}.snapshot.npz"


class Archive:
    def __init__(
        self,
        settings: Settings,
        embedder: Embedder | None = None,
        client: Any = None,
        *,
        serve_stale: bool = False,
    ) -> None:
        """Open the index. With `serve_stale`, a lexical store that holds anything is
        opened as it is and checked against Chroma by the first `refresh` (a server runs
        one in `warm_up`): reading Chroma's manifest is 0.5 s of start-up at 100k."""
        self.settings = settings
        self.store = SegmentStore(
            client if client is not None else open_client(settings),
            embedder or make_embedder(settings),
            settings.collection_prefix,
            reopen=reopener(settings) if client is None else None,
        )
        self.lexical_store = LexicalStore(lexical_path(settings, self.store.name))
        self.snapshot_path = snapshot_path(settings, self.store.name)
        try:
            if not (serve_stale and self.lexical_store.episode_hashes()):
                sync_lexical(self.store, self.lexical_store)
            self.retriever = open_retriever(self.store, self.lexical_store, self.snapshot_path)
        except BaseException:
            self.lexical_store.close()
            raise
        self._refreshing = threading.Lock()
        self._checked = time.monotonic()

    def warm_up(self) -> None:
        """Catch up with Chroma, and load what the first question would otherwise wait
        for: jieba's dictionary (about a second) and Chroma's vector index (seconds at
        100k segments)."""
        try:
            self.refresh()
            self.retriever.search("预热 warm up", 1)
        except Exception as exc:  # only an optimisation: the first request will retry
            log.warning("warming up the index failed: %s", exc)

    def refresh(self) -> bool:
        """Pick up what another process ingested; True when anything changed.

        A lexical file that was deleted, replaced or corrupted meanwhile is reopened or
        rebuilt from Chroma; the index in memory serves until the new one is loaded.
        """
        with self._refreshing:
            return self._refresh()

    def refresh_if_stale(self) -> bool:
        """Start `refresh` in the background, at most once every `settings.refresh_seconds`;
        True when one was started.

        Requests are answered from the index in memory meanwhile, and the new one is
        swapped in when built: at 100k segments a rebuild takes seconds, which no request
        should wait for. A failed check is not a request's failure either: it is logged
        and tried again at the next interval.
        """
        if self._fresh() or not self._refreshing.acquire(blocking=False):
            return False
        self._checked = time.monotonic()
        threading.Thread(target=self._refresh_then_release, name="refresh", daemon=True).start()
        return True

    def _refresh_then_release(self) -> None:
        try:
            self._refresh()
        except (StoreUnavailable, sqlite3.Error) as exc:
            log.warning("cannot check for new ingests: %s", exc)
        except Exception:
            log.exception("checking for new ingests failed")
        finally:
            self._refreshing.release()

    @property
    def _path(self) -> Path:
        return self.lexical_store.path

    def _fresh(self) -> bool:
        return time.monotonic() - self._checked < self.settings.refresh_seconds

    def _refresh(self) -> bool:
        self._checked = time.monotonic()
        try:
            return self._reload()
        except sqlite3.DatabaseError as exc:
            if not is_damaged(exc):
                raise
            log.warning("rebuilding the damaged lexical index %s: %s", self._path, exc)
            self.lexical_store.discard()
            self.lexical_store = LexicalStore(self._path)
            return self._reload()

    def _reload(self) -> bool:
        if self.lexical_store.replaced():
            log.info("reopening the lexical index %s: replaced on disk", self._path)
            self.lexical_store.close()
            self.lexical_store = LexicalStore(self._path)
        sync_lexical(self.store, self.lexical_store)
        # Compare with what the loaded index was built from, not with what sync did:
        # an ingest in this process may have updated the lexical store itself.
        if self.lexical_store.version() == self.retriever.lexical.version:
            return False
        self.retriever = open_retriever(self.store, self.lexical_store, self.snapshot_path)
        return True
