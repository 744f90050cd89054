"""The web chat (`/`), the episode reader (`/episodes/{id}`) and the API docs (`/docs`):
static files from web/, and Swagger UI's assets from the `fastapi-offline` package."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from assistant.resources import resource_dir

router = APIRouter(include_in_schema=False)

# Scripts, styles and requests only from this origin, and no inline script at all: archive
# text that slipped into the page as markup could still run nothing. No page may frame us.
PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)


def _page(name: str) -> FileResponse:
    return FileResponse(
        resource_dir("web") / name, headers={"Content-Security-Policy": PAGE_POLICY}
    )


@router.get("/")
def chat_page() -> FileResponse:
    return _page("index.html")


# FastAPI's own /docs page loads Swagger UI from a CDN (blank offline) and starts it with
# inline script (blocked by PAGE_POLICY); this one needs neither.
@router.get("/docs")
def docs_page() -> FileResponse:
    return _page("docs.html")


@router.get("/favicon.ico")
def favicon() -> FileResponse:
    return FileResponse(resource_dir("web") / "favicon.ico", media_type="image/x-icon")


def swagger_assets() -> StaticFiles:
    """Swagger UI's script and stylesheet, as the `fastapi-offline` wheel ships them."""
    return StaticFiles(packages=[("fastapi_offline", "static")])


# `path`: an episode id may hold '/', sent percent-encoded (see links.reader_path).
@router.get("/episodes/{episode_id:path}")
def reader_page(episode_id: str) -> FileResponse:
    return _page("reader.html")
