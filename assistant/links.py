"""The URLs the assistant hands out: permalinks into the reader, and links to elsewhere.

Every renderer (the API's `url` fields, the `/v1` link list, Slack's mrkdwn) builds its
links here; the web pages apply the same rule in `web/links.js`.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

__all__ = ["reader_path", "web_link"]

# Whitespace and control characters end a link early in mrkdwn and Markdown, and a browser
# strips them from a scheme ("java\tscript:"), so a URL holding one is not passed on.
_UNSAFE = re.compile(r"[\x00-\x20\x7f-\x9f\s]")


def reader_path(episode_id: str, position: int | None = None) -> str:
    """The episode (or one paragraph of it) in the web reader, as a path.

    Ids are file stems or video ids, so they may hold `?`, `#`, `%`, `&` or `/`: every
    character outside the unreserved set is percent-encoded, `/` too, so the id stays one
    path segment (the routes take it with a `path` converter).
    """
    path = f"/episodes/{quote(episode_id, safe='')}"
    return path if position is None else f"{path}#p{position}"


def web_link(url: str) -> str:
    """`url` if it may become a link (absolute http or https, with a host), else ''.

    Front matter is archive text: a `javascript:` or `data:` source must show as nothing,
    never as something to click.
    """
    url = url.strip()
    if not url or _UNSAFE.search(url):
        return ""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:  # a malformed netloc, e.g. an unclosed '[' of an IPv6 host
        return ""
    return url if parts.scheme.lower() in ("http", "https") and host else ""
