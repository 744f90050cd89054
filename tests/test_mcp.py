"""`assistant mcp` over stdio, driven by the MCP SDK's own client."""

from __future__ import annotations

import os
import sys
from typing import Any

import anyio
import pytest
from conftest import ROOT
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from assistant.settings import Settings


def _server(settings: Settings, **extra: str) -> StdioServerParameters:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env |= {
        "ASSISTANT_VECTORSTORE_DIR": str(settings.vectorstore_dir),
        "ASSISTANT_EMBEDDER": settings.embedder,
        "PYTHONPATH": str(ROOT),
        **extra,
    }
    return StdioServerParameters(
        command=sys.executable, args=["-m", "assistant.cli", "mcp"], env=env, cwd=str(ROOT)
    )


Calls = list[tuple[str, dict[str, Any]]]


async def _session(settings: Settings, calls: Calls, **extra: str) -> dict[str, Any]:
    results: dict[str, Any] = {}
    async with Client(_server(settings, **extra), read_timeout_seconds=120) as client:
        tools = await client.list_tools()
        results["tools"] = {t.name: t for t in tools.tools}
        for name, arguments in calls:
            results[_key(name, arguments)] = await client.call_tool(name, arguments)
    return results


def run(settings: Settings, calls: Calls, **extra: str) -> dict[str, Any]:
    return anyio.run(lambda: _session(settings, calls, **extra))


@pytest.fixture(scope="module")
def session(indexed: Settings) -> dict[str, Any]:
    calls = [
        ("search_archive", {"query": "Nvidia earnings beat expectations", "k": 3}),
        ("ask_archive", {"question": "What did Michael Burry say about Nvidia?"}),
        ("ask_archive", {"question": "谁支持降息？"}),
        ("ask_archive", {"question": "What is the capital of Peru?"}),
        ("get_episode", {"episode_id": "oddlots1"}),
        ("get_episode", {"episode_id": "nope"}),
        ("search_archive", {"query": "rates", "filters": {"episode": "oddlots1"}}),
        ("search_archive", {"query": ""}),
    ]
    return run(indexed, calls, ASSISTANT_PUBLIC_URL="https://archive.example")


def _key(name: str, arguments: dict[str, Any]) -> str:
    return name + repr(sorted(arguments.items()))


def result(session: dict[str, Any], name: str, **arguments: Any) -> Any:
    return session[_key(name, arguments)]


def test_lists_the_three_tools_with_schemas(session: dict[str, Any]) -> None:
    tools = session["tools"]
    assert set(tools) == {"search_archive", "ask_archive", "get_episode"}
    assert "query" in tools["search_archive"].input_schema["properties"]
    assert tools["ask_archive"].input_schema["required"] == ["question"]
    # Structured output: agents get the public contract's fields, not prose.
    assert "citations" in tools["ask_archive"].output_schema["properties"]


def test_search_returns_passages_with_absolute_reader_links(session: dict[str, Any]) -> None:
    found = result(session, "search_archive", query="Nvidia earnings beat expectations", k=3)
    assert not found.is_error
    passages = found.structured_content["results"]
    assert len(passages) == 3
    hit = next(p for p in passages if p["episode_id"] == "oddlots1")
    assert hit["text_en"] == "Nvidia's earnings beat expectations."
    assert hit["url"] == "https://archive.example/episodes/oddlots1#p2"
    assert hit["source_url"] == "https://www.youtube.com/watch?v=oddlots1"


def test_ask_answers_in_the_question_language_with_citations(session: dict[str, Any]) -> None:
    en = result(session, "ask_archive", question="What did Michael Burry say about Nvidia?")
    answer = en.structured_content
    assert answer["lang"] == "en" and answer["citations"]
    assert "[1]" in answer["answer"]
    assert answer["citations"][0]["url"].startswith("https://archive.example/episodes/")
    zh = result(session, "ask_archive", question="谁支持降息？").structured_content
    assert zh["lang"] == "zh" and zh["citations"]


def test_ask_abstains_outside_the_archive(session: dict[str, Any]) -> None:
    answer = result(session, "ask_archive", question="What is the capital of Peru?")
    assert answer.structured_content["citations"] == []
    assert "archive" in answer.structured_content["answer"].lower()


def test_get_episode_and_unknown_episode(session: dict[str, Any]) -> None:
    episode = result(session, "get_episode", episode_id="oddlots1").structured_content
    assert episode["episode_id"] == "oddlots1"
    assert [s["text_zh"] for s in episode["segments"]][:2] == [
        "美联储可能在十二月降息。",
        "英伟达的财报超出预期。",
    ]
    missing = result(session, "get_episode", episode_id="nope")
    assert missing.is_error
    assert "no episode 'nope'" in missing.content[0].text


def test_filters_and_invalid_arguments(session: dict[str, Any]) -> None:
    filtered = result(session, "search_archive", query="rates", filters={"episode": "oddlots1"})
    assert {p["episode_id"] for p in filtered.structured_content["results"]} == {"oddlots1"}
    empty = result(session, "search_archive", query="")
    assert empty.is_error
