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
    # Imported here: Bolt costs a tenth of a second of start-up to servers without Slack.
    from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response

    from assistant.slack.guard import Verdict

    body = await request.body()
    verdict = request.app.state.slack_guard.check(request.headers, body)
    if verdict is Verdict.UNSIGNED:
        return JSONResponse({"detail": "missing, stale or wrong Slack signature"}, 401)
    # Handled already (a replay, or a retry of an event this process took), or resent by
    # Slack because the first delivery timed out: that one is being answered, maybe by
    # another worker. Slack reads X-Slack-No-Retry as "do not try again".
    if verdict is Verdict.SEEN or request.headers.get("x-slack-retry-reason") == "http_timeout":
        return Response(status_code=200, headers={"X-Slack-No-Retry": "1"})
    try:
        bolt_request = to_bolt_request(request, body)
    except ValueError:  # signed, yet no body Bolt can read
        return JSONResponse({"detail": "the request body is not JSON or a form"}, 400)
    # dispatch may call auth.test once: off the event loop.
    response = await run_in_threadpool(bolt.dispatch, bolt_request)
    return to_starlette_response(response)
