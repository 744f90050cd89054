"""The work one request can cause is bounded: a query is embedded within the model's own
window, and a conversation's history is cut to what an answer uses."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from conftest import SAMPLE

from assistant.archive import Archive
from assistant.embed import E5Embedder, Vectors
from assistant.service import Assistant, Turn
from assistant.settings import Settings

LONG = (SAMPLE / "2025-11-24-49u9cMwrKao.md").read_text(encoding="utf-8")[:2000]


def test_an_e5_query_is_embedded_within_the_models_window(e5: E5Embedder) -> None:
    long = LONG + " 美联储降息" * 2000
    cut = e5.fit_query(long)
    assert LONG.startswith(cut) and len(cut) < len(LONG)
    assert e5.fit_query(cut) == cut  # it fits the window
    # The rest is not embedded at all: it would cost seconds, and say nothing new.
    assert np.array_equal(e5.embed_query(long), e5.embed_query(cut))
    short = "谁支持降息？"
    assert e5.fit_query(short) == short


def test_e5_calls_side_by_side_give_the_vectors_of_calls_one_at_a_time(
    e5: E5Embedder,
) -> None:
    texts = ["Who supports a rate cut?", LONG, "英伟达的财报", LONG[500:], "Michael Burry"] * 2
    alone = [e5.embed_query(t) for t in texts]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(e5.embed_query, texts))
    assert all(np.array_equal(a, b) for a, b in zip(alone, together, strict=True))


class RecordingEmbedder:
    """e5, keeping the queries it is asked to embed."""

    def __init__(self, inner: E5Embedder) -> None:
        self.inner, self.name, self.identity = inner, inner.name, inner.identity
        self.queries: list[str] = []

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        return self.inner.embed_passages(texts)

    def embed_query(self, text: str) -> Vectors:
        self.queries.append(text)
        return self.inner.embed_query(text)


def test_a_follow_up_uses_no_more_of_the_history_than_a_question(
    indexed: Settings, e5: E5Embedder
) -> None:
    recorder = RecordingEmbedder(e5)
    helper = Assistant(Archive(indexed, recorder))
    limit = indexed.max_question_chars
    earlier = "Who supports a rate cut at the Fed? " * 550  # 19,800 characters
    history = [
        *[Turn(role="user", content="older question " * 100)] * 10,
        Turn(role="user", content=earlier),
        Turn(role="assistant", content="Mary Daly. " * 1800),
    ]
    answer = helper.ask("what about him?", history=history)
    assert answer.citations  # the follow-up still leans on the earlier question
    query = recorder.queries[-1]
    assert query.startswith(earlier[:100]) and query.endswith("what about him?")
    assert len(query) <= limit + len(" what about him?")
