"""The `assistant` command as a user runs it: real processes, real signals, real Chroma."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import chromadb
import pytest
from conftest import (
    ASSISTANT,
    PAIRS,
    SAMPLE,
    free_port,
    server_process,
    write_episode,
)

from assistant.embed import Embedder, NgramEmbedder, OpenAIEmbedder
from assistant.index import SegmentStore, segment_record
from assistant.ingest import discover, parse_files


def assistant(
    env: dict[str, str], *args: str, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*ASSISTANT, *args], env=env, capture_output=True, text=True, timeout=timeout
    )


def embedded_count(stdout: str) -> int:
    match = re.search(r"segments: (\d+) embedded", stdout)
    assert match, stdout
    return int(match.group(1))


def expected_records(archive: Path) -> dict[str, str]:
    episodes, failures = parse_files(discover([archive]), 10_000_000)
    assert not failures
    return {s.id: segment_record(e, s).record_hash for e in episodes for s in e.segments}


def stored_records(vectorstore: Path, embedder: Embedder) -> dict[str, str]:
    store = SegmentStore(chromadb.PersistentClient(path=str(vectorstore)), embedder)
    found = store.segments.get(include=["metadatas"])
    assert len(found["ids"]) == len(set(found["ids"]))
    return {sid: m["record_hash"] for sid, m in zip(found["ids"], found["metadatas"], strict=True)}


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    folder = tmp_path / "archive"
    write_episode(folder, "vid1", PAIRS)
    write_episode(folder, "vid2", PAIRS[:3], speaker="Amit Kukreja", date="2024-05-06")
    shutil.copy(SAMPLE / "2025-11-24-49u9cMwrKao.md", folder)
    (folder / "README.md").write_text("# not an episode\n")
    return folder


def test_dry_run_validates_without_writing(
    tmp_path: Path, archive: Path, cli_env: dict[str, str]
) -> None:
    (archive / "broken.md").write_text("---\ntitle: [oops\n---\n")
    result = assistant(cli_env, "ingest", "--dry-run", str(archive))

    assert result.returncode == 1
    assert re.search(r"FAIL .*broken\.md: invalid YAML front matter", result.stderr)
    assert "4 files: 3 ok, 1 failed; 58 segments" in result.stdout.replace("\n", " ")
    assert not (tmp_path / "vectorstore").exists()


def test_ingest_reports_then_reingest_is_unchanged_and_stats_agree(
    archive: Path, cli_env: dict[str, str]
) -> None:
    first = assistant(cli_env, "ingest", str(archive))
    assert first.returncode == 0, first.stderr
    assert "episodes: 3 added, 0 updated, 0 unchanged, 0 failed" in first.stdout
    # vid2 repeats vid1's first three paragraphs: the embedding cache has their vectors.
    assert "segments: 55 embedded, 3 from the cache, 58 written" in first.stdout
    assert re.search(r"\[3/3\] added 49u9cMwrKao: 50 embedded", first.stderr)

    second = assistant(cli_env, "ingest", str(archive))
    assert second.returncode == 0
    assert "0 added, 0 updated, 3 unchanged" in second.stdout
    assert embedded_count(second.stdout) == 0

    stats = json.loads(assistant(cli_env, "stats", "--json").stdout)
    assert (stats["episodes"], stats["segments"]) == (3, 58)
    assert stats["by_speaker"]["Amit Kukreja"] == {"episodes": 2, "segments": 53}
    assert stats["by_year"]["2024"] == {"episodes": 1, "segments": 3}


def test_exit_status_says_whether_a_file_failed(archive: Path, cli_env: dict[str, str]) -> None:
    (archive / "binary.md").write_bytes(b"\x00\x01\x02")
    result = assistant(cli_env, "ingest", str(archive))
    assert result.returncode == 1
    assert "binary.md: binary file" in result.stderr
    assert "3 added, 0 updated, 0 unchanged, 1 failed" in result.stdout
    missing = assistant(cli_env, "ingest", str(archive / "nope.md"))
    assert missing.returncode == 1 and "no such file" in missing.stderr


class HeldEndpoint:
    """An OpenAI-compatible /v1/embeddings on 127.0.0.1 (with `ngram` vectors) that holds
    its `hold_at`-th request until released: a signal sent while it holds lands mid-ingest,
    with every earlier batch done and this one not, however fast the machine is."""

    def __init__(self, hold_at: int) -> None:
        self.hold_at = hold_at
        self.requests = self.answered = 0  # requests seen; texts answered
        self.holding, self.release = threading.Event(), threading.Event()
        self._lock = threading.Lock()
        ngram, endpoint = NgramEmbedder(), self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                texts = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["input"]
                with endpoint._lock:
                    endpoint.requests += 1
                    held = endpoint.requests == endpoint.hold_at
                    # Counted before the answer goes out, so by the time the next request
                    # arrives the count covers every batch the ingest has back.
                    endpoint.answered += 0 if held else len(texts)
                if held:
                    endpoint.holding.set()
                    endpoint.release.wait(60)
                vectors = ngram.embed_passages(texts).tolist()
                data = [{"index": i, "embedding": v} for i, v in enumerate(vectors)]
                body = json.dumps({"data": data, "model": "ngram"}).encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the ingest was killed while this request was held

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def env(self) -> dict[str, str]:
        """Settings for an ingest through this endpoint: one request per batch of 4."""
        return {
            "ASSISTANT_EMBEDDER": "openai",
            "ASSISTANT_EMBEDDING_BASE_URL": self.url,
            "ASSISTANT_EMBEDDING_MODEL": "ngram",
            "ASSISTANT_EMBEDDING_CONCURRENCY": "1",
            "ASSISTANT_EMBED_BATCH_SIZE": "4",
        }

    def embedder(self) -> OpenAIEmbedder:
        return OpenAIEmbedder("ngram", self.url)


@pytest.fixture
def held(request: pytest.FixtureRequest) -> Iterator[HeldEndpoint]:
    endpoint = HeldEndpoint(request.param)
    thread = threading.Thread(target=endpoint.server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield endpoint
    endpoint.release.set()
    endpoint.server.shutdown()
    endpoint.server.server_close()


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start_and_hold(
    env: dict[str, str], archive: Path, held: HeldEndpoint
) -> subprocess.Popen[str]:
    """An ingest through `held`, stopped in its held request."""
    proc = subprocess.Popen(
        [*ASSISTANT, "ingest", str(archive)],
        env={**env, **held.env()},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # As from a terminal: a runner started in the background inherits SIGINT ignored.
        preexec_fn=_default_sigint,
    )
    assert held.holding.wait(120), f"no request {held.hold_at}: {proc.communicate()}"
    assert proc.poll() is None
    return proc


# The archive's 55 distinct paragraphs go out 4 at a time: request 1 is the first batch,
# 3 the first of 49u9cMwrKao (vid1 done, vid2 all from the cache), 9 halfway through it.
@pytest.mark.slow
@pytest.mark.parametrize("held", [1, 3, 9], indirect=True)
def test_a_sigkilled_ingest_is_completed_by_a_rerun(
    tmp_path: Path, archive: Path, cli_env: dict[str, str], held: HeldEndpoint
) -> None:
    proc = _start_and_hold(cli_env, archive, held)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    done_before = held.answered
    held.release.set()

    rerun = assistant({**cli_env, **held.env()}, "ingest", str(archive))
    assert rerun.returncode == 0, rerun.stderr
    # Resumed, not redone: every batch embedded before the kill comes from the cache.
    assert done_before == {1: 0, 3: 5, 9: 29}[held.hold_at]
    assert embedded_count(rerun.stdout) == 55 - done_before

    vectorstore = tmp_path / "vectorstore"
    assert stored_records(vectorstore, held.embedder()) == expected_records(archive)
    again = assistant({**cli_env, **held.env()}, "ingest", str(archive))
    assert "3 unchanged" in again.stdout and embedded_count(again.stdout) == 0


@pytest.mark.slow
@pytest.mark.parametrize("held", [9], indirect=True)
def test_ctrl_c_stops_cleanly_and_a_rerun_completes(
    tmp_path: Path, archive: Path, cli_env: dict[str, str], held: HeldEndpoint
) -> None:
    proc = _start_and_hold(cli_env, archive, held)
    proc.send_signal(signal.SIGINT)
    held.release.set()
    stdout, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "interrupted: rerun to complete" in stdout

    rerun = assistant({**cli_env, **held.env()}, "ingest", str(archive))
    assert rerun.returncode == 0
    assert embedded_count(rerun.stdout) < 55  # the finished batches were kept
    assert stored_records(tmp_path / "vectorstore", held.embedder()) == expected_records(archive)


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[str]:
    chroma = shutil.which("chroma") or str(Path(ASSISTANT[0]).parent / "chroma")
    port = free_port()
    command = [chroma, "run", "--path", str(tmp_path / "server"), "--host", "127.0.0.1"]
    url = f"http://127.0.0.1:{port}"
    with server_process([*command, "--port", str(port)], url + "/api/v2/heartbeat"):
        yield url


@pytest.mark.slow
def test_server_mode_uses_the_same_code_path(
    tmp_path: Path, archive: Path, cli_env: dict[str, str], chroma_server: str
) -> None:
    env = {**cli_env, "ASSISTANT_CHROMA_URL": chroma_server}
    (archive / "2025-11-24-49u9cMwrKao.md").unlink()
    first = assistant(env, "ingest", str(archive))
    assert first.returncode == 0, first.stderr
    assert "2 added" in first.stdout
    assert "segments: 5 embedded, 3 from the cache, 8 written" in first.stdout
    second = assistant(env, "ingest", str(archive))
    assert "2 unchanged" in second.stdout and embedded_count(second.stdout) == 0
    stats = json.loads(assistant(env, "stats", "--json").stdout)
    assert (stats["episodes"], stats["segments"]) == (2, 8)
    # Nothing went to an embedded Chroma; only our lexical cache lives locally.
    assert not (tmp_path / "vectorstore" / "chroma.sqlite3").exists()
    assert list((tmp_path / "vectorstore").glob("*.lexical.sqlite"))


def test_a_new_collection_is_filled_from_the_embedding_cache(
    tmp_path: Path, cli_env: dict[str, str]
) -> None:
    folder = tmp_path / "small"
    write_episode(folder, "vid1", PAIRS)
    assert embedded_count(assistant(cli_env, "ingest", str(folder)).stdout) == 5
    assert (tmp_path / "vectorstore" / "embeddings.cache.sqlite").exists()

    other = assistant({**cli_env, "ASSISTANT_COLLECTION_PREFIX": "other"}, "ingest", str(folder))

    assert other.returncode == 0 and "1 added" in other.stdout
    assert "segments: 0 embedded, 5 from the cache, 5 written" in other.stdout
