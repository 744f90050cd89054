"""The opened archive: the Chroma store, our lexical store, and a retriever over both.

Every entry point (CLI, HTTP API, Slack, MCP) opens one of these from the settings.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from assistant.embed import Embedder, make_embedder
from assistant.index import SegmentStore, open_client
from assistant.lexical import LexicalStore, sync_lexical
from assistant.settings import Settings
from assistant.snapshot import open_retriever

__all__ = ["Archive", "lexical_path", "snapshot_path"]


def lexical_path(settings: Settings, collection: str) -> Path:
    return settings.vectorstore_dir / f"{collection}.lexical.sqlite"


def snapshot_path(settings: Settings, collection: str) -> Path:
    return settings.vectorstore_dir / f"{collection}.snapshot.npz"


class Archive:
    def __init__(
        self, settings: Settings, embedder: Embedder | None = None, client: Any = None
    ) -> None:
        self.settings = settings
        self.store = SegmentStore(
            client if client is not None else open_client(settings),
            embedder or make_embedder(settings),
            settings.collection_prefix,
        )
        self.lexical_store = LexicalStore(lexical_path(settings, self.store.name))
        self.snapshot_path = snapshot_path(settings, self.store.name)
        sync_lexical(self.store, self.lexical_store)
        self.retriever = open_retriever(self.store, self.lexical_store, self.snapshot_path)
        self._refreshing = threading.Lock()
        self._checked = time.monotonic()

    def refresh(self) -> bool:
        """Pick up what another process ingested; True when anything changed."""
        with self._refreshing:
            self._checked = time.monotonic()
            sync_lexical(self.store, self.lexical_store)
            # Compare with what the loaded index was built from, not with what sync did:
            # an ingest in this process may have updated the lexical store itself.
            if self.lexical_store.version() == self.retriever.lexical.version:
                return False
            self.retriever = open_retriever(self.store, self.lexical_store, self.snapshot_path)
            return True

    def refresh_if_stale(self) -> bool:
        """`refresh`, at most once every `settings.refresh_seconds` (one manifest read)."""
        if time.monotonic() - self._checked < self.settings.refresh_seconds:
            return False
        return self.refresh()
