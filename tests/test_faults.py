"""Faults while `assistant serve` runs over a Chroma server, all with real processes.

Chroma is killed and restarted, paused, or absent when the API starts: what needs it
answers 503 with Retry-After, fast, and the API recovers without a restart. The lexical
file is deleted or corrupted under two workers: it is rebuilt and answers keep coming.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import (
    ASSISTANT,
    PAIRS,
    ROOT,
    SAMPLE,
    free_port,
    server_process,
    wait_until,
    write_episode,
)

from assistant.embed import NgramEmbedder
from assistant.index import SegmentStore, open_store
from assistant.ingest import ingest
from assistant.lexical import LexicalStore
from assistant.settings import Settings

pytestmark = pytest.mark.slow  # Chroma and API servers killed and restarted

CHROMA = shutil.which("chroma") or str(Path(ASSISTANT[0]).parent / "chroma")
# A 503 must come well inside any client's patience; a refused connection takes ms.
FAST = 2.0
# The API's Chroma read timeout here, so a paused server fails requests quickly.
CHROMA_TIMEOUT = 1.5
RECOVERY = 15.0


class ChromaServer:
    """`chroma run` on one port and data folder, which the tests stop and start again."""

    def __init__(self, data: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.command = [CHROMA, "run", "--path", str(data), "--host", "127.0.0.1"]
        self.command += ["--port", str(self.port)]
        self._running: AbstractContextManager[subprocess.Popen[bytes]] | None = None
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        assert self._running is None, "already running"
        self._running = server_process(self.command, self.url + "/api/v2/heartbeat")
        self.proc = self._running.__enter__()

    def kill(self) -> None:
        """SIGKILL: no clean shutdown, as in a crash or an OOM kill."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(timeout=20)
        self.stop()

    def stop(self) -> None:
        if self._running is not None:
            self._running.__exit__(None, None, None)
        self._running = self.proc = None

    def ensure_running(self) -> None:
        if self._running is None:
            self.start()

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Stopped but still holding its port: connections open, nothing answers."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)
        try:
            yield
        finally:
            self.proc.send_signal(signal.SIGCONT)


@dataclass
class Deployment:
    chroma: ChromaServer
    settings: Settings
    env: dict[str, str]
    embedder: NgramEmbedder

    def store(self) -> SegmentStore:
        return open_store(self.settings, self.embedder)

    def ingest(self, folder: Path) -> None:
        """As `assistant ingest` does, from this process: Chroma, then the lexical file."""
        store = self.store()
        lexical = LexicalStore(self.settings.vectorstore_dir / f"{store.name}.lexical.sqlite")
        try:
            report = ingest([folder], store, max_bytes=10**7, lexical=lexical)
        finally:
            lexical.close()
        assert not report.failures


def deploy(root: Path, embedder: NgramEmbedder) -> Deployment:
    """A stopped Chroma server's data in `root/chroma` and the API's settings over it."""
    chroma = ChromaServer(root / "chroma")
    settings = Settings(
        vectorstore_dir=root / "vectorstore", chroma_url=chroma.url, embedder="ngram"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env |= {
        "PYTHONPATH": str(ROOT),
        "ASSISTANT_VECTORSTORE_DIR": str(settings.vectorstore_dir),
        "ASSISTANT_EMBEDDER": settings.embedder,
        "ASSISTANT_CHROMA_URL": chroma.url,
        "ASSISTANT_CHROMA_TIMEOUT": str(CHROMA_TIMEOUT),
        "ASSISTANT_REFRESH_SECONDS": "0.5",
    }
    return Deployment(chroma, settings, env, embedder)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory, ngram: NgramEmbedder) -> Path:
    """Chroma data holding the sample and one small episode, ingested through a server."""
    root = tmp_path_factory.mktemp("faults")
    seed = deploy(root, ngram)
    seed.chroma.start()
    try:
        archive = root / "archive"
        shutil.copytree(SAMPLE, archive)
        write_episode(archive, "oddlots1", PAIRS)
        seed.ingest(archive)
    finally:
        seed.chroma.stop()
    return root


@pytest.fixture
def deployment(seeded: Path, tmp_path: Path, ngram: NgramEmbedder) -> Iterator[Deployment]:
    """A Chroma server of its own over a copy of the seeded data: a test may kill it
    without the next test inheriting the damage."""
    for folder in ("chroma", "vectorstore"):
        shutil.copytree(seeded / folder, tmp_path / folder)
    deployment = deploy(tmp_path, ngram)
    deployment.chroma.start()
    try:
        yield deployment
    finally:
        deployment.chroma.stop()


@contextmanager
def api(deployment: Deployment, workers: int = 1) -> Iterator[httpx.Client]:
    """`assistant serve` over the deployment's Chroma; ready once it is alive (/healthz)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    serve = [*ASSISTANT, "serve", "--port", str(port), "--workers", str(workers)]
    with (
        server_process(serve, base + "/healthz", timeout=120, env=deployment.env),
        httpx.Client(base_url=base, timeout=30) as client,
    ):
        yield client


SSE = {"Accept": "text/event-stream"}
CHAT = {"messages": [{"role": "user", "content": "谁支持降息？"}]}
# Every route that needs Chroma: (method, path, keyword arguments for httpx).
NEEDS_CHROMA: list[tuple[str, str, dict[str, Any]]] = [
    ("POST", "/api/search", {"json": {"query": "rate cut"}}),
    ("POST", "/api/ask", {"json": {"question": "谁支持降息？"}}),
    ("POST", "/api/ask", {"json": {"question": "Who backs a rate cut?"}, "headers": SSE}),
    ("POST", "/v1/chat/completions", {"json": CHAT}),
    ("POST", "/v1/chat/completions", {"json": {**CHAT, "stream": True}}),
    ("GET", "/api/episodes", {}),
    ("GET", "/api/episodes/49u9cMwrKao", {}),
    ("GET", "/readyz", {}),
]


def assert_serves(client: httpx.Client) -> None:
    for method, path, kwargs in NEEDS_CHROMA:
        response = client.request(method, path, **kwargs)
        assert response.status_code == 200, (path, response.text)
    answer = client.post("/api/ask", json={"question": "谁支持降息？"}).json()
    assert answer["citations"] and answer["citations"][0]["text_zh"]


def assert_unavailable(
    client: httpx.Client, limit: float, routes: list[tuple[str, str, dict[str, Any]]] = NEEDS_CHROMA
) -> list[float]:
    """Every route that needs Chroma answers 503 with a readable detail and Retry-After,
    within `limit` seconds; the times taken."""
    times = []
    for method, path, kwargs in routes:
        started = time.perf_counter()
        response = client.request(method, path, **kwargs)
        times.append(time.perf_counter() - started)
        assert response.status_code == 503, (path, response.text)
        assert response.headers["content-type"] == "application/json", path
        assert "index is unreachable" in response.json()["detail"], path
        assert int(response.headers["retry-after"]) == 5, path
        assert times[-1] < limit, (path, times[-1])
    return times


def assert_serves_from_memory(client: httpx.Client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/api/speakers").json() == ["Amit Kukreja", "Odd Lots"]
    assert client.get("/").status_code == 200


@pytest.fixture
def client(deployment: Deployment) -> Iterator[httpx.Client]:
    """An API process for a test that stops Chroma under it."""
    with api(deployment) as client:
        yield client


def test_chroma_restart_fails_fast_then_recovers_without_an_api_restart(
    deployment: Deployment, client: httpx.Client
) -> None:
    chroma = deployment.chroma
    assert_serves(client)
    chroma.kill()
    # Twice: past the refresh interval, when the API also checks for new ingests.
    times = assert_unavailable(client, FAST) + assert_unavailable(client, FAST)
    assert_serves_from_memory(client)

    chroma.start()
    recovered = wait_until(lambda: client.get("/readyz").status_code == 200, RECOVERY, "recovery")
    assert_serves(client)
    print(f"\n503 in {max(times) * 1000:.0f} ms at most; ready {recovered:.2f} s after restart")


def test_a_hung_chroma_fails_after_the_timeout(
    deployment: Deployment, client: httpx.Client
) -> None:
    assert_serves(client)
    with deployment.chroma.paused():
        # Search and both kinds of ask. One may wait out the timeout twice: its refresh
        # check, then its query.
        times = assert_unavailable(client, 2 * CHROMA_TIMEOUT + 1, NEEDS_CHROMA[:3])
        assert_serves_from_memory(client)
    wait_until(lambda: client.get("/readyz").status_code == 200, RECOVERY, "recovery")
    assert_serves(client)
    print(f"\n503 from a paused Chroma in {min(times):.2f}-{max(times):.2f} s")


def test_the_api_starts_without_chroma_and_becomes_ready_when_it_comes(
    deployment: Deployment,
) -> None:
    chroma = deployment.chroma
    chroma.kill()
    try:
        with api(deployment) as fresh:
            assert fresh.get("/healthz").status_code == 200
            assert_unavailable(fresh, FAST)
            chroma.start()
            ready = wait_until(
                lambda: fresh.get("/readyz").status_code == 200, RECOVERY, "readiness"
            )
            assert fresh.get("/readyz").json()["episodes"] == 2
            assert_serves(fresh)
    finally:
        chroma.ensure_running()
    print(f"\nready {ready:.2f} s after Chroma started")


def lexical_matches_chroma(path: Path, store: SegmentStore) -> bool:
    """The lexical file holds exactly Chroma's episodes, at their versions, and segments."""
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=0.5)
        try:
            hashes = dict(db.execute("SELECT episode_id, episode_hash FROM episodes"))
            segments = db.execute("SELECT count(*) FROM segments").fetchone()[0]
        finally:
            db.close()
    except sqlite3.Error:  # missing, corrupt, or being rebuilt
        return False
    manifest = {eid: entry["episode_hash"] for eid, entry in store.manifest().items()}
    return hashes == manifest and segments == store.count()


def test_workers_follow_ingests_and_rebuild_a_lost_or_corrupted_lexical_index(
    deployment: Deployment, tmp_path: Path
) -> None:
    store = deployment.store()
    lexical = deployment.settings.vectorstore_dir / f"{store.name}.lexical.sqlite"

    def both_workers_hold(episodes: int) -> bool:
        """Asks /readyz, a connection each, until both workers have answered (each names
        its process): whether both have `episodes` in their in-memory index."""
        seen: dict[int, int] = {}
        for _ in range(50):
            ready = httpx.get(f"{base}/readyz", timeout=30)
            assert ready.status_code == 200, ready.text
            seen[ready.json()["worker"]] = ready.json()["episodes"]
            if len(seen) == 2:
                return set(seen.values()) == {episodes}
        return False

    def found(query: str, episode: str) -> bool:
        reply = httpx.post(f"{base}/api/search", json={"query": query, "k": 3}, timeout=30)
        assert reply.status_code == 200, reply.text
        return episode in [r["episode_id"] for r in reply.json()["results"]]

    def answers_while(condition: Callable[[], bool]) -> bool:
        answer = httpx.post(f"{base}/api/ask", json={"question": "谁支持降息？"}, timeout=30)
        assert answer.status_code == 200, answer.text
        assert answer.json()["citations"]
        return condition()

    with api(deployment, workers=2) as workers:
        base = str(workers.base_url).rstrip("/")
        wait_until(lambda: workers.get("/readyz").status_code == 200, RECOVERY, "readiness")

        news = [("量子计算机今天实现了新的突破。", "Quantum computers had a breakthrough today.")]
        write_episode(tmp_path / "more", "late1", news)
        deployment.ingest(tmp_path / "more")
        wait_until(lambda: both_workers_hold(3), RECOVERY, "new episode in both workers")
        assert found("quantum computer breakthrough", "late1")

        lexical.unlink()
        deleted = wait_until(
            lambda: answers_while(lambda: lexical_matches_chroma(lexical, store)),
            RECOVERY,
            "deleted lexical file rebuilt",
        )

        size = lexical.stat().st_size
        with lexical.open("r+b") as file:  # in place: the workers' open files see it
            file.write(os.urandom(size))
        corrupted = wait_until(
            lambda: answers_while(lambda: lexical_matches_chroma(lexical, store)),
            RECOVERY,
            "corrupted lexical file rebuilt",
        )
        assert both_workers_hold(3) and found("quantum computer breakthrough", "late1")
    print(f"\nlexical file rebuilt {deleted:.2f} s after deletion, {corrupted:.2f} s after damage")
