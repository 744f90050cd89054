"""The Slack endpoint against malformed, replayed and retried requests, over real HTTP
(the running app; Slack's Web API replaced by test_slack's recording server)."""

# Fixtures are imported from other test modules; tests then take them as arguments.
# ruff: noqa: F811

from __future__ import annotations

import json
import time
import urllib.parse

import httpx
import pytest
from test_slack import (  # noqa: F401  (fixtures)
    SECRET,
    SlackAPI,
    api,
    archive,
    as_blocks,
    base_url,
    logs,
    post_command,
    signed,
    slack_api,
    texts,
)

from assistant.slack.guard import MAX_AGE_SECONDS, REMEMBER_SECONDS, SlackGuard, Verdict


def post(base_url: str, body: str | bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{base_url}/slack/events", content=body, headers=headers, timeout=10)


@pytest.mark.parametrize("timestamp", ["", "abc", "12x", "1e9", "-5", "0x10"])
def test_a_malformed_timestamp_is_a_401(base_url: str, api: SlackAPI, timestamp: str) -> None:
    body = urllib.parse.urlencode({"command": "/ask", "text": "谁支持降息？"})
    headers = {**signed(body), "X-Slack-Request-Timestamp": timestamp}
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    response = post(base_url, body, headers)
    assert response.status_code == 401 and "signature" in response.json()["detail"]


@pytest.mark.parametrize(
    "body", [b"{not json", b"[1, 2", b'{"a": "\\ud800', b"\xff\xfe{", b"{}" * 5000, b""]
)
def test_an_unsigned_body_that_is_not_json_is_a_401(base_url: str, body: bytes) -> None:
    for headers in ({}, {"X-Slack-Signature": "v0=00", "X-Slack-Request-Timestamp": "1"}):
        response = post(base_url, body, {"Content-Type": "application/json", **headers})
        assert response.status_code == 401


def test_a_signed_body_that_is_not_json_is_a_400(base_url: str) -> None:
    body = "{not json"
    response = post(base_url, body, {"Content-Type": "application/json", **signed(body)})
    assert response.status_code == 400 and "not JSON" in response.json()["detail"]


def test_a_replayed_command_is_answered_once(base_url: str, api: SlackAPI) -> None:
    first = post_command(base_url, "What did Michael Burry say about Nvidia?", api)
    assert first.status_code == 200 and "Searching the archive" in first.json()["text"]
    # The same signed request again, well inside the five minutes its signature is good for:
    # acknowledged, but the /ask listener (whose ack says "Searching") never runs.
    sent = first.request
    again = post(base_url, sent.content, dict(sent.headers))
    assert again.status_code == 200 and "Searching" not in again.text
    assert again.headers["x-slack-no-retry"] == "1"
    answer = api.wait_for(lambda c: c.method == "respond")
    # The same words signed at another second are a new request, and answered.
    fresh = post_command(base_url, "What did Michael Burry say about Nvidia?", api, age=-1)
    assert "Searching the archive" in fresh.text
    api.wait_for(lambda c: c.method == "respond" and c is not answer)


def event_body(event_id: str, ts: str, text: str) -> str:
    return json.dumps(
        {
            "type": "event_callback",
            "team_id": "T1",
            "api_app_id": "A1",
            "event_id": event_id,
            "event_time": int(time.time()),
            "event": {
                "type": "app_mention",
                "user": "U1",
                "text": f"<@UBOT> {text}",
                "ts": ts,
                "channel": "C1",
            },
        }
    )


@pytest.mark.parametrize("reason", ["http_error", "unknown_error", "http_timeout"])
def test_slacks_own_retries_are_not_answered_again(
    base_url: str, api: SlackAPI, reason: str
) -> None:
    body = event_body(f"Ev-retry-{reason}", f"700.{len(reason)}", "谁支持降息？")
    first = post(base_url, body, {"Content-Type": "application/json", **signed(body)})
    assert first.status_code == 200
    api.wait_for(lambda c: c.method == "chat.update")
    # Slack signs each retry anew (a later timestamp) and adds the retry headers.
    retry_headers = {
        "Content-Type": "application/json",
        **signed(body, age=-1),
        "X-Slack-Retry-Num": "1",
        "X-Slack-Retry-Reason": reason,
    }
    retry = post(base_url, body, retry_headers)
    assert retry.status_code == 200 and retry.headers["x-slack-no-retry"] == "1"
    # A later, different mention is answered; by then the retry would have posted too.
    other = event_body(f"Ev-other-{reason}", "701.1", "What did Michael Burry say about Nvidia?")
    post(base_url, other, {"Content-Type": "application/json", **signed(other)})
    api.wait_for(lambda c: c.method == "chat.update" and "Bur" in json.dumps(c.params))
    threads = [c.params["thread_ts"] for c in api.named("chat.postMessage")]
    assert threads.count(f"700.{len(reason)}") == 1


def test_a_retry_of_an_event_never_received_is_answered(base_url: str, api: SlackAPI) -> None:
    body = event_body("Ev-lost", "702.1", "谁支持降息？")
    headers = {"X-Slack-Retry-Num": "2", "X-Slack-Retry-Reason": "connection_failed"}
    post(base_url, body, {"Content-Type": "application/json", **signed(body), **headers})
    update = api.wait_for(lambda c: c.method == "chat.update")
    assert texts(as_blocks(update))[0].startswith("档案中的相关内容")


def test_the_echoed_question_is_text_not_markup(base_url: str, api: SlackAPI) -> None:
    question = "<!channel> see <https://evil.example|the Fed> & more | rates"
    post_command(base_url, question, api)
    lines = texts(as_blocks(api.wait_for(lambda c: c.method == "respond")))
    assert lines[0] == (
        "<@U1>: &lt;!channel&gt; see &lt;https://evil.example|the Fed&gt; &amp; more | rates"
    )
    assert all(line.count("<") == line.count(">") for line in lines)


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def guard_request(guard_clock: Clock, body: str) -> tuple[dict[str, str], bytes]:
    headers = {k.lower(): v for k, v in signed(body, age=time.time() - guard_clock.now).items()}
    return headers, body.encode()


def test_the_record_of_handled_requests_is_bounded_and_expires() -> None:
    clock = Clock()
    guard = SlackGuard(SECRET, clock=clock, capacity=3)
    requests = [guard_request(clock, f"text={n}") for n in range(4)]
    assert [guard.check(*r) for r in requests] == [Verdict.NEW] * 4
    # Only three are remembered: the oldest is forgotten first.
    assert guard.check(*requests[0]) is Verdict.NEW
    assert guard.check(*requests[3]) is Verdict.SEEN
    clock.now += MAX_AGE_SECONDS + 1
    assert guard.check(*requests[3]) is Verdict.UNSIGNED  # the signature is stale now
    event = event_body("Ev-late", "1.1", "hi")
    assert guard.check(*guard_request(clock, event)) is Verdict.NEW
    clock.now += REMEMBER_SECONDS - 1
    assert guard.check(*guard_request(clock, event)) is Verdict.SEEN  # a retry, re-signed
    clock.now += 2
    assert guard.check(*guard_request(clock, event)) is Verdict.NEW  # forgotten at last


def test_citation_links_are_http_only_and_escaped() -> None:
    from test_slack_blocks import citation

    from assistant.slack.blocks import citation_line

    odd = citation(source_url="https://x.example/a?b=1&c=<2>|3", url="/episodes/Q%26A#p3")
    head = citation_line(odd, "en", "https://archive.example").split("\n")[0]
    assert head.startswith("*[1]* <https://x.example/a?b=1&amp;c=&lt;2&gt;%7C3|Rates &lt;live&gt;")
    for source in ("javascript:alert(1)", "data:text/html,hi", "https://x.example/a b"):
        line = citation_line(citation(source_url=source), "en", "")
        assert line.startswith("*[1]* Rates &lt;live&gt; &amp; more · ") and "<" not in line
