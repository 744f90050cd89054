"""POST /slack/events: Slack's Events API, slash commands and interactivity, via Bolt."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

router = APIRouter(tags=["slack"])

NOT_CONFIGURED = (
    "Slack is not configured on this server: set ASSISTANT_SLACK_SIGNING_SECRET and "
    "ASSISTANT_SLACK_BOT_TOKEN (see the README's Slack section)."
)


@router.post("/slack/events", include_in_schema=False)
async def slack_events(request: Request) -> Response:
    bolt = getattr(request.app.state, "slack", None)
    if bolt is None:
        return JSONResponse({"detail": NOT_CONFIGURED}, status_code=503)
    # Slack resends an event it thinks timed out; the first delivery is already answered.
    if request.headers.get("x-slack-retry-reason") == "http_timeout":
        return Response(status_code=200)
    # Imported here: Bolt costs a tenth of a second of start-up to servers without Slack.
    from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response

    body = await request.body()
    # dispatch verifies the signature and may call auth.test once: off the event loop.
    response = await run_in_threadpool(bolt.dispatch, to_bolt_request(request, body))
    return to_starlette_response(response)
