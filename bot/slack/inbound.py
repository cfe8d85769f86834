"""What a request to Slack's endpoint must pass before Bolt reads it, whichever door it came in
by (the HTTP server, :mod:`bot.slack.wsgi`; AWS Lambda, :mod:`bot.lambda_handler`): its size,
its signature, then its shape.

Bolt parses a body before it checks the signature, and logs a body whose signature fails at
INFO: an unsigned sender could make it raise (malformed or deeply nested JSON, bytes that are
not UTF-8) or fill the logs. Here the signature comes first; whatever is refused gets a 4xx and
one log line naming why, never the body, and Bolt only ever sees a signed request it can read.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from slack_bolt import App
from slack_bolt.middleware.request_verification import RequestVerification
from slack_bolt.request.internals import parse_body
from slack_sdk.signature import SignatureVerifier

log = logging.getLogger(__name__)

# The largest body Slack sends this bot is a button click, which carries the whole message it
# was on: at most 50 blocks of 3000 characters, about 150 kB of text, a few times that once
# JSON escapes and form-encodes it (about 1.2 MB if every character were non-ASCII). Commands
# and the deny modal's submission are a few kB. 2 MiB leaves room and refuses the rest.
MAX_BODY_BYTES = 2 * 1024 * 1024
# A slash command is a form of about 1 kB plus its text, which is at most a message's 40,000
# characters: each at worst 4 bytes of UTF-8 percent-encoded to 12 (or Slack's "&lt;" for a
# typed "<", encoded to 8). 512 KiB covers that; a longer one did not come from Slack, and is
# refused from the first 512 KiB, the rest unread. (Interactive payloads, "payload=...", and
# JSON events may be as large as MAX_BODY_BYTES.)
MAX_COMMAND_BYTES = 512 * 1024
# Slack's deepest payload (a click on a message of rich text lists) nests about a dozen levels.
MAX_DEPTH = 32
_LARGE_KINDS = (b"payload=", b"{")
_TIMESTAMP = re.compile(r"[0-9]{1,12}")


class Refused(Exception):
    """A request answered before Bolt sees it. ``why`` is logged; the body never is."""

    def __init__(self, status: HTTPStatus, why: str) -> None:
        super().__init__(why)
        self.status, self.why = status, why


def verifier_of(app: App) -> SignatureVerifier | None:
    """Bolt's own signature verifier, when the app checks signatures at all."""
    for middleware in app._middleware_list:  # Bolt has no public accessor
        if isinstance(middleware, RequestVerification):
            return middleware.verifier
    return None


def check_size(length: int, head: bytes | None = None) -> None:
    """Refuse a body of ``length`` bytes over what Slack sends; with its first bytes (``head``),
    one over a slash command's size unless it starts as an interactive payload or a JSON event."""
    if length > MAX_BODY_BYTES:
        raise Refused(
            HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"body of {length} bytes, over {MAX_BODY_BYTES}"
        )
    if head is not None and length > MAX_COMMAND_BYTES and not head.startswith(_LARGE_KINDS):
        raise Refused(
            HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
            f"form body of {length} bytes, over {MAX_COMMAND_BYTES} for a slash command",
        )


def check(body: bytes, headers: Mapping[str, str], verifier: SignatureVerifier | None) -> None:
    """Refuse a body (already within :func:`check_size`) that is not UTF-8, not signed (when
    the app checks signatures) or not a Slack payload Bolt can read. ``headers`` by lower-case
    name."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused(HTTPStatus.BAD_REQUEST, "body is not UTF-8") from None
    if verifier is not None:
        _signed(headers, text, verifier)
    content_type = (headers.get("content-type") or "").split(";")[0]
    try:
        parsed = parse_body(text, content_type or None)  # what Bolt will read it as
    except (ValueError, RecursionError):
        parsed = None
    if not isinstance(parsed, dict) or _deeper_than(parsed, MAX_DEPTH):
        raise Refused(HTTPStatus.BAD_REQUEST, f"body is not a Slack payload as {content_type!r}")


def log_refused(source: object, refused: Refused) -> None:
    """The one line a refused request leaves."""
    log.warning("refused a request from %s: %d %s", source, refused.status, refused.why)


def _signed(headers: Mapping[str, str], text: str, verifier: SignatureVerifier) -> None:
    stamp = headers.get("x-slack-request-timestamp") or ""
    signature = headers.get("x-slack-signature") or ""
    if _TIMESTAMP.fullmatch(stamp) is None:
        raise Refused(HTTPStatus.UNAUTHORIZED, "missing or malformed X-Slack-Request-Timestamp")
    if not signature.isascii() or not verifier.is_valid(text, stamp, signature):
        raise Refused(HTTPStatus.UNAUTHORIZED, "invalid signature or stale timestamp")


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether JSON ``value`` nests deeper than ``limit`` objects and lists (without recursing:
    the point is to refuse what would make a recursive reader fail)."""
    level: list[Any] = [value]
    for _ in range(limit):
        level = [
            child
            for node in level
            if isinstance(node, dict | list)
            for child in (node.values() if isinstance(node, dict) else node)
        ]
        if not level:
            return False
    return any(isinstance(node, dict | list) for node in level)
