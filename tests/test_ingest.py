"""Ingest into a real Chroma in a temp dir, with the real embedded embedder."""

from __future__ import annotations

import hashlib
from pathlib import Path

import chromadb
import pytest
from conftest import PAIRS, CountingEmbedder, write_episode

from assistant.embed import USEEmbedder
from assistant.embed_cache import CachedEmbedder, EmbeddingCache
from assistant.index import SegmentStore
from assistant.ingest import _PARALLEL_FROM, discover, ingest, parse_files
from assistant.parse import read_episode


def open_store(path: Path, embedder: CountingEmbedder) -> SegmentStore:
    return SegmentStore(chromadb.PersistentClient(path=str(path)), embedder)


def run(archive: Path, store: SegmentStore, **kwargs: bool):  # type: ignore[no-untyped-def]
    return ingest([archive], store, max_bytes=1_000_000, batch_size=2, **kwargs)


def snapshot(store: SegmentStore) -> dict[str, tuple[str, tuple[float, ...]]]:
    found = store.segments.get(include=["metadatas", "embeddings"])
    return {
        sid: (meta["record_hash"], tuple(round(float(x), 5) for x in vec))
        for sid, meta, vec in zip(
            found["ids"], found["metadatas"], found["embeddings"], strict=True
        )
    }


def folder_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for file in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(file.name.encode() + file.read_bytes())
    return digest.hexdigest()


def test_first_ingest_indexes_every_segment_with_its_metadata(
    tmp_path: Path, embedder: CountingEmbedder
) -> None:
    archive = tmp_path / "archive"
    write_episode(archive, "vid1", PAIRS)
    write_episode(archive, "vid2", PAIRS[:2], speaker="Amit Kukreja", date="2024-02-03", tags=[])
    store = open_store(tmp_path / "vs", embedder)

    report = run(archive, store)

    assert (report.count("added"), report.count("failed")) == (2, 0)
    assert report.embedded == embedder.passages == 7
    assert store.count() == 7
    got = store.segments.get(ids=["vid1:3"], include=["metadatas", "documents"])
    meta = got["metadatas"][0]
    assert meta["text_zh"] == "迈克尔·伯里做空了人工智能股票。"
    assert meta["text_en"] == "Michael Bur is short AI stocks."
    assert (meta["episode_id"], meta["position"], meta["section"]) == ("vid1", 3, "第一节")
    assert (meta["date"], meta["date_int"], meta["speaker"]) == ("2025-10-01", 20251001, "Odd Lots")
    assert meta["tags"] == ["markets"] and meta["people"] == ["Tracy Alloway"]
    assert meta["source_url"] == "https://www.youtube.com/watch?v=vid1"
    assert "伯里" in got["documents"][0] and "Michael Bur" in got["documents"][0]
    zh_only = store.segments.get(ids=["vid1:4"], include=["metadatas"])["metadatas"][0]
    assert zh_only["text_en"] == ""
    # Chroma filters front-matter lists with $contains; an empty list is simply absent.
    tagged = store.segments.get(where={"tags": {"$contains": "markets"}})
    assert len(tagged["ids"]) == 5
    assert set(store.manifest()) == {"vid1", "vid2"}


def test_reingesting_an_unchanged_archive_embeds_and_writes_nothing(
    tmp_path: Path, embedder: CountingEmbedder
) -> None:
    archive = tmp_path / "archive"
    write_episode(archive, "vid1", PAIRS)
    store = open_store(tmp_path / "vs", embedder)
    run(archive, store)
    before, files_before = snapshot(store), folder_digest(tmp_path / "vs")
    embedder.passages = 0

    report = run(archive, store)

    assert (report.count("unchanged"), report.embedded, report.written) == (1, 0, 0)
    assert embedder.passages == 0
    assert snapshot(store) == before
    assert folder_digest(tmp_path / "vs") == files_before


def test_a_changed_file_reembeds_only_changed_segments_and_drops_stale_ones(
    tmp_path: Path, embedder: CountingEmbedder
) -> None:
    archive = tmp_path / "archive"
    path = write_episode(archive, "vid1", PAIRS)
    store = open_store(tmp_path / "vs", embedder)
    run(archive, store)
    before = snapshot(store)
    embedder.passages = 0

    # Drop paragraph 2, reword paragraph 5: 1..4 shift, only the reworded one is new text.
    changed = [PAIRS[0], PAIRS[2], PAIRS[3], ("谢谢大家收听。", "Thanks, everyone.")]
    write_episode(archive, "vid1", changed)
    report = run(archive, store)

    assert report.count("updated") == 1
    assert embedder.passages == report.embedded == 1
    assert report.deleted == 1
    assert store.count() == 4
    after = snapshot(store)
    assert sorted(after) == ["vid1:1", "vid1:2", "vid1:3", "vid1:4"]
    assert after["vid1:1"] == before["vid1:1"]
    assert after["vid1:2"][1] == before["vid1:3"][1]  # moved up, vector reused
    texts = store.segments.get(ids=["vid1:4"], include=["metadatas"])["metadatas"][0]
    assert texts["text_en"] == "Thanks, everyone."
    assert path.exists()


def test_a_front_matter_change_rewrites_metadata_without_embedding(
    tmp_path: Path, embedder: CountingEmbedder
) -> None:
    archive = tmp_path / "archive"
    write_episode(archive, "vid1", PAIRS)
    store = open_store(tmp_path / "vs", embedder)
    run(archive, store)
    embedder.passages = 0

    write_episode(archive, "vid1", PAIRS, tags=["markets", "fed"], title="新标题")
    report = run(archive, store)

    assert (report.count("updated"), report.embedded, report.written) == (1, 0, 5)
    meta = store.segments.get(ids=["vid1:2"], include=["metadatas"])["metadatas"][0]
    assert meta["tags"] == ["markets", "fed"] and meta["title"] == "新标题"


def test_prune_removes_episodes_whose_files_are_gone(
    tmp_path: Path, embedder: CountingEmbedder
) -> None:
    archive = tmp_path / "archive"
    write_episode(archive, "keep", PAIRS[:2])
    gone = write_episode(archive, "gone", PAIRS[:3])
    store = open_store(tmp_path / "vs", embedder)
    run(archive, store)
    gone.unlink()

    assert store.count() == 5 and run(archive, store).count("pruned") == 0
    report = run(archive, store, prune=True)

    assert report.count("pruned") == 1 and report.deleted == 3
    assert store.count() == 2
    assert set(store.manifest()) == {"keep"}
    assert not store.episode_records("gone")


def test_bad_files_are_reported_and_skipped_while_good_ones_ingest(
    tmp_path: Path, embedder: CountingEmbedder
) -> None:
    archive = tmp_path / "archive"
    write_episode(archive, "good", PAIRS[:2])
    was_good = write_episode(archive, "later-bad", PAIRS[:3])
    store = open_store(tmp_path / "vs", embedder)
    run(archive, store)

    was_good.write_bytes(b"\xff\xfe not utf-8 \x00")
    (archive / "empty.md").write_text("")
    (archive / "nofm.md").write_text("# title\n\ntext\n")
    write_episode(archive, "new", PAIRS[:1])
    report = run(archive, store, prune=True)

    failed = {Path(r.file).name: r.error for r in report.failures}
    assert set(failed) == {was_good.name, "empty.md", "nofm.md"}
    assert "binary" in failed[was_good.name] and "empty" in failed["empty.md"]
    assert report.count("added") == 1 and report.count("unchanged") == 1
    # Nothing already indexed is lost: the episode whose file broke keeps its segments.
    assert len(store.episode_records("later-bad")) == 3
    assert store.count() == 6


def test_a_second_file_with_the_same_episode_id_fails_instead_of_overwriting(
    tmp_path: Path, embedder: CountingEmbedder
) -> None:
    archive = tmp_path / "archive"
    write_episode(archive, "same", PAIRS[:2])
    copy = archive / "2025-12-01-copy.md"
    copy.write_text((archive / "2025-10-01-same.md").read_text(encoding="utf-8"))
    store = open_store(tmp_path / "vs", embedder)

    report = run(archive, store)

    assert report.count("added") == 1
    (failure,) = report.failures
    assert "already taken" in failure.error
    assert store.count() == 2


def test_a_new_collection_takes_its_vectors_from_the_embedding_cache(
    tmp_path: Path, embedder: CountingEmbedder
) -> None:
    archive = tmp_path / "archive"
    write_episode(archive, "vid1", PAIRS)
    write_episode(archive, "vid2", PAIRS[:2], date="2024-02-03")  # repeats two paragraphs
    client = chromadb.PersistentClient(path=str(tmp_path / "vs"))
    cached = CachedEmbedder(embedder, EmbeddingCache(tmp_path / "vs" / "embeddings.sqlite"))
    first = run(archive, SegmentStore(client, cached))
    assert (first.embedded, first.cached, embedder.passages) == (5, 2, 5)
    embedder.passages = 0

    # A segmentation change builds a new collection: nothing there to reuse, all cached.
    resegmented = SegmentStore(client, cached, prefix="resegmented")
    report = run(archive, resegmented)

    assert (report.count("added"), report.embedded, report.cached, report.written) == (2, 0, 7, 7)
    assert embedder.passages == 0
    assert snapshot(resegmented) == snapshot(SegmentStore(client, cached))


@pytest.mark.slow
@pytest.mark.parametrize("embedder_cls", [USEEmbedder])
def test_another_embedder_builds_another_collection(
    tmp_path: Path, embedder: CountingEmbedder, embedder_cls: type[USEEmbedder]
) -> None:
    archive = tmp_path / "archive"
    write_episode(archive, "vid1", PAIRS[:2])
    client = chromadb.PersistentClient(path=str(tmp_path / "vs"))
    e5_store = SegmentStore(client, embedder)
    other = SegmentStore(client, CountingEmbedder(embedder_cls()))
    run(archive, e5_store)

    assert e5_store.name != other.name
    assert other.count() == 0
    assert run(archive, other).count("added") == 1
    assert len(other.segments.get(ids=["vid1:1"], include=["embeddings"])["embeddings"][0]) == 512


def test_a_large_archive_is_parsed_in_parallel_with_the_same_results(tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    for i in range(230):
        write_episode(archive, f"v{i:03d}", PAIRS[: 1 + i % 5])
    (archive / "bad.md").write_bytes(b"\x00")
    (archive / "dup.md").write_text((archive / "2025-10-01-v007.md").read_text(encoding="utf-8"))
    files = discover([archive])
    assert len(files) >= _PARALLEL_FROM

    episodes, failures = parse_files(files, 1_000_000)

    assert len(episodes) == 230
    assert sum(len(e.segments) for e in episodes) == sum(1 + i % 5 for i in range(230))
    assert {Path(f.file).name: f.error.split(" ")[0] for f in failures} == {
        "bad.md": "binary",
        "dup.md": "episode",
    }
    serial = [read_episode(f, 1_000_000) for f in files[:5]]
    assert [e.model_dump() for e in episodes[:5]] == [e.model_dump() for e in serial]
