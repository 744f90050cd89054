"""Archives that fight back: a second file claiming an indexed episode's id, a FIFO or a
socket named `*.md`, a YAML alias bomb, a symlink, and two ingests on one index at once."""

from __future__ import annotations

import hashlib
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import chromadb
import pytest
from conftest import ASSISTANT, PAIRS, ROOT, CountingEmbedder, episode_text, write_episode

from assistant.index import SegmentStore
from assistant.index_lock import IndexBusy, hold_index_lock
from assistant.ingest import discover, ingest, parse_files
from assistant.parse import ParseError, parse_episode, read_episode

# --- one episode id, one file ---------------------------------------------------------------


def open_store(path: Path, embedder: CountingEmbedder) -> SegmentStore:
    return SegmentStore(chromadb.PersistentClient(path=str(path)), embedder)


def run(paths: list[Path], store: SegmentStore, **kwargs: bool):  # type: ignore[no-untyped-def]
    return ingest(paths, store, max_bytes=1_000_000, batch_size=4, **kwargs)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def first_text(store: SegmentStore, episode_id: str) -> str:
    found = store.segments.get(ids=[f"{episode_id}:1"], include=["metadatas"])
    return str(found["metadatas"][0]["text_zh"])


# Every way a file comes by episode id `same`; each newcomer sorts before the original.
CLAIMS = {
    "source URL": ("0000-first.md", {}),
    "short URL": ("0000-first.md", {"source": "https://youtu.be/same"}),
    "file name": ("0/same.md", {"source": ""}),
}


@pytest.fixture
def indexed(tmp_path: Path, embedder: CountingEmbedder) -> tuple[Path, Path, SegmentStore]:
    """An archive whose episode `same` is indexed from `2025-10-01-same.md`."""
    archive = tmp_path / "archive"
    original = write_episode(archive, "same", PAIRS[:2])
    store = open_store(tmp_path / "vs", embedder)
    assert run([archive], store).count("added") == 1
    return archive, original, store


def newcomer(archive: Path, claim: str) -> Path:
    name, front = CLAIMS[claim]
    return write(archive / name, episode_text("same", PAIRS[2:3], **front))


@pytest.mark.parametrize("claim", CLAIMS)
def test_an_indexed_episode_keeps_its_id_against_a_newcomer_that_sorts_first(
    indexed: tuple[Path, Path, SegmentStore], claim: str
) -> None:
    archive, original, store = indexed
    new = newcomer(archive, claim)

    report = run([archive], store)

    assert (report.count("unchanged"), report.count("updated")) == (1, 0)
    (failure,) = report.failures
    assert failure.file == str(new)
    assert failure.error == f"episode id same is already taken by {original}"
    assert first_text(store, "same") == PAIRS[0][0]
    # The same on the next run, and when the newcomer is named on its own.
    assert run([archive], store).failures[0].file == str(new)
    alone = run([new], store)
    assert alone.count("failed") == 1 and str(original) in alone.failures[0].error
    assert first_text(store, "same") == PAIRS[0][0]


def test_a_renamed_file_keeps_its_episode_as_an_update(
    indexed: tuple[Path, Path, SegmentStore], embedder: CountingEmbedder
) -> None:
    archive, original, store = indexed
    renamed = original.rename(archive / "0-renamed.md")
    embedder.passages = 0

    report = run([archive], store)

    assert (report.count("updated"), report.count("failed")) == (1, 0)
    assert store.manifest()["same"]["file"] == str(renamed)
    assert embedder.passages == 0  # the vectors are reused, only the file name changed


def test_an_owner_that_cannot_be_read_still_keeps_its_id(
    indexed: tuple[Path, Path, SegmentStore],
) -> None:
    archive, original, store = indexed
    original.write_text("---\ntitle: [broken\n---\n", encoding="utf-8")
    new = newcomer(archive, "source URL")

    report = run([archive], store)

    assert {Path(r.file).name for r in report.failures} == {original.name, new.name}
    assert first_text(store, "same") == PAIRS[0][0]


def test_an_owner_that_now_claims_another_id_gives_its_old_one_up(
    indexed: tuple[Path, Path, SegmentStore],
) -> None:
    archive, original, store = indexed
    write(original, episode_text("moved", PAIRS[:2]))
    new = newcomer(archive, "source URL")

    report = run([archive], store)

    assert not report.failures
    assert {(r.episode_id, r.status) for r in report.results} == {
        ("same", "updated"),
        ("moved", "added"),
    }
    assert store.manifest()["same"]["file"] == str(new)
    assert first_text(store, "same") == PAIRS[2][0]


def test_prune_drops_an_episode_whose_file_now_holds_another(
    indexed: tuple[Path, Path, SegmentStore],
) -> None:
    archive, original, store = indexed
    write(original, episode_text("moved", PAIRS[:2]))

    report = run([archive], store, prune=True)

    (pruned,) = [r for r in report.results if r.status == "pruned"]
    assert pruned.episode_id == "same" and pruned.note == f"{original} now holds episode moved"
    assert set(store.manifest()) == {"moved"}
    assert not store.episode_records("same")


# --- files that are not files -----------------------------------------------------------------


def make_fifo(path: Path) -> None:
    os.mkfifo(path)


def make_socket(path: Path) -> None:
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(path))  # the file stays after the socket is closed
    sock.close()


@pytest.mark.parametrize("make, kind", [(make_fifo, "a FIFO"), (make_socket, "a socket")])
def test_a_fifo_or_socket_in_the_archive_is_skipped_with_a_reason(
    tmp_path: Path, cli_env: dict[str, str], make: object, kind: str
) -> None:
    archive = tmp_path / "archive"
    write_episode(archive, "good1", PAIRS[:2])
    write_episode(archive, "good2", PAIRS[:1])
    make(archive / "2025-10-01-odd.md")  # type: ignore[operator]
    (archive / "folder.md").mkdir()  # a folder named like a note is walked, not read

    try:
        # A timeout, so that a reader that blocks on the FIFO fails here instead of hanging.
        result = subprocess.run(
            [*ASSISTANT, "ingest", "--dry-run", str(archive)],
            env=cli_env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"the dry run hung on {kind}")

    assert result.returncode == 1
    assert "3 files: 2 ok, 1 failed" in result.stdout
    assert f"2025-10-01-odd.md: not a regular file ({kind})" in result.stderr
    assert "folder.md" not in result.stderr


def test_reading_a_fifo_named_on_its_own_is_a_parse_error(tmp_path: Path) -> None:
    fifo = tmp_path / "x.md"
    os.mkfifo(fifo)
    failures: list[BaseException] = []
    done = threading.Event()

    def read() -> None:
        try:
            read_episode(fifo, 1000)
        except BaseException as exc:
            failures.append(exc)
        done.set()

    # On a daemon thread, so that a reader blocked on the FIFO fails the test, not hangs it.
    threading.Thread(target=read, daemon=True).start()
    assert done.wait(timeout=60), "reading the FIFO blocked"
    (failure,) = failures
    assert isinstance(failure, ParseError)
    assert failure.reason == "not a regular file (a FIFO)"


# --- YAML that expands without bound ----------------------------------------------------------


def laughs(levels: int) -> str:
    """The "billion laughs": each level is nine aliases of the one before."""
    lines = ['l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, levels):
        aliases = ",".join([f"*l{level - 1}"] * 9)
        lines.append(f"l{level}: &l{level} [{aliases}]")
    return "---\n" + "\n".join(lines) + "\n---\n\n你好。\n"


def test_front_matter_that_aliases_expand_past_the_bound_is_a_parse_error() -> None:
    # Six levels: half a million values, small enough for the old code to build in memory.
    with pytest.raises(ParseError, match="invalid YAML front matter: aliases expand it"):
        parse_episode(laughs(6), "bomb.md")


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))


def test_a_billion_laughs_fails_fast_within_bounded_memory() -> None:
    bomb = laughs(9)  # 9**9 strings once written out; about 340 bytes here
    assert len(bomb) < 600
    script = (
        "import sys\nfrom assistant.parse import ParseError, parse_episode\n"
        "try:\n    parse_episode(sys.stdin.read(), 'bomb.md')\n"
        "except ParseError as exc:\n    print(exc.reason)\n"
    )
    # In a child with 2 GiB of address space: the old code ran out of it there, instead
    # of taking the machine's memory. The timeout is only a backstop.
    result = subprocess.run(
        [sys.executable, "-c", script],
        input=bomb,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=_limit_memory,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "aliases expand it by over 100,000" in result.stdout


def test_ordinary_aliases_still_parse() -> None:
    text = "---\npeople: &p [Tracy Alloway, Joe Weisenthal]\nguest: *p\n---\n\n你好。\n"
    episode = parse_episode(text, "x.md")
    assert episode.front_matter["guest"] == ["Tracy Alloway", "Joe Weisenthal"]
    assert episode.people == ["Tracy Alloway", "Joe Weisenthal"]


# --- symlinks ----------------------------------------------------------------------------------


def test_a_symlink_is_reported_by_its_archive_path(tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    target = write(tmp_path / "elsewhere" / "target.md", episode_text("linked", PAIRS[:1]))
    broken = write(tmp_path / "elsewhere" / "broken.md", "no front matter\n")
    link = archive / "2025-10-01-linked.md"
    archive.mkdir()
    link.symlink_to(target)
    (archive / "2025-10-02-bad.md").symlink_to(broken)
    (archive / "zz-again.md").symlink_to(target)  # the same file twice: taken once

    episodes, failures = parse_files(discover([archive]), 1_000_000)

    assert [e.file for e in episodes] == [str(link)]
    assert [f.file for f in failures] == [str(archive / "2025-10-02-bad.md")]


# --- one ingest at a time -------------------------------------------------------------------


def test_a_second_holder_of_the_index_lock_is_told_who_holds_it(tmp_path: Path) -> None:
    lock = tmp_path / "vs" / "x.ingest.lock"
    with hold_index_lock(lock):
        with pytest.raises(IndexBusy) as busy, hold_index_lock(lock):
            pass
        assert busy.value.holder.startswith(f"pid {os.getpid()} (assistant")
    with hold_index_lock(lock):  # free again
        pass


def test_a_killed_holder_releases_the_lock(tmp_path: Path) -> None:
    lock = tmp_path / "x.ingest.lock"
    script = (
        "import sys\nfrom pathlib import Path\n"
        "from assistant.index_lock import hold_index_lock\n"
        "with hold_index_lock(Path(sys.argv[1])):\n"
        "    print('held', flush=True)\n    sys.stdin.read()\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", script, str(lock)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert holder.stdout is not None and holder.stdout.readline() == "held\n"
    with pytest.raises(IndexBusy, match=f"pid {holder.pid} "), hold_index_lock(lock):
        pass
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=30)
    with hold_index_lock(lock):
        pass


class GatedEmbeddings:
    """An OpenAI-compatible /v1/embeddings endpoint on 127.0.0.1 (deterministic vectors)
    whose first request waits until `release` is set; `arrived` says it came."""

    def __init__(self) -> None:
        self.arrived = threading.Event()
        self.release = threading.Event()
        self.requests = 0
        self._count = threading.Lock()
        gate = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # the http.server API
                gate.answer(self)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def answer(self, request: BaseHTTPRequestHandler) -> None:
        length = int(request.headers["Content-Length"])
        texts = json.loads(request.rfile.read(length))["input"]
        with self._count:
            self.requests += 1
            first = self.requests == 1
        if first:
            self.arrived.set()
            self.release.wait(timeout=120)
        data = [
            {"object": "embedding", "index": i, "embedding": list(_digest(text))}
            for i, text in enumerate(texts)
        ]
        usage = {"prompt_tokens": 0, "total_tokens": 0}
        body = json.dumps({"object": "list", "data": data, "model": "gate", "usage": usage})
        request.send_response(200)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body.encode())


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()[:8]


@pytest.fixture
def gated_endpoint() -> Iterator[GatedEmbeddings]:
    gate = GatedEmbeddings()
    thread = threading.Thread(target=gate.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield gate
    finally:
        gate.release.set()
        gate.server.shutdown()
        gate.server.server_close()


def test_a_second_ingest_on_a_busy_index_stops_at_once_naming_the_first(
    tmp_path: Path, cli_env: dict[str, str], gated_endpoint: GatedEmbeddings
) -> None:
    archive = tmp_path / "archive"
    write_episode(archive, "vid1", PAIRS)
    write_episode(archive, "vid2", PAIRS[:2])
    env = {
        **cli_env,
        "ASSISTANT_EMBEDDER": "openai",
        "ASSISTANT_EMBEDDING_MODEL": "gate",
        "ASSISTANT_EMBEDDING_BASE_URL": gated_endpoint.url,
        "ASSISTANT_EMBEDDING_CONCURRENCY": "1",  # one request at a time: the first one waits
    }
    command = [*ASSISTANT, "ingest", str(archive)]
    first = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        # The first ingest is now embedding, inside its lock, until the gate opens.
        assert gated_endpoint.arrived.wait(timeout=120), "the first ingest never embedded"
        second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
        assert second.returncode == 75, second.stdout + second.stderr
        assert "is busy: another ingest is writing it" in second.stderr
        assert f"pid {first.pid} (assistant ingest {archive})" in second.stderr
        assert gated_endpoint.requests == 1  # it wrote and embedded nothing
    finally:
        gated_endpoint.release.set()
        stdout, stderr = first.communicate(timeout=120)
    assert first.returncode == 0, stderr
    assert "2 added" in stdout and "holds 7 segments" in stdout
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and "2 unchanged" in again.stdout


def test_notes_whose_id_starts_with_an_underscore_are_found(tmp_path: Path) -> None:
    # 135 of the 9,060 real notes are named like `_5Je2wEmA.md`, and were silently skipped.
    archive = tmp_path / "archive"
    note = write(archive / "_underscore1.md", episode_text("_underscore1", PAIRS[:1]))
    write(archive / "_drafts" / "draft.md", episode_text("draft", PAIRS[:1]))
    write(archive / ".hidden.md", episode_text("hidden", PAIRS[:1]))
    write(archive / "README.md", "# the archive\n")

    assert discover([archive]) == [note]
