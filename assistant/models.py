"""The shared types: what the parser produces and what every later stage consumes."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def iso_date(text: str) -> str:
    """`text` if it is a calendar date written YYYY-MM-DD, else ValueError saying so.

    A filter bound that is not a date must be refused, not read as one: "2025" would
    otherwise compare as 2025-00-00 and "yesterday" as no bound at all.
    """
    if not _ISO_DATE.fullmatch(text):
        raise ValueError(f"{text!r} is not a date written YYYY-MM-DD")
    try:
        date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a calendar date") from None
    return text


IsoDate = Annotated[str, AfterValidator(iso_date)]
"""A date filter bound, as the API models, /api/episodes and the CLI all take it."""


class Segment(BaseModel):
    """One citable unit: a Chinese paragraph and the English original it translates."""

    id: str = Field(description="Stable id, '<episode_id>:<position>'.")
    episode_id: str
    position: int = Field(description="1-based position of the segment in its episode.")
    section: str = Field(default="", description="The nearest ##–#### heading above it.")
    text_zh: str = ""
    text_en: str = ""
    turn_speaker: str = Field(default="", description="Who speaks, from turn labels.")
    line: int = Field(description="1-based line in the source file where the segment starts.")
    content_hash: str = Field(description="Hash of everything that is embedded.")


class Episode(BaseModel):
    """One archive file: its front matter and its segments in document order."""

    id: str = Field(description="The YouTube v= value of `source`, else the file stem.")
    file: str
    title: str
    date: str = Field(default="", description="ISO date, or '' when missing or unreadable.")
    date_int: int = Field(default=0, description="YYYYMMDD, 0 when unknown; for range filters.")
    speaker: str = ""
    source_url: str = ""
    category: str = ""
    summary: str = ""
    tags: list[str] = Field(default_factory=list)
    people: list[str] = Field(default_factory=list)
    companies: list[str] = Field(default_factory=list)
    products: list[str] = Field(default_factory=list)
    front_matter: dict[str, Any] = Field(
        default_factory=dict, description="Every front-matter field, JSON-safe."
    )
    segments: list[Segment] = Field(default_factory=list)
    warnings: list[str] = Field(
        default_factory=list, description="Problems that did not stop parsing."
    )


class Filters(BaseModel):
    """Narrow a search. Every field is optional; set fields combine with AND."""

    speaker: str | None = Field(default=None, description="Episode speaker (channel or host).")
    turn_speaker: str | None = Field(default=None, description="Who speaks in the paragraph.")
    date_from: IsoDate | None = Field(
        default=None, description="Earliest date, YYYY-MM-DD (inclusive)."
    )
    date_to: IsoDate | None = Field(
        default=None, description="Latest date, YYYY-MM-DD (inclusive)."
    )
    person: str | None = Field(default=None, description="A name from front-matter `people`.")
    company: str | None = Field(default=None, description="From front-matter `companies_orgs`.")
    tag: str | None = Field(default=None, description="From front-matter `tags`.")
    episode: str | None = Field(default=None, description="An episode id.")

    def is_empty(self) -> bool:
        return not any(self.model_dump().values())


class Passage(BaseModel):
    """One retrieved segment, as every client sees it."""

    id: str
    episode_id: str
    title: str
    date: str
    speaker: str = Field(description="The episode's speaker (channel or host).")
    turn_speaker: str = ""
    section: str = ""
    position: int
    text_zh: str = ""
    text_en: str = ""
    source_url: str = ""
    url: str = Field(description="Permalink to the paragraph in the web reader.")
    score: float = 0.0


class Citation(Passage):
    n: int = Field(description="The marker number `[n]` in the answer text.")


class Answer(BaseModel):
    answer: str
    lang: Literal["zh", "en"]
    citations: list[Citation] = Field(default_factory=list)
    grounded: bool = Field(description="Every claim carries a valid citation.")
    mode: Literal["extractive", "llm"]
    unsupported: list[str] = Field(
        default_factory=list, description="Sentences of an LLM answer that cite no source."
    )
