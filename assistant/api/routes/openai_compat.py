"""POST /v1/chat/completions: the archive as an OpenAI-compatible 'model'.

Existing chat clients and tools point their base URL here. The last user message is the
question, earlier messages the history; the reply is the answer with its sources
appended as numbered links.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from itertools import chain
from typing import Any

from fastapi import APIRouter, HTTPException
from fastapi.responses import StreamingResponse

from assistant.api.deps import AssistantDep, SettingsDep, check_limits
from assistant.api.schemas import ChatCompletionRequest
from assistant.links import web_link
from assistant.models import Answer
from assistant.service import Event, Turn
from assistant.settings import Settings

router = APIRouter(prefix="/v1", tags=["openai"])
MODEL = "archive"


def sources_block(answer: Answer, settings: Settings) -> str:
    """The cited paragraphs as numbered links (reader permalink, then the video)."""
    if not answer.citations:
        return ""
    base = settings.public_url.rstrip("/")
    lines = ["", "", "Links:" if answer.lang == "en" else "链接："]
    for c in answer.citations:
        source = web_link(c.source_url)
        lines.append(f"[{c.n}] {c.title} ({c.speaker}, {c.date}) {base}{c.url} {source}".rstrip())
    return "\n".join(lines)


def _question_and_history(body: ChatCompletionRequest) -> tuple[str, list[Turn]]:
    turns = [m for m in body.messages if m.role in ("user", "assistant")]
    if not turns or turns[-1].role != "user":
        raise HTTPException(422, "messages must end with a user message (the question)")
    history = [Turn(role=m.role, content=m.text()) for m in turns[:-1]]  # type: ignore[arg-type]
    return turns[-1].text(), history


@router.get("/models")
def models() -> dict[str, Any]:
    return {"object": "list", "data": [{"id": MODEL, "object": "model", "owned_by": "assistant"}]}


@router.post("/chat/completions", response_model=None)
def chat_completions(
    body: ChatCompletionRequest, assistant: AssistantDep, settings: SettingsDep
) -> dict[str, Any] | StreamingResponse:
    question, history = _question_and_history(body)
    check_limits(settings, question, 8, "question")
    completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
    if body.stream:
        events = assistant.ask_stream(question, history=history)
        first = next(events)  # retrieval: a failure is a status code, not an in-band error
        return StreamingResponse(
            _chunks(chain([first], events), settings, completion_id),
            media_type="text/event-stream",
        )
    answer = assistant.ask(question, history=history)
    content = answer.answer + sources_block(answer, settings)
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": MODEL,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
    }


def _chunk(completion_id: str, delta: dict[str, str], finish: str | None = None) -> str:
    payload = {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": MODEL,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n"


def _chunks(events: Iterator[Event], settings: Settings, completion_id: str) -> Iterator[str]:
    yield _chunk(completion_id, {"role": "assistant", "content": ""})
    answer: Answer | None = None
    try:
        for event in events:
            if event.kind == "token":
                yield _chunk(completion_id, {"content": event.data})
            elif event.kind == "done":
                answer = event.data
    except Exception as exc:
        yield _chunk(completion_id, {"content": f"\n\n[error: {type(exc).__name__}]"}, "stop")
        yield "data: [DONE]\n\n"
        return
    if answer is not None and answer.citations:
        yield _chunk(completion_id, {"content": sources_block(answer, settings)})
    yield _chunk(completion_id, {}, "stop")
    yield "data: [DONE]\n\n"
