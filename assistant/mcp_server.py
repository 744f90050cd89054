"""`assistant mcp`: the archive as MCP tools over stdio, for agents that cite paragraphs.

The tools return the public contract (`Passage`, `Answer`, the API's `EpisodeDetail`) as
structured content, so an agent gets the same fields as a REST client.
"""

from __future__ import annotations

from typing import Annotated, TypeVar

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from assistant.api.routes.episodes import episode_detail
from assistant.api.schemas import EpisodeDetail
from assistant.models import Answer, Filters, Passage
from assistant.service import Assistant, Turn
from assistant.settings import Settings

__all__ = ["SearchResults", "make_server"]

INSTRUCTIONS = """\
A bilingual (Chinese/English) archive of podcast and video transcripts. Each passage is one
paragraph: Chinese text and the English original. `search_archive` finds paragraphs,
`ask_archive` answers with [n] citations (or says the archive does not cover it), and
`get_episode` returns a whole episode. Cite passages by their `url` or `source_url`."""

Question = Annotated[str, Field(min_length=1, max_length=2000)]
P = TypeVar("P", bound=Passage)
K = Annotated[int, Field(ge=1, le=50, description="How many passages to use.")]


class SearchResults(BaseModel):
    results: list[Passage]


def make_server(assistant: Assistant, settings: Settings) -> MCPServer:
    server = MCPServer("archive-assistant", instructions=INSTRUCTIONS)
    base = settings.public_url.rstrip("/")

    def current() -> Assistant:
        # Another process (an ingest) may have changed the index since the last call.
        assistant.archive.refresh_if_stale()
        return assistant

    def linked(passage: P) -> P:
        return passage.model_copy(update={"url": base + passage.url}) if base else passage

    @server.tool()
    def search_archive(query: Question, k: K = 8, filters: Filters | None = None) -> SearchResults:
        """The paragraphs that best match a query in Chinese or English (hybrid search).

        `filters` narrows by episode speaker, turn speaker, date range (ISO), person,
        company, tag or episode id.
        """
        return SearchResults(results=[linked(p) for p in current().search(query, k, filters)])

    @server.tool()
    def ask_archive(
        question: Question,
        k: K = 8,
        filters: Filters | None = None,
        history: Annotated[list[Turn], Field(max_length=50)] | None = None,
    ) -> Answer:
        """Answer a question from the archive, in the question's language.

        Every claim carries a citation [n] to a paragraph in `citations`; when the archive
        does not cover the question the answer says so and `citations` is empty. Pass
        earlier turns in `history` for follow-up questions.
        """
        answer = current().ask(question, k, filters, history or ())
        return answer.model_copy(update={"citations": [linked(c) for c in answer.citations]})

    @server.tool()
    def get_episode(episode_id: Annotated[str, Field(min_length=1)]) -> EpisodeDetail:
        """One episode by id (the `episode_id` of a passage): front matter and every
        paragraph in order."""
        detail = episode_detail(current().archive.store, episode_id)
        if detail is None:
            raise ToolError(f"no episode {episode_id!r} in the index")
        return detail

    return server


def serve_stdio(settings: Settings) -> None:
    make_server(Assistant.from_settings(settings), settings).run("stdio")
