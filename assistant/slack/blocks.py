"""Answers as Slack messages (Block Kit): pure functions from `Answer` to payloads.

Limits that shape this (api.slack.com/reference/block-kit): a section's text is at most
3,000 characters, a message at most 50 blocks; mrkdwn needs `&`, `<` and `>` escaped.
"""

from __future__ import annotations

from typing import Any

from assistant.answer import quote_side, without_sources
from assistant.language import Lang
from assistant.links import web_link
from assistant.models import Answer, Citation

__all__ = [
    "Message",
    "answer_message",
    "citation_line",
    "error_message",
    "escape",
    "searching_message",
    "usage_message",
]

Block = dict[str, Any]
SECTION_CHARS = 3000
QUOTE_CHARS = 280
MAX_CITATIONS = 20


class Message(dict[str, Any]):
    """Keyword arguments for chat.postMessage / chat.update / a response URL: text + blocks."""


_SEARCHING = {"en": ":mag: Searching the archive…", "zh": ":mag: 正在检索档案…"}
_ERROR = {
    "en": ":warning: Sorry, the answer failed: {reason}. Please try again in a moment.",
    "zh": ":warning: 抱歉，回答失败：{reason}。请稍后再试。",
}
_NOT_COVERED = {
    "en": "No paragraph in the archive answers this; try other words or a wider question.",
    "zh": "档案里没有段落能回答这个问题；可以换个说法或问得更宽一些。",
}
_USAGE = {
    "en": "Ask a question about the archive, e.g. `/ask What did Michael Burry say about Nvidia?`",
    "zh": "请在命令后写上问题，例如 `/ask 谁支持降息？`",
}
_READER = {"en": "paragraph", "zh": "段落"}


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _link(url: str, label: str) -> str:
    """`<url|label>` for an http(s) URL; the label alone, as text, for anything else."""
    url = web_link(url)
    if not url:
        return escape(label)
    # '|' would end the URL part early; mrkdwn wants '&', '<' and '>' as entities.
    return f"<{escape(url).replace('|', '%7C')}|{escape(label)}>"


def _shorten(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1].rstrip() + "…"


def _chunks(text: str, size: int) -> list[str]:
    """`text` in pieces of at most `size` characters, cut at line ends where possible."""
    pieces: list[str] = []
    while len(text) > size:
        cut = text.rfind("\n", 0, size)
        cut = cut if cut > 0 else size
        pieces.append(text[:cut])
        text = text[cut:].lstrip("\n")
    return [*pieces, text] if text else pieces


def citation_line(citation: Citation, lang: Lang, public_url: str) -> str:
    """`[n] title · date · speaker` (title linked to the source), the quote, the reader link."""
    title = _link(citation.source_url, citation.title)
    who = " · ".join(x for x in (citation.date, citation.speaker, citation.turn_speaker) if x)
    quote, _ = quote_side(citation, lang)
    line = f"*[{citation.n}]* {title} · {escape(who)}\n> {escape(_shorten(quote, QUOTE_CHARS))}"
    if public_url:
        line += "  " + _link(public_url.rstrip("/") + citation.url, _READER[lang])
    return line


def answer_message(answer: Answer, public_url: str = "") -> Message:
    """The answer text, then one context line per citation; an abstention says so plainly."""
    # Cut before escaping (which lengthens text), so no entity is split.
    blocks: list[Block] = [
        _section(escape(piece)[:SECTION_CHARS])
        for piece in _chunks(without_sources(answer), SECTION_CHARS * 2 // 3)
    ]
    if not answer.citations:
        blocks.append(_context(_NOT_COVERED[answer.lang]))
    shown = answer.citations[:MAX_CITATIONS]
    if shown:
        blocks.append({"type": "divider"})
    blocks += [_context(citation_line(c, answer.lang, public_url)) for c in shown]
    return Message(text=_shorten(without_sources(answer), SECTION_CHARS), blocks=blocks[:50])


def searching_message(lang: Lang) -> Message:
    return Message(text=_SEARCHING[lang], blocks=[_context(_SEARCHING[lang])])


def error_message(lang: Lang, reason: str) -> Message:
    text = _ERROR[lang].format(reason=escape(_shorten(reason, 300)))
    return Message(
        text=text, blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
    )


def usage_message(lang: Lang) -> Message:
    return Message(text=_USAGE[lang])


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}
