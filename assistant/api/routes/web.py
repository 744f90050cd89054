"""The web chat (`/`) and the episode reader (`/episodes/{id}`): static files from web/."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse

from assistant.resources import resource_dir

router = APIRouter(include_in_schema=False)


@router.get("/")
def chat_page() -> FileResponse:
    return FileResponse(resource_dir("web") / "index.html")


@router.get("/episodes/{episode_id}")
def reader_page(episode_id: str) -> FileResponse:
    return FileResponse(resource_dir("web") / "reader.html")
