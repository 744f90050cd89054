"""The Slack bot over real HTTP: signed requests to the running app, Slack's Web API replaced
by a recording server on 127.0.0.1 (the SDK client's base URL points at it)."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import subprocess
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from conftest import ASSISTANT, ROOT, serve_app
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from pydantic import SecretStr
from slack_bolt import App

from assistant.api import create_app
from assistant.archive import Archive
from assistant.embed import NgramEmbedder
from assistant.service import Assistant
from assistant.settings import Settings

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BOT_TOKEN = "xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy"
PUBLIC = "https://archive.example"


@dataclass
class Call:
    method: str  # the Web API method, or "respond" for a response URL
    params: dict[str, Any]
    headers: dict[str, str]
    reply: dict[str, Any] = field(default_factory=dict)


@dataclass
class SlackAPI:
    """Records every Web API call; answers as Slack would, minimally."""

    url: str = ""
    socket_url: str = ""
    calls: list[Call] = field(default_factory=list)
    threads: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def record(self, call: Call) -> dict[str, Any]:
        with self.changed:
            call.reply = self._reply(call, len(self.calls) + 1)
            self.calls.append(call)
            self.changed.notify_all()
        return call.reply

    def _reply(self, call: Call, count: int) -> dict[str, Any]:
        if call.method == "auth.test":
            return {"ok": True, "user_id": "UBOT", "bot_id": "BBOT", "team_id": "T1"}
        if call.method == "apps.connections.open":
            return {"ok": True, "url": self.socket_url}
        if call.method == "conversations.replies":
            return {"ok": True, "messages": self.threads.get(call.params.get("ts", ""), [])}
        if call.method in ("chat.postMessage", "chat.update"):
            # A new ts for every message, as Slack gives: an update must name the right one.
            return {"ok": True, "channel": call.params.get("channel"), "ts": f"900.{count}"}
        return {"ok": True}

    def wait_for(self, predicate: Callable[[Call], bool], timeout: float = 60) -> Call:
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                found = next((c for c in self.calls if predicate(c)), None)
                if found is not None:
                    return found
                left = deadline - time.monotonic()
                assert left > 0, f"no such call; got {[c.method for c in self.calls]}"
                self.changed.wait(left)

    def named(self, method: str) -> list[Call]:
        with self.changed:
            return [c for c in self.calls if c.method == method]

    def clear(self) -> None:
        with self.changed:
            self.calls.clear()


class Listeners(ThreadPoolExecutor):
    """Bolt's pool for the listeners it starts after acknowledging a request, counting what
    it was given. Bolt submits before the HTTP response goes out, so once a test has the
    response, `wait_idle` covers every listener that request started: "nothing happened"
    then means nothing, not "nothing yet"."""

    def __init__(self) -> None:
        super().__init__(max_workers=5, thread_name_prefix="bolt-listener")
        self.started = 0
        self._pending: list[Future[Any]] = []
        self._lock = threading.Lock()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future = super().submit(fn, *args, **kwargs)
        with self._lock:
            self.started += 1
            self._pending.append(future)
        return future

    def wait_idle(self, timeout: float = 60) -> None:
        with self._lock:
            pending, self._pending = self._pending, []
        assert not wait(pending, timeout).not_done, "a listener is still running"

    def serve(self, bolt: App | None) -> None:
        assert bolt is not None
        bolt.listener_runner.listener_executor = self


@pytest.fixture(scope="module")
def listeners() -> Iterator[Listeners]:
    pool = Listeners()
    yield pool
    pool.shutdown()


@pytest.fixture(scope="module")
def slack_api() -> Iterator[SlackAPI]:
    api = SlackAPI()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
            self._answer(query)

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("content-length") or 0)).decode()
            if self.headers.get("content-type", "").startswith("application/json"):
                params = json.loads(raw or "{}")
            else:
                params = dict(urllib.parse.parse_qsl(raw))
            self._answer(params)

        def _answer(self, params: dict[str, Any]) -> None:
            path = urllib.parse.urlsplit(self.path).path
            method = "respond" if path.startswith("/respond/") else path.rsplit("/", 1)[-1]
            reply = api.record(Call(method, params, dict(self.headers)))
            body = b"ok" if method == "respond" else json.dumps(reply).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    api.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield api
    server.shutdown()


@pytest.fixture(scope="module")
def archive(indexed: Settings, ngram: NgramEmbedder) -> Archive:
    return Archive(indexed, ngram)


def slack_settings(indexed: Settings, slack_api: SlackAPI) -> Settings:
    return indexed.model_copy(
        update={
            "slack_signing_secret": SecretStr(SECRET),
            "slack_bot_token": SecretStr(BOT_TOKEN),
            "slack_api_url": f"{slack_api.url}/api/",
            "public_url": PUBLIC,
        }
    )


@pytest.fixture(scope="module")
def logs() -> Iterator[list[str]]:
    """Every log line written while the module runs, at DEBUG, from every library."""
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    root = logging.getLogger()
    handler, level = Keep(level=logging.DEBUG), root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield lines
    root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture(scope="module")
def base_url(
    indexed: Settings, archive: Archive, slack_api: SlackAPI, logs: list[str], listeners: Listeners
) -> Iterator[str]:
    app = create_app(slack_settings(indexed, slack_api), Assistant(archive))
    listeners.serve(app.state.slack)
    with serve_app(app) as url:
        yield url


@pytest.fixture
def api(slack_api: SlackAPI) -> SlackAPI:
    slack_api.clear()
    slack_api.threads.clear()
    return slack_api


def signed(body: str, secret: str = SECRET, age: float = 0) -> dict[str, str]:
    """Headers as Slack sends them: HMAC-SHA256 of `v0:timestamp:body` with the secret."""
    timestamp = str(int(time.time() - age))
    digest = hmac.new(secret.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256)
    return {
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": f"v0={digest.hexdigest()}",
    }


def post_event(base_url: str, event: dict[str, Any], **sign: Any) -> httpx.Response:
    body = json.dumps(
        {
            "type": "event_callback",
            "team_id": "T1",
            "api_app_id": "A1",
            "event_id": f"Ev{time.monotonic_ns()}",
            "event_time": int(time.time()),
            "event": event,
        }
    )
    headers = {"Content-Type": "application/json", **signed(body, **sign)}
    return httpx.post(f"{base_url}/slack/events", content=body, headers=headers, timeout=10)


def post_command(base_url: str, text: str, api: SlackAPI, **sign: Any) -> httpx.Response:
    body = urllib.parse.urlencode(
        {
            "command": "/ask",
            "text": text,
            "team_id": "T1",
            "channel_id": "C1",
            "user_id": "U1",
            "response_url": f"{api.url}/respond/T1/1/abc",
            "trigger_id": "1.2.3",
        }
    )
    headers = {"Content-Type": "application/x-www-form-urlencoded", **signed(body, **sign)}
    return httpx.post(f"{base_url}/slack/events", content=body, headers=headers, timeout=10)


def texts(blocks: list[dict[str, Any]]) -> list[str]:
    found = []
    for block in blocks:
        if block["type"] == "section":
            found.append(block["text"]["text"])
        elif block["type"] == "context":
            found += [e["text"] for e in block["elements"]]
    return found


def as_blocks(call: Call) -> list[dict[str, Any]]:
    blocks = call.params["blocks"]
    return json.loads(blocks) if isinstance(blocks, str) else list(blocks)


def test_slash_command_acks_at_once_then_answers_in_channel(base_url: str, api: SlackAPI) -> None:
    started = time.monotonic()
    ack = post_command(base_url, "What did Michael Burry say about Nvidia?", api)
    assert ack.status_code == 200 and time.monotonic() - started < 3
    assert "Searching the archive" in ack.json()["text"]
    assert ack.json()["response_type"] == "ephemeral"
    answer = api.wait_for(lambda c: c.method == "respond")
    assert answer.params["response_type"] == "in_channel"
    lines = texts(as_blocks(answer))
    assert lines[0] == "<@U1>: What did Michael Burry say about Nvidia?"
    assert lines[1].startswith("From the archive:") and "[1]" in lines[1]
    assert "Sources:" not in lines[1]  # the citations are context lines instead
    citations = [line for line in lines if line.startswith("*[")]
    assert citations and citations[0].startswith("*[1]* <https://www.youtube.com/watch?v=")
    assert f"<{PUBLIC}/episodes/" in citations[0] and "|paragraph>" in citations[0]


def test_a_chinese_command_is_answered_in_chinese(base_url: str, api: SlackAPI) -> None:
    ack = post_command(base_url, "谁支持降息？", api)
    assert "正在检索档案" in ack.json()["text"]
    lines = texts(as_blocks(api.wait_for(lambda c: c.method == "respond")))
    assert lines[1].startswith("档案中的相关内容") and "[1]" in lines[1]
    assert any("|段落>" in line for line in lines)


def test_an_abstention_is_a_clear_message(base_url: str, api: SlackAPI) -> None:
    post_command(base_url, "What is the capital of Peru?", api)
    lines = texts(as_blocks(api.wait_for(lambda c: c.method == "respond")))
    assert "does not cover" in lines[1]
    assert lines[2].startswith("No paragraph in the archive answers this")


def test_an_empty_command_gets_usage(base_url: str, api: SlackAPI, listeners: Listeners) -> None:
    ack = post_command(base_url, "   ", api)
    assert "/ask What did Michael Burry say" in ack.text
    listeners.wait_idle()
    assert not api.named("respond")


def test_a_mention_is_answered_in_its_thread(base_url: str, api: SlackAPI) -> None:
    event = {
        "type": "app_mention",
        "user": "U1",
        "text": "<@UBOT> What did Michael Burry say about Nvidia?",
        "ts": "100.1",
        "channel": "C1",
    }
    assert post_event(base_url, event).status_code == 200
    searching = api.wait_for(lambda c: c.method == "chat.postMessage")
    assert searching.params["thread_ts"] == "100.1" and searching.params["channel"] == "C1"
    assert "Searching" in searching.params["text"]
    assert searching.headers["Authorization"] == f"Bearer {BOT_TOKEN}"
    update = api.wait_for(lambda c: c.method == "chat.update")
    assert update.params["ts"] == searching.reply["ts"]  # the "searching…" message, replaced
    lines = texts(as_blocks(update))
    assert lines[0].startswith("From the archive:")
    assert any("Bur" in line for line in lines if line.startswith("*["))


def test_a_thread_follow_up_is_answered_with_the_thread_as_history(
    base_url: str, api: SlackAPI
) -> None:
    api.threads["100.1"] = [
        {"user": "U1", "ts": "100.1", "text": "<@UBOT> What did Michael Burry say about Nvidia?"},
        {"user": "UBOT", "bot_id": "BBOT", "ts": "100.2", "text": "From the archive: …"},
        {"user": "U1", "ts": "100.3", "text": "What else did he say?"},
    ]
    event = {
        "type": "message",
        "channel_type": "channel",
        "user": "U1",
        "text": "What else did he say?",
        "ts": "100.3",
        "thread_ts": "100.1",
        "channel": "C1",
    }
    assert post_event(base_url, event).status_code == 200
    replies = api.wait_for(lambda c: c.method == "conversations.replies")
    assert replies.params["ts"] == "100.1"
    searching = api.wait_for(lambda c: c.method == "chat.postMessage")
    assert searching.params["thread_ts"] == "100.1"
    lines = texts(as_blocks(api.wait_for(lambda c: c.method == "chat.update")))
    # "he" is Burry only through the thread: the answer cites him.
    assert any("Bur" in line or "伯里" in line for line in lines if line.startswith("*["))


def test_a_thread_the_bot_is_not_in_is_left_alone(
    base_url: str, api: SlackAPI, listeners: Listeners
) -> None:
    api.threads["200.1"] = [
        {"user": "U1", "ts": "200.1", "text": "lunch?"},
        {"user": "U2", "ts": "200.2", "text": "What did Burry say?"},
    ]
    event = {
        "type": "message",
        "channel_type": "channel",
        "user": "U2",
        "text": "What did Burry say?",
        "ts": "200.2",
        "thread_ts": "200.1",
        "channel": "C1",
    }
    assert post_event(base_url, event).status_code == 200
    api.wait_for(lambda c: c.method == "conversations.replies")
    listeners.wait_idle()
    assert not api.named("chat.postMessage")


def test_a_direct_message_is_answered(base_url: str, api: SlackAPI) -> None:
    event = {
        "type": "message",
        "channel_type": "im",
        "user": "U1",
        "text": "谁支持降息？",
        "ts": "300.1",
        "channel": "D1",
    }
    assert post_event(base_url, event).status_code == 200
    searching = api.wait_for(lambda c: c.method == "chat.postMessage")
    assert searching.params["channel"] == "D1" and searching.params["thread_ts"] == "300.1"
    lines = texts(as_blocks(api.wait_for(lambda c: c.method == "chat.update")))
    assert lines[0].startswith("档案中的相关内容")


@pytest.mark.parametrize(
    "event",
    [
        {"type": "message", "channel_type": "im", "bot_id": "B2", "text": "谁支持降息？"},
        {"type": "message", "channel_type": "im", "subtype": "bot_message", "text": "hi"},
        {"type": "message", "channel_type": "im", "user": "UBOT", "text": "谁支持降息？"},
        {"type": "app_mention", "bot_id": "B2", "user": "U9", "text": "<@UBOT> 谁支持降息？"},
    ],
    ids=["other-bot", "bot-message", "itself", "bot-mention"],
)
def test_bots_and_the_bot_itself_are_ignored(
    base_url: str, api: SlackAPI, listeners: Listeners, event: dict[str, Any]
) -> None:
    event = {"ts": "400.1", "channel": "D1", **event}
    assert post_event(base_url, event).status_code == 200
    listeners.wait_idle()
    assert not api.named("chat.postMessage")


@pytest.mark.parametrize(
    "sign",
    [{"secret": "not-the-secret"}, {"age": 6 * 60}],
    ids=["wrong-signature", "stale-timestamp"],
)
def test_bad_signatures_get_401_and_no_answer(
    base_url: str, api: SlackAPI, listeners: Listeners, sign: dict[str, Any]
) -> None:
    started = listeners.started
    assert post_command(base_url, "谁支持降息？", api, **sign).status_code == 401
    event = {
        "type": "app_mention",
        "user": "U1",
        "text": "<@UBOT> hi",
        "ts": "1.1",
        "channel": "C1",
    }
    assert post_event(base_url, {**event, "channel": "C1"}, **sign).status_code == 401
    listeners.wait_idle()
    assert listeners.started == started and not api.calls


def test_unsigned_requests_get_401(base_url: str, api: SlackAPI, listeners: Listeners) -> None:
    started = listeners.started
    body = urllib.parse.urlencode({"command": "/ask", "text": "谁支持降息？"})
    response = httpx.post(
        f"{base_url}/slack/events",
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 401
    listeners.wait_idle()
    assert listeners.started == started and not api.calls


def test_url_verification_answers_the_challenge(base_url: str) -> None:
    body = json.dumps({"type": "url_verification", "challenge": "3eZbrw1aBm2rZgRNFdxV2595"})
    headers = {"Content-Type": "application/json", **signed(body)}
    response = httpx.post(f"{base_url}/slack/events", content=body, headers=headers)
    assert response.status_code == 200
    assert "3eZbrw1aBm2rZgRNFdxV2595" in response.text


def test_an_error_reaches_the_user_as_a_message(
    indexed: Settings, archive: Archive, slack_api: SlackAPI
) -> None:
    # The hosted LLM is the boundary: one that fails on its first token.
    broken = FakeListChatModel(responses=["never"], error_on_chunk_number=0)
    app = create_app(slack_settings(indexed, slack_api), Assistant(archive, broken))
    slack_api.clear()
    with serve_app(app) as url:
        post_command(url, "What did Michael Burry say about Nvidia?", slack_api)
        answer = slack_api.wait_for(lambda c: c.method == "respond")
    text = texts(as_blocks(answer))[-1]
    assert text.startswith(":warning: Sorry, the answer failed: FakeListChatModelError")


def test_without_slack_settings_the_endpoint_says_what_is_missing(
    indexed: Settings, archive: Archive
) -> None:
    with serve_app(create_app(indexed, Assistant(archive))) as url:
        response = httpx.post(f"{url}/slack/events", content="{}")
    assert response.status_code == 503
    assert "ASSISTANT_SLACK_SIGNING_SECRET" in response.json()["detail"]


def test_secrets_never_reach_the_logs(base_url: str, api: SlackAPI, logs: list[str]) -> None:
    post_command(base_url, "谁支持降息？", api)
    api.wait_for(lambda c: c.method == "respond")
    assert any("slack" in line.lower() for line in logs)  # the capture does see Slack's logs
    assert not [line for line in logs if BOT_TOKEN in line or SECRET in line]


def test_socket_mode_answers_a_mention_over_the_websocket(
    indexed: Settings, slack_api: SlackAPI
) -> None:
    """`assistant slack` opens a connection through apps.connections.open, acks the
    envelope and answers through the Web API."""
    from websockets.sync.server import ServerConnection, serve

    received: list[dict[str, Any]] = []
    envelope = {
        "envelope_id": "e-1",
        "type": "events_api",
        "accepts_response_payload": False,
        "payload": {
            "type": "event_callback",
            "team_id": "T1",
            "event": {
                "type": "app_mention",
                "user": "U1",
                "text": "<@UBOT> 谁支持降息？",
                "ts": "500.1",
                "channel": "C5",
            },
        },
    }

    def session(connection: ServerConnection) -> None:
        connection.send(json.dumps({"type": "hello", "num_connections": 1}))
        connection.send(json.dumps(envelope))
        for message in connection:
            received.append(json.loads(message))

    slack_api.clear()
    with serve(session, "127.0.0.1", 0) as socket_server:
        port = socket_server.socket.getsockname()[1]
        slack_api.socket_url = f"ws://127.0.0.1:{port}/link"
        threading.Thread(target=socket_server.serve_forever, daemon=True).start()
        env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
        env |= {
            "PYTHONPATH": str(ROOT),
            "ASSISTANT_VECTORSTORE_DIR": str(indexed.vectorstore_dir),
            "ASSISTANT_EMBEDDER": indexed.embedder,
            "ASSISTANT_SLACK_BOT_TOKEN": BOT_TOKEN,
            "ASSISTANT_SLACK_APP_TOKEN": "xapp-1-A1-2-abc",
            "ASSISTANT_SLACK_API_URL": f"{slack_api.url}/api/",
        }
        bot = subprocess.Popen([*ASSISTANT, "slack"], env=env, stderr=subprocess.PIPE)
        try:
            opened = slack_api.wait_for(lambda c: c.method == "apps.connections.open")
            assert opened.headers["Authorization"] == "Bearer xapp-1-A1-2-abc"
            searching = slack_api.wait_for(lambda c: c.method == "chat.postMessage")
            assert searching.params["thread_ts"] == "500.1"
            update = slack_api.wait_for(lambda c: c.method == "chat.update")
            assert texts(as_blocks(update))[0].startswith("档案中的相关内容")
            assert {"envelope_id": "e-1"} in received
        finally:
            bot.terminate()
            _, stderr = bot.communicate(timeout=20)
    assert b"xapp-1-A1-2-abc" not in stderr and BOT_TOKEN.encode() not in stderr


def test_socket_mode_without_tokens_says_what_is_missing(indexed: Settings) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env |= {"PYTHONPATH": str(ROOT), "ASSISTANT_VECTORSTORE_DIR": str(indexed.vectorstore_dir)}
    done = subprocess.run([*ASSISTANT, "slack"], env=env, capture_output=True, timeout=60)
    assert done.returncode == 2
    assert b"ASSISTANT_SLACK_BOT_TOKEN and ASSISTANT_SLACK_APP_TOKEN" in done.stderr
