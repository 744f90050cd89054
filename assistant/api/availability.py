"""The API while the Chroma server is away: fail fast with 503, recover by itself.

What needs Chroma (search, answers, the episode list and reader, readiness) answers 503
with a `Retry-After` as soon as a call to it fails, within the client's timeouts. What
is served from memory (liveness, the speakers list, the web page) keeps working. The
chromadb client and its collections survive a server restart on the same data, so an
open assistant recovers on the first request after Chroma is back; an API started while
Chroma was down opens its assistant then.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from assistant.index import StoreUnavailable
from assistant.service import Assistant
from assistant.settings import Settings

__all__ = ["current_assistant", "handle_unavailable", "start_assistant"]
log = logging.getLogger(__name__)


def start_assistant(app: FastAPI, open_assistant: Callable[[], Assistant]) -> None:
    """Open the app's assistant now, or, if Chroma cannot be reached, on a later request."""
    app.state.assistant = None
    app.state.open_assistant = open_assistant
    app.state.opening = threading.Lock()
    try:
        app.state.assistant = open_assistant()
        threading.Thread(
            target=app.state.assistant.archive.warm_up, name="warm-up", daemon=True
        ).start()
    except StoreUnavailable as exc:
        log.warning("serving without the index until Chroma answers: %s", exc)


def current_assistant(app: FastAPI) -> Assistant:
    """The open assistant; opened here if start-up could not. Raises `StoreUnavailable`."""
    assistant: Assistant | None = app.state.assistant
    if assistant is not None:
        return assistant
    # One request opens it; the others are told to come back rather than queue behind it.
    if not app.state.opening.acquire(blocking=False):
        raise StoreUnavailable("the index is being opened")
    try:
        if app.state.assistant is None:
            app.state.assistant = app.state.open_assistant()
            log.info("the index is open: Chroma answers again")
        opened: Assistant = app.state.assistant
        return opened
    finally:
        app.state.opening.release()


def handle_unavailable(app: FastAPI, settings: Settings) -> None:
    """Answer `StoreUnavailable` with 503, a readable `detail` and `Retry-After`."""
    wait = settings.retry_after_seconds

    @app.exception_handler(StoreUnavailable)
    async def unavailable_503(request: Request, exc: StoreUnavailable) -> JSONResponse:
        log.warning("%s %s: 503, %s", request.method, request.url.path, exc)
        return JSONResponse(
            {"detail": f"the archive's index is unreachable right now ({exc}); retry in {wait} s"},
            status_code=503,
            headers={"Retry-After": str(wait)},
        )
