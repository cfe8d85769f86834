"""Requests to the bot as Slack sends them: the same bodies and headers, signed the real way.

Slash commands and interactions are form posts (interactions as one ``payload`` field of JSON),
events are JSON; all carry ``X-Slack-Request-Timestamp`` and ``X-Slack-Signature``, so the bot's
signature check, parsing and routing are exercised exactly as in production. Response URLs point
at a :class:`FakeSlack`, so what the bot sends back there shows as messages.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import itertools
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlparse

from sandbox.slack_api import (
    APP_ID,
    BOT_ID,
    BOT_USER_ID,
    MESSAGE_BLOCKS,
    TEAM_DOMAIN,
    TEAM_ID,
    FakeSlack,
    Message,
    block_errors,
    shown_message,
    view_errors,
)

_counter = itertools.count(1)  # module-wide: keys stay unique when senders share one FakeSlack
_FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class Reply:
    """The bot's HTTP answer to one request."""

    status: int
    body: str
    json: Any  # the body parsed, or None when it is empty or not JSON
    elapsed_s: float
    response_key: str | None = None  # messages sent to the request's response_url carry it


class SlackSender:
    """Sends commands, button clicks, modal submissions and events to the bot's request URL."""

    def __init__(self, events_url: str, signing_secret: str, fake: FakeSlack) -> None:
        self._url = urlparse(events_url)
        self._secret = signing_secret.encode()
        self._fake = fake
        self._last: tuple[bytes, str, str | None] | None = None  # for :meth:`redeliver`

    # --- what Slack sends -----------------------------------------------------------------------

    def command(
        self,
        text: str,
        *,
        user_id: str = "U0ALICE",
        user_name: str | None = None,
        channel_id: str = "C0OPS",
        command: str = "/iam",
        timestamp: float | None = None,
        signature: str | None = None,
        trigger_id: str | None = None,
    ) -> Reply:
        """A slash command; ``timestamp``/``signature`` forge stale or bad requests,
        ``trigger_id`` reuses another request's."""
        key = f"cmd{next(_counter)}"
        form = {
            "token": "legacy-verification-token-unused",
            "team_id": TEAM_ID,
            "team_domain": TEAM_DOMAIN,
            "channel_id": channel_id,
            "channel_name": _channel_name(channel_id),
            "user_id": user_id,
            "user_name": user_name or self._user_name(user_id),
            "command": command,
            "text": text,
            "api_app_id": APP_ID,
            "is_enterprise_install": "false",
            "response_url": self._fake.response_url(key, channel_id, user=user_id),
            "trigger_id": trigger_id or _trigger_id(),
        }
        body = urlencode(form).encode()
        return self._signed(body, _FORM, timestamp=timestamp, signature=signature, key=key)

    def press(
        self,
        message: Message,
        *,
        user_id: str,
        action_id: str | None = None,
        label: str | None = None,
        number: int | None = None,
    ) -> Reply:
        """Click a button of ``message``, found by its action_id or its label (or both), or by
        ``number``: its place among the message's buttons from 1, as the demo numbers them
        (a list of findings repeats one action_id, one button per finding).

        The payload's response_url acts on ``message`` (``replace_original``), with its own five
        uses. A message that came by a response_url keeps its key, so ``Reply.response_key``
        finds both it and what the click brought.
        """
        if message.ephemeral and message.user not in (None, user_id):
            raise AssertionError(f"{user_id} cannot see {message.user}'s ephemeral message")
        block, button = _find_button(message, action_id, label, number)
        key = message.response_key or f"act{next(_counter)}"
        response_url = self._fake.response_url(
            key, message.channel, user=user_id, original_ts=message.ts
        )
        container: dict[str, Any] = {
            "type": "message",
            "message_ts": message.ts,
            "channel_id": message.channel,
            "is_ephemeral": message.ephemeral,
        }
        if message.thread_ts:
            container["thread_ts"] = message.thread_ts
        payload = {
            "type": "block_actions",
            "user": self._user(user_id),
            "api_app_id": APP_ID,
            "token": "legacy-verification-token-unused",
            "container": container,
            "trigger_id": _trigger_id(),
            "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
            "enterprise": None,
            "is_enterprise_install": False,
            "channel": {"id": message.channel, "name": _channel_name(message.channel)},
            "message": shown_message(message),
            "state": {"values": {}},
            "response_url": response_url,
            "actions": [_pressed(block, button)],
        }
        return self._interaction(payload, key)

    def submit_view(self, view: dict[str, Any], *, user_id: str, values: dict[str, Any]) -> Reply:
        """Submit a modal; ``values``: ``{block_id: {action_id: {"type": .., "value": ..}}}``."""
        payload = {
            "type": "view_submission",
            "user": self._user(user_id),
            "api_app_id": APP_ID,
            "token": "legacy-verification-token-unused",
            "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
            "enterprise": None,
            "is_enterprise_install": False,
            "trigger_id": _trigger_id(),
            "view": {
                "type": "modal",
                "callback_id": "",
                "private_metadata": "",
                "team_id": TEAM_ID,
                "app_id": APP_ID,
                "bot_id": BOT_ID,
                **view,
                "state": {"values": values},
            },
            "response_urls": [],
        }
        return self._interaction(payload, None)

    def event(self, body: dict[str, Any], *, retry_num: int | None = None) -> Reply:
        """An Events API delivery; ``retry_num`` marks Slack's redelivery after a slow ack."""
        headers = {}
        if retry_num is not None:
            headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"}
        return self._signed(json.dumps(body).encode(), "application/json", headers=headers)

    def redeliver(self, retry_num: int = 1, reason: str = "http_timeout") -> Reply:
        """Slack's retry of the last signed request (a command, click, submission or event):
        the same body, signed afresh, with ``X-Slack-Retry-Num`` and ``X-Slack-Retry-Reason``."""
        if self._last is None:
            raise AssertionError("nothing was sent yet")
        body, content_type, key = self._last
        headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": reason}
        return self._signed(body, content_type, headers=headers, key=key)

    def run_step(
        self,
        callback_id: str,
        inputs: dict[str, Any],
        *,
        execution_id: str | None = None,
    ) -> Reply:
        """A workflow reaches the app's custom step ``callback_id``: a ``function_executed``
        event with the workflow's token, as Slack sends it; ``execution_id`` by default a new
        one (Slack's retry of this delivery: :meth:`redeliver`)."""
        n = next(_counter)
        event = {
            "type": "function_executed",
            "function": {"id": f"Fn{n:08d}", "callback_id": callback_id, "app_id": APP_ID},
            "inputs": inputs,
            "function_execution_id": execution_id or f"Fx{n:08d}",
            "workflow_execution_id": f"Wx{n:08d}",
            "event_ts": f"{time.time():.6f}",
            "bot_access_token": f"xwfp-{n}-workflow-token",
        }
        return self.event(_event_envelope(event))

    def open_home(self, user_id: str) -> Reply:
        """``user_id`` opens the app's Home tab: an ``app_home_opened`` event, with the view
        published for them before (Slack sends it when there is one)."""
        event: dict[str, Any] = {
            "type": "app_home_opened",
            "user": user_id,
            "channel": self._fake.dm_channel(user_id),
            "tab": "home",
            "event_ts": f"{time.time():.6f}",
        }
        if (view := self._fake.home(user_id)) is not None:
            event["view"] = view
        return self.event(_event_envelope(event))

    def press_home(
        self,
        user_id: str,
        *,
        action_id: str | None = None,
        label: str | None = None,
        number: int | None = None,
    ) -> Reply:
        """Click a button in the Home view published for ``user_id``, found as :meth:`press`
        finds one. Slack sends the view and no channel, message or response_url: the bot
        answers some other way (a DM, a new view)."""
        view = self._fake.home(user_id)
        if view is None:
            raise AssertionError(f"no Home view was published for {user_id}")
        shown = Message(channel="", ts="", text="", blocks=view.get("blocks", []))
        block, button = _find_button(shown, action_id, label, number)
        payload = {
            "type": "block_actions",
            "user": self._user(user_id),
            "api_app_id": APP_ID,
            "token": "legacy-verification-token-unused",
            "container": {"type": "view", "view_id": view["id"]},
            "trigger_id": _trigger_id(),
            "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
            "enterprise": None,
            "is_enterprise_install": False,
            "view": view,
            "actions": [_pressed(block, button)],
        }
        return self._interaction(payload, None)

    def raw(self, body: bytes, headers: dict[str, str]) -> Reply:
        """Exactly these bytes and headers, for forged, unsigned or malformed requests."""
        return self._send(body, headers, None)

    def signed(self, body: bytes, content_type: str) -> Reply:
        """Any bytes, signed the real way, for bodies Slack would never send (not UTF-8, a
        form labelled JSON): only a holder of the signing secret could send them."""
        return self._signed(body, content_type)

    def declared(self, length: int, sent: bytes, headers: dict[str, str]) -> Reply:
        """Headers declaring a ``length``-byte body of which only ``sent`` follows: a server
        that answers refused the rest without waiting to read it (or it would time out)."""
        conn = http.client.HTTPConnection(self._url.hostname, self._url.port, timeout=10)
        start = time.perf_counter()
        try:
            conn.putrequest("POST", self._url.path or "/")
            for name, value in {**headers, "Content-Length": str(length)}.items():
                conn.putheader(name, value)
            conn.endheaders(sent)
            answer = conn.getresponse()
            text = answer.read().decode(errors="replace")
        finally:
            conn.close()
        return Reply(answer.status, text, _parse(text), time.perf_counter() - start)

    # --- how -------------------------------------------------------------------------------------

    def _interaction(self, payload: dict[str, Any], key: str | None) -> Reply:
        body = urlencode({"payload": json.dumps(payload)}).encode()
        return self._signed(body, _FORM, key=key)

    def _signed(
        self,
        body: bytes,
        content_type: str,
        *,
        timestamp: float | None = None,
        signature: str | None = None,
        headers: dict[str, str] | None = None,
        key: str | None = None,
    ) -> Reply:
        # Slack sends whole seconds, and signs the raw bytes of the body.
        stamp = str(int(time.time() if timestamp is None else timestamp))
        self._last = (body, content_type, key)
        mac = hmac.new(self._secret, b"v0:%s:%s" % (stamp.encode(), body), hashlib.sha256)
        sent = {
            "Content-Type": content_type,
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": signature or f"v0={mac.hexdigest()}",
            **(headers or {}),
        }
        reply = self._send(body, sent, key)
        if problems := ack_errors(reply.json):
            raise AssertionError(f"Slack would refuse the bot's answer: {problems}")
        return reply

    def _send(self, body: bytes, headers: dict[str, str], key: str | None) -> Reply:
        conn = http.client.HTTPConnection(self._url.hostname, self._url.port, timeout=60)
        path = self._url.path or "/"
        if self._url.query:
            path += f"?{self._url.query}"
        start = time.perf_counter()
        try:
            conn.request("POST", path, body=body, headers=headers)
            answer = conn.getresponse()
            text = answer.read().decode(errors="replace")
        finally:
            conn.close()
        elapsed = time.perf_counter() - start
        return Reply(answer.status, text, _parse(text), elapsed, key)

    def _user_name(self, user_id: str) -> str:
        return str(self._fake.users.get(user_id, {}).get("name") or user_id.lower())

    def _user(self, user_id: str) -> dict[str, str]:
        name = self._user_name(user_id)
        return {"id": user_id, "username": name, "name": name, "team_id": TEAM_ID}


def ack_errors(answer: Any) -> list[str]:
    """What Slack refuses in an ack's body: a message's blocks, or a modal it opens or updates
    (``response_action``). The user would see an error instead of the answer."""
    if not isinstance(answer, dict):
        return []
    problems = block_errors(answer.get("blocks"), MESSAGE_BLOCKS)
    if isinstance(answer.get("view"), dict):
        problems += view_errors(answer["view"])
    return problems


def _event_envelope(event: dict[str, Any]) -> dict[str, Any]:
    """An Events API delivery of ``event``, as Slack wraps it."""
    n = next(_counter)
    return {
        "token": "legacy-verification-token-unused",
        "team_id": TEAM_ID,
        "api_app_id": APP_ID,
        "event": event,
        "type": "event_callback",
        "event_id": f"Ev{n:08d}",
        "event_time": int(time.time()),
        "authorizations": [
            {"team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": True, "enterprise_id": None}
        ],
        "is_ext_shared_channel": False,
    }


def _pressed(block: dict[str, Any], button: dict[str, Any]) -> dict[str, Any]:
    """A clicked button as a block_actions payload names it."""
    return {
        "type": "button",
        "action_id": button.get("action_id", ""),
        "block_id": block.get("block_id", ""),
        "text": button.get("text", {}),
        "value": button.get("value", ""),
        "action_ts": f"{time.time():.6f}",
    }


def _parse(text: str) -> Any:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


def _trigger_id() -> str:
    return f"{next(_counter)}.{TEAM_ID[1:]}.{time.time_ns():x}"


def _channel_name(channel_id: str) -> str:
    """A readable name for the sandbox's channel IDs ("C0OPS" -> "ops"), as Slack sends one."""
    if channel_id.startswith("D"):
        return "directmessage"
    return channel_id[1:].lstrip("0").lower() or channel_id.lower()


def _buttons(block: dict[str, Any]) -> list[dict[str, Any]]:
    """Buttons a person can press in a block: an actions block's, or a section's accessory."""
    if block.get("type") == "actions":
        elements = block.get("elements", [])
    elif block.get("type") == "section" and block.get("accessory"):
        elements = [block["accessory"]]
    else:
        elements = []
    return [e for e in elements if isinstance(e, dict) and e.get("type") == "button"]


def _find_button(
    message: Message, action_id: str | None, label: str | None, number: int | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The one button matching; several matching a label is a test's ambiguity, so refused."""
    if number is not None:
        every = [(block, button) for block in message.blocks or [] for button in _buttons(block)]
        if not 1 <= number <= len(every):
            raise AssertionError(f"no button {number}: the message has {len(every)}")
        return every[number - 1]
    if action_id is None and label is None:
        raise ValueError("say which button: action_id, label or number")
    found = [
        (block, button)
        for block in message.blocks or []
        for button in _buttons(block)
        if (action_id is None or button.get("action_id") == action_id)
        and (label is None or button.get("text", {}).get("text") == label)
    ]
    wanted = " / ".join(repr(w) for w in (action_id, label) if w is not None)
    if len(found) > 1:
        raise AssertionError(f"{len(found)} buttons match {wanted}; give the action_id")
    if not found:
        shown = [
            (b.get("text", {}).get("text"), b.get("action_id"))
            for block in message.blocks or []
            for b in _buttons(block)
        ]
        raise AssertionError(f"no button {wanted} in the message; it has {shown}")
    return found[0]
