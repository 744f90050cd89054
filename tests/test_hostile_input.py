"""Hostile input over real HTTP: whatever a client sends is a 4xx with a readable detail,
never a 500; only http(s) URLs become links; odd episode ids are reachable; the pages
carry their security headers. The real app, served by uvicorn on 127.0.0.1."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from conftest import ASSISTANT, serve_app, write_episode

from assistant.api import create_app
from assistant.archive import Archive
from assistant.embed import E5Embedder
from assistant.ingest import ingest
from assistant.links import reader_path, web_link
from assistant.service import Assistant
from assistant.settings import Settings

# Ids as file stems and video ids make them: every one needs percent-encoding in a URL.
ODD_IDS = ["what?", "Q&A #3", "100%", "a/b"]
SCRIPT_SOURCE = "javascript:alert(document.domain)"
CABLES = ("这一段讲的是海底光缆的维修。", "This paragraph is about repairing undersea cables.")


def add_hostile_episodes(folder: Path) -> None:
    """Episodes whose ids need encoding, and one whose source is a script URL."""
    for n, episode_id in enumerate(ODD_IDS):
        source = f"https://www.youtube.com/watch?v={quote(episode_id, safe='')}"
        pairs = [(f"第{n}段：奇怪的编号。", f"Paragraph {n} of an episode with an odd id.")]
        write_episode(folder, f"odd{n}", pairs, source=source, title=f"Odd id {n}")
    write_episode(folder, "cables", [CABLES], source=SCRIPT_SOURCE, title="Undersea cables")


@pytest.fixture(scope="module")
def hostile_settings(
    tmp_path_factory: pytest.TempPathFactory, indexed: Settings, e5: E5Embedder
) -> Settings:
    root = tmp_path_factory.mktemp("hostile")
    shutil.copytree(indexed.vectorstore_dir, root / "vs")
    settings = Settings(vectorstore_dir=root / "vs")
    archive = Archive(settings, e5)
    add_hostile_episodes(root / "archive")
    report = ingest(
        [root / "archive"], archive.store, max_bytes=10**6, lexical=archive.lexical_store
    )
    assert not report.failures
    return settings


@pytest.fixture(scope="module")
def base_url(hostile_settings: Settings, e5: E5Embedder) -> Iterator[str]:
    app = create_app(hostile_settings, Assistant(Archive(hostile_settings, e5)))
    with serve_app(app) as url:
        yield url


@pytest.fixture
def client(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=60) as c:
        yield c


def a_readable_422(response: httpx.Response, *fragments: str) -> str:
    assert response.status_code == 422, (response.status_code, response.text[:500])
    detail = response.json()["detail"]
    assert isinstance(detail, str)
    for fragment in fragments:
        assert fragment in detail, detail
    return detail


# JSON spells a lone surrogate as an escape; json= would refuse to send one, so these are
# raw texts.
SURROGATE_BODIES = [
    ("/api/ask", '{"question": "rates \\ud800"}', {}),
    ("/api/ask", '{"question": "rates \\udfff"}', {"Accept": "text/event-stream"}),
    ("/api/ask", '{"question": "hi", "history": [{"role": "user", "content": "\\ud800"}]}', {}),
    ("/api/ask", '{"question": "hi", "filters": {"speaker": "\\ud800"}}', {}),
    ("/api/ask", '{"question": "hi", "\\ud800": 1}', {}),
    ("/api/search", '{"query": "\\ud800 rates"}', {}),
    ("/v1/chat/completions", '{"messages": [{"role": "user", "content": "\\ud800"}]}', {}),
    (
        "/v1/chat/completions",
        '{"messages": [{"role": "user", "content": [{"type": "text", "text": "\\ud800"}]}]}',
        {},
    ),
    (
        "/v1/chat/completions",
        '{"stream": true, "messages": [{"role": "user", "content": "a \\ud800"}]}',
        {},
    ),
]


@pytest.mark.parametrize(("path", "body", "headers"), SURROGATE_BODIES)
def test_a_lone_surrogate_anywhere_is_a_readable_422(
    client: httpx.Client, path: str, body: str, headers: dict[str, str]
) -> None:
    response = client.post(
        path, content=body, headers={"Content-Type": "application/json", **headers}
    )
    a_readable_422(response, "not valid Unicode")


@pytest.mark.parametrize("number", ["1e400", "-1e400", "NaN", "Infinity", "-Infinity"])
@pytest.mark.parametrize(("path", "field"), [("/api/ask", "question"), ("/api/search", "query")])
def test_a_number_json_cannot_carry_back_is_a_readable_422(
    client: httpx.Client, number: str, path: str, field: str
) -> None:
    body = f'{{"{field}": "rates", "k": {number}}}'
    response = client.post(path, content=body, headers={"Content-Type": "application/json"})
    a_readable_422(response, "k: ")


def test_an_earlier_v1_message_over_the_length_limit_is_a_422(client: httpx.Client) -> None:
    messages = [
        {"role": "user", "content": "x" * 20_001},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": "Who backs a rate cut?"},
    ]
    response = client.post("/v1/chat/completions", json={"messages": messages})
    a_readable_422(response, "messages.0", "20000")
    parts = [{"type": "text", "text": "y" * 20_001}]
    messages[1] = {"role": "assistant", "content": parts}  # type: ignore[dict-item]
    messages[0]["content"] = "fine"
    response = client.post("/v1/chat/completions", json={"messages": messages})
    a_readable_422(response, "messages.1")


def chunked(total: int, piece: int = 64 * 1024) -> Iterator[bytes]:
    """A JSON body of about `total` bytes, sent without a Content-Length."""
    yield b'{"question": "hi", "history": [{"role": "user", "content": "'
    for _ in range(total // piece):
        yield b"x" * piece
    yield b'"}]}'


@pytest.mark.parametrize("total", [300_000, 10_000_000])
def test_a_chunked_body_over_the_limit_is_a_413(
    client: httpx.Client, base_url: str, total: int
) -> None:
    response = client.post(
        "/api/ask", content=chunked(total), headers={"Content-Type": "application/json"}
    )
    assert response.request.headers.get("transfer-encoding") == "chunked"
    assert response.status_code == 413 and "256000 bytes" in response.json()["detail"]
    # The server is still there, and a chunked body under the limit is read as before.
    small = httpx.post(
        f"{base_url}/api/ask",
        content=iter([b'{"question": ', b'"Who backs a rate cut?"}']),
        headers={"Content-Type": "application/json"},
        timeout=60,
    )
    assert small.status_code == 200 and small.json()["citations"]


NOT_DATES = ["2025-13-45", "yesterday", "2025", "2025-02-30", "20250101", "2025-1-1", ""]


@pytest.mark.parametrize("bad", NOT_DATES)
def test_a_date_filter_that_is_not_a_date_is_a_422(client: httpx.Client, bad: str) -> None:
    search = {"query": "rate cut", "filters": {"date_from": bad}}
    a_readable_422(client.post("/api/search", json=search), "filters.date_from")
    ask = {"question": "rate cut?", "filters": {"date_to": bad}}
    a_readable_422(client.post("/api/ask", json=ask), "filters.date_to")
    history = [{"role": "user", "content": "rates?", "filters": {"date_to": bad}}]
    ask = {"question": "and cuts?", "history": history}
    a_readable_422(client.post("/api/ask", json=ask), "history.0.filters.date_to")
    a_readable_422(client.get("/api/episodes", params={"since": bad}), "query.since")
    a_readable_422(client.get("/api/episodes", params={"until": bad}), "query.until")


def test_real_dates_still_filter(client: httpx.Client) -> None:
    assert client.get("/api/episodes", params={"since": "2025-11-01"}).json()["total"] == 1
    search = {"query": "rate cut", "filters": {"date_from": "2025-11-01", "date_to": "2025-11-30"}}
    results = client.post("/api/search", json=search).json()["results"]
    assert results and {r["date"][:7] for r in results} == {"2025-11"}


@pytest.mark.parametrize("option", ["--since", "--until"])
@pytest.mark.parametrize("command", ["search", "ask"])
def test_the_cli_refuses_a_date_filter_that_is_not_a_date(
    cli_env: dict[str, str], option: str, command: str
) -> None:
    done = subprocess.run(
        [*ASSISTANT, command, "rate cut", option, "2025-13-45"],
        env={**cli_env, "COLUMNS": "200"},  # the error box on one line
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert option in done.stderr and "not a calendar date" in done.stderr


def episode_urls(client: httpx.Client) -> dict[str, str]:
    listing = client.get("/api/episodes", params={"limit": 500}).json()["episodes"]
    return {e["episode_id"]: e["url"] for e in listing}


@pytest.mark.parametrize("episode_id", ODD_IDS)
def test_odd_episode_ids_are_percent_encoded_and_reachable(
    client: httpx.Client, episode_id: str
) -> None:
    url = episode_urls(client)[episode_id]
    assert url == "/episodes/" + quote(episode_id, safe="")
    page = client.get(url)
    assert page.status_code == 200 and "reader.js" in page.text
    detail = client.get("/api" + url)
    assert detail.status_code == 200 and detail.json()["episode_id"] == episode_id
    assert [s["url"] for s in detail.json()["segments"]] == [f"{url}#p1"]
    n = ODD_IDS.index(episode_id)
    found = client.post("/api/search", json={"query": f"Paragraph {n} of an odd id"}).json()
    cited = [r["url"] for r in found["results"] if r["episode_id"] == episode_id]
    assert cited == [f"{url}#p1"]


@pytest.mark.parametrize(
    ("url", "link"),
    [
        ("https://www.youtube.com/watch?v=x", "https://www.youtube.com/watch?v=x"),
        (" http://example.com/a?b=1&c=2 ", "http://example.com/a?b=1&c=2"),
        ("javascript:alert(1)", ""),
        ("JavaScript:alert(1)", ""),
        ("java\tscript:alert(1)", ""),
        ("data:text/html,<script>alert(1)</script>", ""),
        ("vbscript:msgbox", ""),
        ("//evil.example/x", ""),
        ("/episodes/x", ""),
        ("https://", ""),
        ("https://example.com/a b", ""),
        ("https://[::1", ""),
        ("", ""),
    ],
)
def test_only_http_urls_may_become_links(url: str, link: str) -> None:
    assert web_link(url) == link


def test_the_v1_link_list_holds_no_script_url(client: httpx.Client) -> None:
    question = {"role": "user", "content": "Who repairs undersea cables?"}
    reply = client.post("/v1/chat/completions", json={"messages": [question]}).json()
    content = reply["choices"][0]["message"]["content"]
    assert "Links:" in content and "/episodes/2025-10-01-cables#p1" in content
    assert "javascript:" not in content
    answer = client.post("/api/ask", json={"question": "Who repairs undersea cables?"}).json()
    # The API still reports the field as the archive holds it; renderers decide on links.
    assert SCRIPT_SOURCE in {c["source_url"] for c in answer["citations"]}


@pytest.mark.parametrize("command", ["search", "ask"])
def test_the_cli_prints_no_script_url(
    cli_env: dict[str, str], hostile_settings: Settings, command: str
) -> None:
    env = {**cli_env, "ASSISTANT_VECTORSTORE_DIR": str(hostile_settings.vectorstore_dir)}
    done = subprocess.run(
        [*ASSISTANT, command, "Who repairs undersea cables?", "--k", "3"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "/episodes/2025-10-01-cables#p1" in done.stdout and "javascript:" not in done.stdout


def test_reader_path_encodes_every_reserved_character() -> None:
    assert reader_path("Q&A #3", 2) == "/episodes/Q%26A%20%233#p2"
    assert reader_path("a/b") == "/episodes/a%2Fb"
    assert reader_path("100%") == "/episodes/100%25"
    assert reader_path("what?") == "/episodes/what%3F"


@pytest.mark.parametrize("path", ["/", "/episodes/49u9cMwrKao", "/episodes/a%2Fb"])
def test_pages_carry_a_policy_without_inline_script(client: httpx.Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    policy = response.headers["content-security-policy"]
    directives = {d.split()[0]: d.split()[1:] for d in policy.split("; ")}
    assert directives["script-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["object-src"] == ["'none'"]
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    # Nothing inline that the policy would block: no script body, no on… handler.
    assert not re.search(r"<script[^>]*>\s*[^<\s]", response.text)
    assert not re.search(r"<[^>]*\son[a-z]+\s*=", response.text)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/static/app.js", None),
        ("GET", "/static/links.js", None),
        ("GET", "/api/episodes", None),
        ("POST", "/api/ask", {"question": ""}),
        ("GET", "/healthz", None),
    ],
)
def test_every_response_is_nosniff_and_unframeable(
    client: httpx.Client, method: str, path: str, body: Any
) -> None:
    response = client.request(method, path, json=body)
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
