"""A server over an embedded Chroma follows what another process ingests, whatever the
timing: real `assistant serve` and `assistant ingest` processes on one vectorstore folder.

An embedded Chroma keeps the vector index its process loaded, so reading a segment that
another process wrote since fails with "Error finding id" until the process restarts.
"""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path

import httpx
from conftest import ASSISTANT, PAIRS, free_port, server_process, wait_until, write_episode

from assistant.archive import Archive, lexical_path
from assistant.embed import NgramEmbedder
from assistant.settings import Settings

NEW = 3
# A paragraph only this episode has, and a Chinese-only one (the segments the retriever
# ranks apart, which an index rebuild reads from Chroma).
TOPIC = ("第{n}号新话题：海底电缆{n}。", "New topic {n}: undersea cable number{n}.")


def ingest(env: dict[str, str], folder: Path) -> subprocess.CompletedProcess[str]:
    command = [*ASSISTANT, "ingest", str(folder)]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)


def new_episodes(folder: Path, first: int = 0) -> list[str]:
    ids = []
    for n in range(first, first + NEW):
        zh, en = TOPIC
        write_episode(folder, f"late{n}", [(zh.format(n=n), en.format(n=n)), *PAIRS])
        ids.append(f"late{n}")
    return ids


def test_a_serving_process_sees_what_another_process_ingests(
    tmp_path: Path, cli_env: dict[str, str]
) -> None:
    env = {**cli_env, "ASSISTANT_REFRESH_SECONDS": "0.2"}
    write_episode(tmp_path / "base", "base0", PAIRS)
    assert ingest(env, tmp_path / "base").returncode == 0
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    serve = [*ASSISTANT, "serve", "--port", str(port)]
    with server_process(serve, url + "/readyz", timeout=120, env=env, log=tmp_path / "log"):
        client = httpx.Client(base_url=url, timeout=120)
        # Queries before, during and after the ingest, as clients would send them.
        stop, statuses = threading.Event(), []

        def query() -> None:
            while not stop.is_set():
                body = {"query": "undersea cable", "k": 5}
                statuses.append(client.post("/api/search", json=body).status_code)

        readers = [threading.Thread(target=query) for _ in range(4)]
        for reader in readers:
            reader.start()
        try:
            wanted = new_episodes(tmp_path / "more")
            done = ingest(env, tmp_path / "more")
            assert done.returncode == 0, done.stderr

            def caught_up() -> bool:
                return bool(client.get("/readyz").json()["episodes"] == 1 + NEW)

            wait_until(caught_up, 30, "/readyz counts the new episodes")
            for n, episode in enumerate(wanted):
                found = client.post("/api/search", json={"query": f"undersea cable number{n}"})
                assert episode in [r["episode_id"] for r in found.json()["results"]]
        finally:
            stop.set()
            for reader in readers:
                reader.join()
        assert statuses and set(statuses) == {200}
    assert "checking for new ingests failed" not in (tmp_path / "log").read_text()


def test_a_reader_rebuilds_its_lexical_store_from_what_another_process_wrote(
    tmp_path: Path, cli_env: dict[str, str], ngram: NgramEmbedder
) -> None:
    settings = Settings(vectorstore_dir=Path(cli_env["ASSISTANT_VECTORSTORE_DIR"]))
    write_episode(tmp_path / "base", "base0", PAIRS)
    assert ingest(cli_env, tmp_path / "base").returncode == 0
    archive = Archive(settings, ngram)
    # Reading vectors loads this process's copy of Chroma's vector index.
    assert archive.store.vectors(archive.retriever.lexical.ids[:1])
    wanted = new_episodes(tmp_path / "more")
    assert ingest(cli_env, tmp_path / "more").returncode == 0
    assert archive.refresh() is True  # from the lexical store the ingest kept in step
    dense = archive.retriever.search_scored("undersea cable number1", 5)[1]
    assert any(sid.startswith("late1") for sid in dense), "the dense side sees the ingest"

    # A lexical store lost after another ingest is rebuilt from Chroma, with the vectors
    # that process wrote.
    more = new_episodes(tmp_path / "later", first=NEW)
    assert ingest(cli_env, tmp_path / "later").returncode == 0
    lexical_path(settings, archive.store.name).unlink()
    assert archive.refresh() is True
    assert {e["episode_id"] for e in archive.retriever.lexical.episodes} == {
        "base0",
        *wanted,
        *more,
    }
    assert archive.retriever.search("undersea cable number4", 3)[0].episode_id == "late4"
