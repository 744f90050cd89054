"""POST /api/ask: an answer as JSON, or streamed as server-sent events."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from itertools import chain
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from assistant.api.deps import AssistantDep, SettingsDep, check_limits
from assistant.api.schemas import AskRequest
from assistant.models import Answer
from assistant.service import Event

router = APIRouter(prefix="/api", tags=["ask"])
log = logging.getLogger(__name__)

_STREAM_DOC = {
    200: {
        "description": "The `Answer`; or, with `Accept: text/event-stream`, server-sent "
        "events: `citations` (the passages offered), `token` (text deltas), `done` (the "
        "final `Answer`, citations validated), or `error`.",
        "content": {"text/event-stream": {}},
    }
}


@router.post("/ask", response_model=Answer, responses=_STREAM_DOC)  # type: ignore[arg-type]
def ask(
    body: AskRequest, request: Request, assistant: AssistantDep, settings: SettingsDep
) -> Answer | StreamingResponse:
    """Answer `question` from the archive, in its language, with cited paragraphs."""
    check_limits(settings, body.question, body.k, "question")
    if "text/event-stream" in request.headers.get("accept", ""):
        events = assistant.ask_stream(body.question, body.k, body.filters, body.history)
        # Retrieval runs before the first event: its failure (Chroma away) is still a
        # status code here, where a started stream could only report it in-band.
        first = next(events)
        return StreamingResponse(
            _events(chain([first], events)),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    return assistant.ask(body.question, body.k, body.filters, body.history)


def sse(event: str, data: Any) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def _events(events: Iterator[Event]) -> Iterator[str]:
    try:
        for event in events:
            if event.kind == "citations":
                yield sse("citations", {"citations": [c.model_dump() for c in event.data]})
            elif event.kind == "token":
                yield sse("token", {"text": event.data})
            else:
                yield sse("done", event.data.model_dump())
    except Exception as exc:  # the stream has started: report in-band, not as a status
        log.exception("answer stream failed")
        yield sse("error", {"message": f"the answer failed: {type(exc).__name__}"})
