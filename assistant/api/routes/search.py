"""POST /api/search."""

from __future__ import annotations

from fastapi import APIRouter

from assistant.api.deps import AssistantDep, SettingsDep, check_limits
from assistant.api.schemas import SearchRequest, SearchResponse

router = APIRouter(prefix="/api", tags=["search"])


@router.post("/search", response_model=SearchResponse)
def search(body: SearchRequest, assistant: AssistantDep, settings: SettingsDep) -> SearchResponse:
    """The paragraphs that best match `query` (hybrid dense + BM25), best first."""
    check_limits(settings, body.query, body.k, "query")
    return SearchResponse(results=assistant.search(body.query, body.k, body.filters))
