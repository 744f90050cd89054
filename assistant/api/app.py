"""`create_app()`: the API, the web chat and the reader in one FastAPI app."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from assistant.api.availability import current_assistant, handle_unavailable, start_assistant
from assistant.api.deps import require_api_key
from assistant.api.middleware import BodyLimit, SecurityHeaders
from assistant.api.routes import ask, episodes, health, openai_compat, search, slack, web
from assistant.resources import resource_dir
from assistant.service import Assistant
from assistant.settings import Settings, get_settings

if TYPE_CHECKING:
    from slack_bolt import App

    from assistant.slack.guard import SlackGuard

__all__ = ["create_app"]
log = logging.getLogger(__name__)


def _assistant_opener(settings: Settings) -> Callable[[], Assistant]:
    """Opens the assistant; the embedder and chat model are made once, however many tries
    opening the index takes (see availability)."""
    from assistant.archive import Archive
    from assistant.embed import make_embedder
    from assistant.llm import make_chat_model

    embedder, chat = make_embedder(settings), make_chat_model(settings)
    return lambda: Assistant(Archive(settings, embedder, serve_stale=True), chat)


def create_app(settings: Settings | None = None, assistant: Assistant | None = None) -> FastAPI:
    """The app; `assistant` is opened from `settings` at start-up unless one is passed in."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        start_assistant(app, (lambda: assistant) if assistant else _assistant_opener(settings))
        yield

    app = FastAPI(
        title="Archive assistant",
        summary="Ask a bilingual archive of episode transcripts; answers cite paragraphs.",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # served offline by routes.web
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.slack = _slack_app(settings, app)
    app.state.slack_guard = _slack_guard(settings) if app.state.slack else None
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "Accept"],
        )

    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders)  # outermost: on the 413s too

    @app.exception_handler(RequestValidationError)
    async def readable_422(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [_described(e) for e in exc.errors()]
        problems = [
            f"{'.'.join(str(p) for p in e['loc'] if p != 'body') or 'body'}: {e['msg']}"
            for e in errors
        ]
        return JSONResponse({"detail": "; ".join(problems), "errors": errors}, status_code=422)

    handle_unavailable(app, settings)
    protected = [Depends(require_api_key)]
    app.include_router(health.router)
    app.include_router(search.router, dependencies=protected)
    app.include_router(ask.router, dependencies=protected)
    app.include_router(episodes.router, dependencies=protected)
    app.include_router(openai_compat.router, dependencies=protected)
    app.include_router(slack.router)
    app.include_router(web.router)
    app.mount("/static/swagger", web.swagger_assets(), name="swagger")
    app.mount("/static", StaticFiles(directory=resource_dir("web")), name="static")
    return app


def _slack_app(settings: Settings, app: FastAPI) -> App | None:
    from assistant.slack import make_slack_app, slack_configured

    if not slack_configured(settings):
        return None
    return make_slack_app(settings, lambda: current_assistant(app))


def _slack_guard(settings: Settings) -> SlackGuard:
    from assistant.slack.guard import SlackGuard

    return SlackGuard(settings.slack_signing_secret.get_secret_value())


def _described(error: Any) -> dict[str, Any]:
    """A validation error as JSON can carry it: where and what, never the input itself.

    The input is the client's (a lone surrogate, NaN, a megabyte of text): echoing it
    made the error response itself fail to encode, a 500 in place of the 422.
    """
    loc = [part if isinstance(part, int) else _printable(str(part)) for part in error["loc"]]
    return {"loc": loc, "msg": _printable(str(error["msg"])), "type": str(error["type"])}


def _printable(text: str) -> str:
    """`text` as valid UTF-8: anything that is not (a lone surrogate) as a \\u escape."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")
