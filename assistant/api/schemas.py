"""Request and response bodies of the HTTP API (the public contract lives in models.py)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from assistant.models import Filters, Passage
from assistant.service import MAX_TURN_CHARS, Turn

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


class _Request(BaseModel):
    """A request body. Every string in it, at any depth, must be valid Unicode.

    JSON may spell a lone surrogate (`"\\ud800"`), which no UTF-8 response can carry: let
    through, it failed the answer (or the 422 that echoed it) as a 500. Checked once
    here, on the raw body, it covers every field, including free-form ones.
    """

    @model_validator(mode="before")
    @classmethod
    def _valid_unicode(cls, data: Any) -> Any:
        where = _lone_surrogate(data)
        if where is not None:
            raise PydanticCustomError(
                "unicode",
                "{where} is not valid Unicode (it holds a lone surrogate)",
                {"where": where or "the body"},
            )
        return data


def _lone_surrogate(data: Any) -> str | None:
    """The path of the first string (value or key) in `data` that UTF-8 cannot encode."""
    stack: list[tuple[str, Any]] = [("", data)]  # not recursive: JSON nests deep
    while stack:
        path, value = stack.pop()
        if isinstance(value, dict):
            stack += [(_join(path, key), key) for key in value]
            stack += [(_join(path, key), v) for key, v in value.items()]
        elif isinstance(value, list):
            stack += [(_join(path, n), v) for n, v in enumerate(value)]
        elif isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return path.encode("utf-8", "backslashreplace").decode()
    return None


def _join(path: str, key: object) -> str:
    return f"{path}.{key}" if path else str(key)


class _Strict(_Request):
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


class ChatMessage(BaseModel):
    role: Literal["system", "user", "assistant", "tool", "developer"]
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        parts = self.content or []
        return "".join(str(p.get("text", "")) for p in parts if p.get("type") == "text")

    @model_validator(mode="after")
    def _fits_in_a_turn(self) -> ChatMessage:
        # Earlier messages become the conversation's turns, held to the same limit.
        length = len(self.text())
        if self.role in ("user", "assistant") and length > MAX_TURN_CHARS:
            raise ValueError(f"{length} characters; a message may have {MAX_TURN_CHARS}")
        return self


class ChatCompletionRequest(_Request):
    """The subset of OpenAI's chat completion request that matters here; others ignored."""

    model: str = "archive"
    messages: list[ChatMessage] = Field(min_length=1, max_length=100)
    stream: bool = False
