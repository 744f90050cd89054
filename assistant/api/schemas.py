"""Request and response bodies of the HTTP API (the public contract lives in models.py)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from assistant.models import Filters, Passage
from assistant.service import Turn

__all__ = [
    "AskRequest",
    "ChatCompletionRequest",
    "ChatMessage",
    "EpisodeDetail",
    "EpisodeList",
    "EpisodeSummary",
    "Ready",
    "SearchRequest",
    "SearchResponse",
    "Segment",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AskRequest(_Strict):
    question: str = Field(min_length=1, description="In Chinese or English.")
    k: int = Field(default=8, ge=1, description="Passages to answer from.")
    filters: Filters | None = None
    history: list[Turn] = Field(default_factory=list, max_length=50)


class SearchRequest(_Strict):
    query: str = Field(min_length=1)
    k: int = Field(default=8, ge=1)
    filters: Filters | None = None


class SearchResponse(BaseModel):
    results: list[Passage]


class EpisodeSummary(BaseModel):
    episode_id: str
    title: str
    date: str
    speaker: str
    category: str = ""
    source_url: str = ""
    segment_count: int
    tags: list[str] = Field(default_factory=list)
    people: list[str] = Field(default_factory=list)
    companies: list[str] = Field(default_factory=list)
    url: str = Field(description="The episode in the web reader.")


class EpisodeList(BaseModel):
    total: int
    offset: int
    limit: int
    episodes: list[EpisodeSummary]


class Segment(BaseModel):
    id: str
    position: int
    section: str
    turn_speaker: str
    text_zh: str
    text_en: str
    line: int
    url: str


class EpisodeDetail(EpisodeSummary):
    summary: str = ""
    front_matter: dict[str, Any] = Field(default_factory=dict)
    segments: list[Segment]


class Ready(BaseModel):
    status: Literal["ready"]
    collection: str
    episodes: int
    segments: int
    mode: Literal["extractive", "llm"]
    worker: int = Field(description="Process id of the worker that answered (`--workers`).")


class ChatMessage(BaseModel):
    role: Literal["system", "user", "assistant", "tool", "developer"]
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        parts = self.content or []
        return "".join(str(p.get("text", "")) for p in parts if p.get("type") == "text")


class ChatCompletionRequest(BaseModel):
    """The subset of OpenAI's chat completion request that matters here; others ignored."""

    model: str = "archive"
    messages: list[ChatMessage] = Field(min_length=1, max_length=100)
    stream: bool = False
