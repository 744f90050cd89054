"""The retrieval snapshot: used when current, rebuilt when stale or damaged."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import write_episode

from assistant.archive import Archive, snapshot_path
from assistant.embed import E5Embedder
from assistant.ingest import ingest
from assistant.retrieve import LexicalIndex
from assistant.settings import Settings
from assistant.snapshot import load_snapshot


@pytest.fixture
def own_copy(indexed: Settings, tmp_path: Path) -> Settings:
    shutil.copytree(indexed.vectorstore_dir, tmp_path / "vs")
    return Settings(vectorstore_dir=tmp_path / "vs")


def test_a_current_snapshot_gives_the_same_index_as_a_rebuild(
    own_copy: Settings, e5: E5Embedder
) -> None:
    archive = Archive(own_copy, e5)
    path = snapshot_path(own_copy, archive.store.name)
    version = archive.lexical_store.version()
    loaded = load_snapshot(path, version)
    assert loaded is not None
    index, one_sided = loaded
    built = LexicalIndex.load(archive.lexical_store)
    assert index.ids == built.ids and index.version == built.version == version
    assert np.array_equal(index.episode_of, built.episode_of)
    query = ["nvidia", "降息", "burry"]
    assert np.allclose(index.bm25.scores(query), built.bm25.scores(query))
    assert index.names == built.names and index.spellings == built.spellings
    assert index.front_matter_terms == built.front_matter_terms
    assert np.array_equal(index.vectors, built.vectors)
    assert one_sided == archive.retriever.one_sided
    assert load_snapshot(path, "another-version") is None


def test_a_damaged_snapshot_is_rebuilt(own_copy: Settings, e5: E5Embedder) -> None:
    first = Archive(own_copy, e5)
    path = snapshot_path(own_copy, first.store.name)
    path.write_bytes(b"PK\x03\x04 not a zip at all")
    second = Archive(own_copy, e5)
    assert second.retriever.search("Nvidia earnings beat expectations", 1)[0].id == "oddlots1:2"
    assert load_snapshot(path, second.lexical_store.version()) is not None


def test_a_stale_snapshot_is_not_used_after_an_ingest(
    own_copy: Settings, e5: E5Embedder, tmp_path: Path
) -> None:
    archive = Archive(own_copy, e5)
    old = load_snapshot(
        snapshot_path(own_copy, archive.store.name), archive.lexical_store.version()
    )
    assert old is not None
    folder = tmp_path / "more"
    write_episode(folder, "fresh1", [("全新的段落讲黄金价格。", "A new paragraph on gold prices.")])
    ingest([folder], archive.store, max_bytes=10**7, lexical=archive.lexical_store)
    reopened = Archive(own_copy, e5)
    assert "fresh1:1" in reopened.retriever.lexical.position
    assert reopened.retriever.search("gold prices", 1)[0].id == "fresh1:1"
    assert "oddlots1:2" in reopened.retriever.lexical.position


def test_a_server_opens_a_stale_lexical_store_then_catches_up_in_warm_up(
    own_copy: Settings, e5: E5Embedder, tmp_path: Path
) -> None:
    first = Archive(own_copy, e5)
    folder = tmp_path / "more"
    write_episode(
        folder, "late2", [("晚到的段落讲白银价格。", "A late paragraph on silver prices.")]
    )
    # Written to Chroma only, as another host's ingest would: this lexical store lags.
    ingest([folder], first.store, max_bytes=10**7)
    server = Archive(own_copy, e5, serve_stale=True)
    assert "late2:1" not in server.retriever.lexical.position
    server.warm_up()
    assert server.retriever.search("silver prices", 1)[0].id == "late2:1"
    # Without serve_stale, opening checks Chroma first.
    assert "late2:1" in Archive(own_copy, e5).retriever.lexical.position
