"""The retriever's in-memory state, saved beside the lexical store so a server starts fast.

Building BM25 from the lexical store's rows takes about 10 s and 1.5 GB at 100k segments
(BENCHMARKS.md); loading the built arrays takes well under a second. The snapshot is one
`.npz` file per collection, replaced atomically, stamped with the lexical store version
it was built from and used only while that version is current. It is derived data: a
missing, stale or unreadable snapshot is rebuilt, never fatal.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse

from assistant.index import SegmentStore
from assistant.lexical import BM25, LexicalStore
from assistant.retrieve import LexicalIndex, Retriever, one_sided_ids

__all__ = ["load_snapshot", "open_retriever", "save_snapshot"]
log = logging.getLogger(__name__)

# 4: one-sided segments as ids only; their vectors are rows of the index.
FORMAT = 4
LANGS = ("en", "zh")


def open_retriever(store: SegmentStore, lexical: LexicalStore, path: Path) -> Retriever:
    """A retriever over the store's current contents: from the snapshot when it is current,
    else built (and the snapshot written for the next process)."""
    version = lexical.version()
    loaded = load_snapshot(path, version)
    if loaded is not None:
        return Retriever(store, *loaded)
    index = LexicalIndex.load(lexical)
    one_sided = one_sided_ids(store)
    save_snapshot(path, index, one_sided)
    return Retriever(store, index, one_sided)


def save_snapshot(path: Path, index: LexicalIndex, one_sided: dict[str, list[str]]) -> None:
    vocabulary, idf, max_idf, weights = index.bm25.arrays()
    meta = {
        "format": FORMAT,
        "version": index.version,
        "shape": list(weights.shape),
        "max_idf": max_idf,
        "ids": index.ids,
        "turn_speakers": index.turn_speakers,
        "episodes": index.episodes,
        "vocabulary": vocabulary,
        "front_matter_terms": sorted(index.front_matter_terms),
        "one_sided": {lang: one_sided[lang] for lang in LANGS},
    }
    arrays = {
        "meta": np.frombuffer(json.dumps(meta, ensure_ascii=False).encode(), dtype=np.uint8),
        "data": weights.data,
        "indices": weights.indices,
        "indptr": weights.indptr,
        "idf": idf,
        "episode_of": index.episode_of,
        "vectors": index.vectors,
    }
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        with temporary.open("wb") as f:
            np.savez(f, **arrays)
        # Readers in other processes see the old file or the new one, never half of one.
        os.replace(temporary, path)
    except OSError as exc:
        log.warning("could not save the retrieval snapshot %s: %s", path, exc)
        temporary.unlink(missing_ok=True)


def load_snapshot(path: Path, version: str) -> tuple[LexicalIndex, dict[str, list[str]]] | None:
    """The snapshot's index and one-sided vectors if it was built from `version`."""
    if not path.exists():
        return None
    try:
        with np.load(path) as arrays:
            meta: dict[str, Any] = json.loads(arrays["meta"].tobytes())
            if meta.get("format") != FORMAT or meta.get("version") != version:
                return None
            weights = sparse.csc_matrix(
                (arrays["data"], arrays["indices"], arrays["indptr"]), shape=tuple(meta["shape"])
            )
            bm25 = BM25.from_arrays(meta["vocabulary"], arrays["idf"], meta["max_idf"], weights)
            index = LexicalIndex.assemble(
                ids=meta["ids"],
                episode_of=arrays["episode_of"],
                turn_speakers=meta["turn_speakers"],
                episodes=meta["episodes"],
                bm25=bm25,
                vectors=arrays["vectors"],
                version=version,
                front_matter_terms=frozenset(meta["front_matter_terms"]),
            )
            one_sided = {lang: list(meta["one_sided"][lang]) for lang in LANGS}
    except Exception as exc:  # any damage: it is derived data, rebuild it
        log.warning("ignoring an unreadable retrieval snapshot %s: %s", path, exc)
        return None
    return index, one_sided
