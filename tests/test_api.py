"""The HTTP API over real HTTP: the real app, served by uvicorn on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from conftest import serve_app
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from pydantic import SecretStr

from assistant.api import create_app
from assistant.archive import Archive
from assistant.embed import NgramEmbedder
from assistant.service import Assistant
from assistant.settings import Settings


@pytest.fixture(scope="module")
def archive(indexed: Settings, ngram: NgramEmbedder) -> Archive:
    return Archive(indexed, ngram)


@pytest.fixture(scope="module")
def base_url(indexed: Settings, archive: Archive) -> Iterator[str]:
    with serve_app(create_app(indexed, Assistant(archive))) as url:
        yield url


@pytest.fixture
def client(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=60) as c:
        yield c


def events(response: httpx.Response) -> list[tuple[str, Any]]:
    out = []
    for block in response.text.split("\n\n"):
        if not block.strip():
            continue
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        out.append((lines["event"], json.loads(lines["data"])))
    return out


def test_health_and_readiness(client: httpx.Client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["segments"] == 55 and ready["episodes"] == 2
    assert ready["mode"] == "extractive"


def test_ask_returns_an_answer_with_citations(client: httpx.Client) -> None:
    answer = client.post("/api/ask", json={"question": "谁支持降息？"}).json()
    assert answer["lang"] == "zh" and answer["mode"] == "extractive" and answer["grounded"]
    first = answer["citations"][0]
    assert first["n"] == 1 and first["url"].startswith("/episodes/49u9cMwrKao#p")
    assert {
        "id",
        "episode_id",
        "title",
        "date",
        "speaker",
        "turn_speaker",
        "section",
        "position",
        "text_zh",
        "text_en",
        "source_url",
        "url",
        "score",
    } <= set(first)


def test_ask_streams_citations_tokens_then_done(client: httpx.Client) -> None:
    body = {"question": "Who backs a rate cut?", "k": 5}
    response = client.post("/api/ask", json=body, headers={"Accept": "text/event-stream"})
    assert response.headers["content-type"].startswith("text/event-stream")
    stream = events(response)
    kinds = [kind for kind, _ in stream]
    assert kinds[0] == "citations" and kinds[-1] == "done"
    assert set(kinds[1:-1]) == {"token"}
    done = stream[-1][1]
    assert "".join(d["text"] for k, d in stream if k == "token") == done["answer"]
    assert done == client.post("/api/ask", json=body).json()


def test_follow_up_history_and_filters(client: httpx.Client) -> None:
    history = [
        {
            "role": "user",
            "content": "What did Mary Daly say about a rate cut?",
            "filters": {"speaker": "Amit Kukreja"},
        },
        {"role": "assistant", "content": "She supports one [1]."},
    ]
    answer = client.post(
        "/api/ask", json={"question": "Why does she support it?", "history": history}
    ).json()
    assert answer["citations"] and {c["speaker"] for c in answer["citations"]} == {"Amit Kukreja"}


def test_search_with_filters(client: httpx.Client) -> None:
    results = client.post(
        "/api/search", json={"query": "rate cut", "k": 3, "filters": {"speaker": "Odd Lots"}}
    ).json()["results"]
    assert len(results) == 3 and {r["speaker"] for r in results} == {"Odd Lots"}


def test_episodes_list_filter_paginate_and_detail(client: httpx.Client) -> None:
    listing = client.get("/api/episodes").json()
    assert listing["total"] == 2
    assert [e["episode_id"] for e in listing["episodes"]] == ["49u9cMwrKao", "oddlots1"]
    page = client.get("/api/episodes", params={"limit": 1, "offset": 1}).json()
    assert [e["episode_id"] for e in page["episodes"]] == ["oddlots1"]
    assert client.get("/api/episodes", params={"speaker": "odd lots"}).json()["total"] == 1
    assert client.get("/api/episodes", params={"since": "2025-11-01"}).json()["total"] == 1
    assert client.get("/api/episodes", params={"person": "Michael Burry"}).json()["total"] == 2
    assert client.get("/api/episodes", params={"tag": "markets"}).json()["total"] == 1
    detail = client.get("/api/episodes/49u9cMwrKao").json()
    assert detail["title"].startswith("美联储降息信号")
    assert len(detail["segments"]) == 50 and detail["segments"][6]["position"] == 7
    assert "Mary Dailyaly" in detail["segments"][6]["text_en"]
    assert detail["front_matter"]["speaker"] == "Amit Kukreja"
    missing = client.get("/api/episodes/nope")
    assert missing.status_code == 404 and "nope" in missing.json()["detail"]


@pytest.mark.parametrize(
    ("path", "body", "fragment"),
    [
        ("/api/ask", {"question": ""}, "question: String should have at least 1 character"),
        ("/api/ask", {"question": "   "}, "question must not be blank"),
        ("/api/ask", {"question": "x" * 2001}, "limit is 2000"),
        ("/api/ask", {"question": "hi", "k": 0}, "k: Input should be greater than or equal to 1"),
        ("/api/ask", {"question": "hi", "k": 51}, "k is 51; the limit is 50"),
        ("/api/ask", {"question": "hi", "extra": 1}, "extra: Extra inputs are not permitted"),
        ("/api/ask", {"question": 5}, "question: Input should be a valid string"),
        ("/api/search", {"query": "x", "filters": {"speaker": 3}}, "filters.speaker"),
        ("/api/ask", {"question": "hi", "history": [{"role": "bot", "content": "x"}]}, "role"),
    ],
)
def test_bad_input_is_a_readable_422(
    client: httpx.Client, path: str, body: dict[str, Any], fragment: str
) -> None:
    response = client.post(path, json=body)
    assert response.status_code == 422
    assert fragment in response.json()["detail"]


def test_malformed_and_oversized_bodies(client: httpx.Client) -> None:
    broken = client.post(
        "/api/ask", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert broken.status_code == 422
    big = client.post(
        "/api/ask", content=b"x" * 300_000, headers={"content-type": "application/json"}
    )
    assert big.status_code == 413


def test_web_pages_and_static_files(client: httpx.Client) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "Archive assistant" in page.text
    reader = client.get("/episodes/49u9cMwrKao")
    assert reader.status_code == 200 and "reader.js" in reader.text
    assert "renderAnswer" in client.get("/static/app.js").text
    assert client.get("/openapi.json").json()["paths"]["/api/ask"]["post"]


def test_openai_compatible_endpoint_with_the_official_client(base_url: str) -> None:
    api = openai.OpenAI(base_url=f"{base_url}/v1", api_key="unused")
    assert [m.id for m in api.models.list()] == ["archive"]
    reply = api.chat.completions.create(
        model="archive", messages=[{"role": "user", "content": "谁支持降息？"}]
    )
    content = reply.choices[0].message.content or ""
    assert "[1]" in content and "链接：" in content and "/episodes/49u9cMwrKao#p" in content
    stream = api.chat.completions.create(
        model="archive",
        messages=[
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "Who backs a rate cut?"},
        ],
        stream=True,
    )
    pieces = [c.choices[0].delta.content or "" for c in stream if c.choices]
    streamed = "".join(pieces)
    assert streamed.startswith("From the archive:") and "Links:" in streamed
    assert len(pieces) > 3


def test_openai_endpoint_needs_a_final_user_message(client: httpx.Client) -> None:
    response = client.post(
        "/v1/chat/completions", json={"messages": [{"role": "assistant", "content": "hi"}]}
    )
    assert response.status_code == 422 and "end with a user message" in response.json()["detail"]


def test_api_key_and_cors(indexed: Settings, archive: Archive) -> None:
    settings = indexed.model_copy(
        update={"api_key": SecretStr("s3cret"), "cors_origins": ["https://tools.example"]}
    )
    app = create_app(settings, Assistant(archive))
    with serve_app(app) as url, httpx.Client(base_url=url) as c:
        assert c.get("/healthz").status_code == 200
        assert c.post("/api/search", json={"query": "rate"}).status_code == 401
        wrong = c.post(
            "/api/search", json={"query": "rate"}, headers={"Authorization": "Bearer no"}
        )
        assert wrong.status_code == 401
        assert c.get("/v1/models").status_code == 401
        ok = c.post(
            "/api/search", json={"query": "rate"}, headers={"Authorization": "Bearer s3cret"}
        )
        assert ok.status_code == 200
        preflight = c.options(
            "/api/ask",
            headers={"Origin": "https://tools.example", "Access-Control-Request-Method": "POST"},
        )
        assert preflight.headers["access-control-allow-origin"] == "https://tools.example"


def test_a_failure_mid_stream_becomes_an_error_event(indexed: Settings, archive: Archive) -> None:
    chat = FakeListChatModel(responses=["Mary Daly backs a rate cut [1]."], error_on_chunk_number=4)
    with (
        serve_app(create_app(indexed, Assistant(archive, chat))) as url,
        httpx.Client(base_url=url, timeout=60) as c,
    ):
        response = c.post(
            "/api/ask",
            json={"question": "Who backs a rate cut?"},
            headers={"Accept": "text/event-stream"},
        )
    stream = events(response)
    assert stream[0][0] == "citations" and stream[1][0] == "token"
    assert stream[-1][0] == "error" and "failed" in stream[-1][1]["message"]
