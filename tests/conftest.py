from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from assistant.archive import Archive
from assistant.embed import E5Embedder, Embedder, NgramEmbedder, Vectors
from assistant.ingest import ingest
from assistant.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_archive"
SHARED_ARCHIVE = ROOT.parent / "shared" / "archive"
ASSISTANT = [sys.executable, "-m", "assistant.cli"]


class CountingEmbedder:
    """An embedder, counting the texts it is asked to embed."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.name = inner.name
        self.identity = inner.identity
        self.passages = 0

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        self.passages += len(texts)
        return self.inner.embed_passages(texts)

    def embed_query(self, text: str) -> Vectors:
        return self.inner.embed_query(text)


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> float:
    """Poll `condition` until it holds; the seconds that took."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout, f"{what}: not within {timeout} s"
        time.sleep(0.1)
    return time.monotonic() - started


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def server_process(
    command: Sequence[str],
    ready_url: str,
    timeout: float = 60,
    log: Path | None = None,
    env: dict[str, str] | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run a server on 127.0.0.1 until `ready_url` answers; stop it afterwards."""
    sink = log.open("wb") if log else subprocess.DEVNULL
    proc = subprocess.Popen(list(command), stdout=sink, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(ready_url, timeout=2):
                break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                detail = log.read_text()[-2000:] if log else ""
                pytest.fail(f"{command[0]} did not start: {detail}")
            time.sleep(0.2)
    try:
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        if log:
            sink.close()  # type: ignore[union-attr]


@contextmanager
def serve_app(app: Any) -> Iterator[str]:
    """Serve an ASGI app with uvicorn on 127.0.0.1, in a thread; yields its base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def e5() -> E5Embedder:
    """The real model: for the tests where retrieval quality is the point (mark them slow)."""
    return E5Embedder()


@pytest.fixture(scope="session")
def ngram() -> NgramEmbedder:
    """No model, through the same seam: for every test where the model is not the point."""
    return NgramEmbedder()


@pytest.fixture
def embedder(ngram: NgramEmbedder) -> CountingEmbedder:
    return CountingEmbedder(ngram)


def block(english: str) -> str:
    return (
        "<details>\n<summary>View/Hide Original English</summary>\n"
        f'<p class="english-text">{english}</p>\n</details>\n'
    )


def episode_text(video_id: str, pairs: Sequence[tuple[str, str]], **front: Any) -> str:
    meta = {
        "title": f"Episode {video_id}",
        "date": "2025-10-01",
        "speaker": "Odd Lots",
        "source": f"https://www.youtube.com/watch?v={video_id}",
        "tags": ["markets"],
        "people": ["Tracy Alloway"],
        **front,
    }
    lines = ["---"]
    for key, value in meta.items():
        if isinstance(value, list):
            lines.append(f"{key}:")
            lines.extend(f"- {item}" for item in value)
        else:
            lines.append(f"{key}: '{value}'")
    lines += ["---", "", "### 第一节", ""]
    for zh, en in pairs:
        lines.append(zh)
        lines.append("")
        if en:
            lines.append(block(en))
    return "\n".join(lines)


def write_episode(
    folder: Path, video_id: str, pairs: Sequence[tuple[str, str]], **front: Any
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"2025-10-01-{video_id}.md"
    path.write_text(episode_text(video_id, pairs, **front), encoding="utf-8")
    return path


PAIRS = [
    ("美联储可能在十二月降息。", "The Fed may cut rates in December."),
    ("英伟达的财报超出预期。", "Nvidia's earnings beat expectations."),
    ("迈克尔·伯里做空了人工智能股票。", "Michael Bur is short AI stocks."),
    ("这是一段只有中文的段落。", ""),
    ("谢谢收听。", "Thanks for listening."),
]


@pytest.fixture
def cli_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env["ASSISTANT_VECTORSTORE_DIR"] = str(tmp_path / "vectorstore")
    env["ASSISTANT_EMBEDDER"] = "ngram"
    env["PYTHONPATH"] = str(ROOT)
    yield env


def index_sample(root: Path, embedder: Embedder, name: str) -> Settings:
    """The sample episode plus a small Odd Lots episode, ingested with `embedder`."""
    archive = root / "archive"
    shutil.copytree(SAMPLE, archive)
    write_episode(archive, "oddlots1", PAIRS, people=["Michael Burry", "Tracy Alloway"])
    settings = Settings(vectorstore_dir=root / "vs", embedder=name)
    archive_obj = Archive(settings, embedder)  # creates the collections and the lexical file
    report = ingest(
        [archive], archive_obj.store, max_bytes=10**7, lexical=archive_obj.lexical_store
    )
    assert not report.failures
    return settings


@pytest.fixture(scope="session")
def indexed(tmp_path_factory: pytest.TempPathFactory, ngram: NgramEmbedder) -> Settings:
    """The sample index, once per session, with vectors from `ngram`."""
    return index_sample(tmp_path_factory.mktemp("indexed"), ngram, "ngram")


def private_copy(settings: Settings, folder: Path) -> Settings:
    """`settings` over a copy of its index in `folder`, for a test that changes it."""
    shutil.copytree(settings.vectorstore_dir, folder / "vs")
    return settings.model_copy(update={"vectorstore_dir": folder / "vs"})


@pytest.fixture
def own_copy(indexed: Settings, tmp_path: Path) -> Settings:
    return private_copy(indexed, tmp_path)


@pytest.fixture(scope="session")
def indexed_e5(tmp_path_factory: pytest.TempPathFactory, e5: E5Embedder) -> Settings:
    """The sample index with the real model's vectors, for retrieval-quality tests."""
    return index_sample(tmp_path_factory.mktemp("indexed-e5"), e5, "e5")
