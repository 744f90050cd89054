"""GET /api/episodes and /api/episodes/{episode_id}."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query

from assistant.api.deps import AssistantDep
from assistant.api.schemas import EpisodeDetail, EpisodeList, EpisodeSummary, Segment
from assistant.index import SegmentStore
from assistant.links import reader_path
from assistant.models import IsoDate

router = APIRouter(prefix="/api", tags=["episodes"])


def summary(episode_id: str, entry: dict[str, Any]) -> EpisodeSummary:
    return EpisodeSummary(
        episode_id=episode_id,
        title=str(entry.get("title", "")),
        date=str(entry.get("date", "")),
        speaker=str(entry.get("speaker", "")),
        category=str(entry.get("category", "")),
        source_url=str(entry.get("source_url", "")),
        segment_count=int(entry.get("segment_count", 0)),
        tags=list(entry.get("tags") or []),
        people=list(entry.get("people") or []),
        companies=list(entry.get("companies") or []),
        url=reader_path(episode_id),
    )


def _matches(
    e: EpisodeSummary,
    speaker: str | None,
    since: str | None,
    until: str | None,
    person: str | None,
    tag: str | None,
) -> bool:
    fold = str.casefold
    return (
        (not speaker or fold(e.speaker) == fold(speaker))
        and (not since or (bool(e.date) and e.date >= since))
        and (not until or (bool(e.date) and e.date <= until))
        and (not person or fold(person) in {fold(p) for p in e.people})
        and (not tag or fold(tag) in {fold(t) for t in e.tags})
    )


@router.get("/episodes", response_model=EpisodeList)
def list_episodes(
    assistant: AssistantDep,
    speaker: str | None = None,
    since: Annotated[IsoDate | None, Query(description="From this date, YYYY-MM-DD.")] = None,
    until: Annotated[IsoDate | None, Query(description="Up to this date, YYYY-MM-DD.")] = None,
    person: str | None = None,
    tag: str | None = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> EpisodeList:
    """Indexed episodes, newest first, filtered and paginated."""
    everything = [summary(eid, entry) for eid, entry in assistant.archive.store.manifest().items()]
    chosen = [e for e in everything if _matches(e, speaker, since, until, person, tag)]
    chosen.sort(key=lambda e: (e.date, e.episode_id), reverse=True)
    return EpisodeList(
        total=len(chosen), offset=offset, limit=limit, episodes=chosen[offset : offset + limit]
    )


@router.get("/speakers", response_model=list[str])
def speakers(assistant: AssistantDep) -> list[str]:
    """Every episode speaker (channel or host), for filter menus."""
    return sorted(
        {str(e["speaker"]) for e in assistant.archive.retriever.lexical.episodes if e["speaker"]}
    )


@router.get(
    # `path`: an id may hold '/', sent percent-encoded (see links.reader_path).
    "/episodes/{episode_id:path}",
    response_model=EpisodeDetail,
    responses={404: {"description": "No such episode."}},
)
def get_episode(episode_id: str, assistant: AssistantDep) -> EpisodeDetail:
    """One episode: its metadata and every segment, Chinese and English."""
    detail = episode_detail(assistant.archive.store, episode_id)
    if detail is None:
        raise HTTPException(404, f"no episode {episode_id!r} in the index")
    return detail


def episode_detail(store: SegmentStore, episode_id: str) -> EpisodeDetail | None:
    """The episode as the API and the MCP server return it, or None if it is not indexed."""
    found = store.episode(episode_id)
    if found is None:
        return None
    entry, front = found
    segments = [
        Segment(
            id=sid,
            position=int(m.get("position", 0)),
            section=str(m.get("section", "")),
            turn_speaker=str(m.get("turn_speaker", "")),
            text_zh=str(m.get("text_zh", "")),
            text_en=str(m.get("text_en", "")),
            line=int(m.get("line", 0)),
            url=reader_path(episode_id, int(m.get("position", 0))),
        )
        for sid, m in store.episode_segments(episode_id)
    ]
    base = summary(episode_id, entry)
    return EpisodeDetail(
        **base.model_dump(),
        summary=str(front.get("summary") or ""),
        front_matter=front,
        segments=segments,
    )
