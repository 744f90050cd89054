"""The shared types: what the parser produces and what every later stage consumes."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


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
