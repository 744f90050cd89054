"""The Slack bot: `/ask`, mentions, direct messages and thread follow-ups, on Bolt.

Bolt acknowledges every request at once (Slack's 3-second rule) and runs the listeners
below in its thread pool; each posts a "searching…" state, then replaces it with the
answer. The same `App` serves HTTP (mounted in the FastAPI app) and Socket Mode.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from assistant.language import Lang, detect_language
from assistant.service import Assistant, Turn
from assistant.settings import Settings
from assistant.slack.blocks import (
    Message,
    answer_message,
    error_message,
    escape,
    searching_message,
    usage_message,
)

__all__ = ["make_slack_app", "run_socket_mode", "slack_configured"]
log = logging.getLogger(__name__)

_MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")
# A thread's earlier turns beyond this add little and cost a long Web API page.
MAX_HISTORY = 20


def slack_configured(settings: Settings) -> bool:
    """HTTP mode needs the bot token and the signing secret."""
    return bool(
        settings.slack_bot_token.get_secret_value()
        and settings.slack_signing_secret.get_secret_value()
    )


def make_slack_app(
    settings: Settings, assistant: Callable[[], Assistant], *, socket_mode: bool = False
) -> App:
    """The Bolt app; `assistant` is called per question (the server opens it at start-up)."""
    token = settings.slack_bot_token.get_secret_value()
    secret = settings.slack_signing_secret.get_secret_value()
    app = App(
        client=WebClient(token=token, base_url=settings.slack_api_url),
        signing_secret=secret or None,
        # auth.test runs on the first request instead of at start-up, so the server starts
        # without reaching Slack.
        token_verification_enabled=False,
        # Socket Mode envelopes carry no signature; HTTP requests always need one.
        request_verification_enabled=not socket_mode,
        process_before_response=False,
        logger=log,
    )
    bot = _Bot(assistant, settings.public_url)
    app.command("/ask")(bot.on_command)
    app.event("app_mention")(bot.on_mention)
    app.event("message")(bot.on_message)
    return app


def run_socket_mode(settings: Settings) -> None:
    """Serve the bot over Socket Mode until interrupted; raises ValueError if unconfigured."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    missing = [
        f"ASSISTANT_{name.upper()}"
        for name in ("slack_bot_token", "slack_app_token")
        if not getattr(settings, name).get_secret_value()
    ]
    if missing:
        raise ValueError(f"Socket Mode needs {' and '.join(missing)} (see the README)")
    assistant = Assistant.from_settings(settings)
    app = make_slack_app(settings, lambda: assistant, socket_mode=True)
    handler = SocketModeHandler(app, settings.slack_app_token.get_secret_value())
    handler.start()  # type: ignore[no-untyped-call]


class _Bot:
    def __init__(self, assistant: Callable[[], Assistant], public_url: str) -> None:
        self.assistant = assistant
        self.public_url = public_url

    def on_command(
        self, ack: Callable[..., None], command: dict[str, Any], respond: Callable[..., Any]
    ) -> None:
        question = _clean(command.get("text", ""))
        lang = detect_language(question) if question else "en"
        if not question:
            ack(**usage_message(lang))
            return
        ack(response_type="ephemeral", **searching_message(lang))
        message = self._answer(question, lang, [])
        # The question is echoed as text: markup in it ('<!channel>', a link) stays text.
        asked = f"<@{escape(command.get('user_id', ''))}>: {escape(question)}"
        respond(response_type="in_channel", **_with_question(message, asked))

    def on_mention(self, event: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        # A mention in a DM also arrives as a message event, answered there.
        if _from_a_bot(event) or event.get("channel_type") == "im":
            return
        history = _thread(client, event, context) if event.get("thread_ts") else []
        self._reply(client, event, history)

    def on_message(self, event: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        if _from_a_bot(event) or event.get("subtype"):
            return
        if event.get("channel_type") == "im":
            history = _thread(client, event, context) if event.get("thread_ts") else []
            self._reply(client, event, history)
            return
        in_thread = event.get("thread_ts") not in (None, event.get("ts"))
        if not in_thread or f"<@{context.bot_user_id}>" in event.get("text", ""):
            return  # not a thread reply, or a mention that on_mention answers
        history = _thread(client, event, context)
        if any(turn.role == "assistant" for turn in history):
            self._reply(client, event, history)

    def _reply(self, client: WebClient, event: dict[str, Any], history: list[Turn]) -> None:
        """Answer in the event's thread: a searching state, then the answer in its place."""
        channel, thread_ts = event["channel"], event.get("thread_ts") or event["ts"]
        question = _clean(event.get("text", ""))
        lang = detect_language(question) if question else "en"
        if not question:
            client.chat_postMessage(channel=channel, thread_ts=thread_ts, **usage_message(lang))
            return
        placeholder = client.chat_postMessage(
            channel=channel, thread_ts=thread_ts, **searching_message(lang)
        )
        message = self._answer(question, lang, history)
        client.chat_update(channel=channel, ts=str(placeholder["ts"]), **message)

    def _answer(self, question: str, lang: Lang, history: list[Turn]) -> Message:
        try:
            assistant = self.assistant()
            # Another process (an ingest) may have changed the index since the last question.
            assistant.archive.refresh_if_stale()
            return answer_message(assistant.ask(question, history=history), self.public_url)
        except Exception as exc:
            log.exception("answering a Slack question failed")
            return error_message(lang, _reason(exc))


def _thread(client: WebClient, event: dict[str, Any], context: BoltContext) -> list[Turn]:
    """The thread's messages before this one, as conversation turns."""
    replies = client.conversations_replies(
        channel=event["channel"], ts=event.get("thread_ts") or event["ts"], limit=200
    )
    turns = []
    for message in replies.get("messages") or []:
        if message.get("ts") == event["ts"]:
            break
        ours = message.get("user") == context.bot_user_id or (
            bool(context.bot_id) and message.get("bot_id") == context.bot_id
        )
        if message.get("bot_id") and not ours:
            continue
        text = _clean(message.get("text", ""))
        if text:
            turns.append(Turn(role="assistant" if ours else "user", content=text[:20_000]))
    return turns[-MAX_HISTORY:]


def _from_a_bot(event: dict[str, Any]) -> bool:
    return bool(event.get("bot_id")) or event.get("subtype") == "bot_message"


def _clean(text: str) -> str:
    return " ".join(_MENTION.sub(" ", text).split())


def _with_question(message: Message, asked: str) -> Message:
    question = {"type": "context", "elements": [{"type": "mrkdwn", "text": asked[:3000]}]}
    return Message(text=message["text"], blocks=[question, *message["blocks"]][:50])


def _reason(exc: Exception) -> str:
    detail = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
