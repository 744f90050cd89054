"""What `/slack/events` checks before Bolt sees a request: Slack's signature, and that the
request was not already handled (a replay, or one of Slack's own retries).

The signature is checked here, on the raw headers and bytes, so a request that is not
Slack's is a 401 whatever its body or timestamp hold (Bolt parsed the body and the
timestamp first, and a malformed one was a 500). Bolt checks it again; that costs
nothing.

The record of handled requests lives in this process: with several workers, a replay or
a retry that reaches another worker is answered there again.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from enum import Enum

__all__ = ["SlackGuard", "Verdict"]

# Slack refuses requests older than five minutes; so do we (api.slack.com/authentication).
MAX_AGE_SECONDS = 300
# Slack retries an event after about 1 and 5 minutes (api.slack.com/apis/events-api):
# a retry, and a replay within the signature's window, both arrive inside 10 minutes.
REMEMBER_SECONDS = 600
# About 100 bytes an entry: a megabyte at most. Past this many requests in ten minutes the
# oldest are forgotten first.
CAPACITY = 10_000

_TIMESTAMP = re.compile(r"[0-9]{1,12}")


class Verdict(Enum):
    NEW = "new"  # signed, not seen before: hand it to Bolt
    SEEN = "seen"  # signed, already handled: acknowledge, do nothing
    UNSIGNED = "unsigned"  # no valid signature: 401


class SlackGuard:
    def __init__(
        self,
        signing_secret: str,
        clock: Callable[[], float] = time.time,
        capacity: int = CAPACITY,
    ) -> None:
        self._secret = signing_secret.encode()
        self._clock = clock
        self._capacity = capacity
        self._seen: OrderedDict[str, float] = OrderedDict()  # key → when it may be forgotten

    def check(self, headers: Mapping[str, str], body: bytes) -> Verdict:
        """Whether to handle the request; remembers it when the answer is yes."""
        if not self.signed(headers, body):
            return Verdict.UNSIGNED
        keys = [f"signature:{headers.get('x-slack-signature', '')}"]
        event_id = _event_id(body)
        if event_id:
            keys.append(f"event:{event_id}")  # a retry is signed anew, but keeps its event id
        now = self._clock()
        self._forget_before(now)
        if any(key in self._seen for key in keys):
            return Verdict.SEEN
        for key in keys:
            self._seen[key] = now + REMEMBER_SECONDS
        while len(self._seen) > self._capacity:
            self._seen.popitem(last=False)
        return Verdict.NEW

    def signed(self, headers: Mapping[str, str], body: bytes) -> bool:
        """`X-Slack-Signature` is `v0=` HMAC-SHA256 of `v0:<timestamp>:<body>`, and the
        timestamp is at most five minutes away from now."""
        timestamp = headers.get("x-slack-request-timestamp", "")
        signature = headers.get("x-slack-signature", "")
        if not _TIMESTAMP.fullmatch(timestamp) or not signature:
            return False
        if abs(self._clock() - int(timestamp)) > MAX_AGE_SECONDS:
            return False
        # Not slack_sdk's SignatureVerifier: it does `int(timestamp)` and decodes the body
        # as strict UTF-8 unguarded, so hostile bytes would raise instead of failing.
        base = b"v0:" + timestamp.encode() + b":" + body
        expected = "v0=" + hmac.new(self._secret, base, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace"))

    def _forget_before(self, now: float) -> None:
        # Entries are added in time order with one lifetime, so the oldest come first.
        while self._seen and next(iter(self._seen.values())) <= now:
            self._seen.popitem(last=False)


def _event_id(body: bytes) -> str:
    """The Events API's `event_id`, or '' (a slash command, a form, not JSON)."""
    if not body.lstrip().startswith(b"{"):
        return ""
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        return ""
    event_id = payload.get("event_id") if isinstance(payload, dict) else None
    return event_id if isinstance(event_id, str) else ""
