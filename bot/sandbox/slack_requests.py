"""Requests to the bot as Slack sends them: form bodies signed with the real signing scheme."""

from __future__ import annotations

import http.client
import itertools
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlparse

from slack_sdk.signature import SignatureVerifier

from bot.sandbox.slack_api import FakeSlack, Message

_counter = itertools.count(1)


@dataclass(frozen=True)
class Reply:
    """The bot's HTTP answer to one request."""

    status: int
    body: str
    elapsed_s: float
    response_key: str | None = None

    @property
    def json(self) -> dict[str, Any] | None:
        try:
            return json.loads(self.body) if self.body else None
        except ValueError:
            return None


class SlackSender:
    def __init__(self, events_url: str, signing_secret: str, fake: FakeSlack) -> None:
        self._url = urlparse(events_url)
        self._signer = SignatureVerifier(signing_secret)
        self._fake = fake

    def _post(
        self,
        body: bytes,
        *,
        timestamp: int | None = None,
        signature: str | None = None,
        headers: dict[str, str] | None = None,
        response_key: str | None = None,
    ) -> Reply:
        stamp = str(timestamp if timestamp is not None else int(time.time()))
        sent = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": signature
            or self._signer.generate_signature(timestamp=stamp, body=body),
            **(headers or {}),
        }
        return self._send(body, sent, response_key)

    def _send(self, body: bytes, headers: dict[str, str], response_key: str | None) -> Reply:
        conn = http.client.HTTPConnection(self._url.hostname, self._url.port, timeout=60)
        start = time.perf_counter()
        try:
            conn.request("POST", self._url.path, body=body, headers=headers)
            answer = conn.getresponse()
            text = answer.read().decode()
        finally:
            conn.close()
        return Reply(answer.status, text, time.perf_counter() - start, response_key)

    def raw(self, body: bytes, headers: dict[str, str]) -> Reply:
        return self._send(body, headers, None)

    def command(
        self,
        text: str,
        *,
        user_id: str = "U0ALICE",
        user_name: str | None = None,
        channel_id: str = "C0OPS",
        command: str = "/iam",
        timestamp: int | None = None,
        signature: str | None = None,
    ) -> Reply:
        key = f"cmd{next(_counter)}"
        form = {
            "token": "legacy-verification-token-unused",
            "team_id": "T0TEAM",
            "team_domain": "sandbox",
            "channel_id": channel_id,
            "channel_name": "ops",
            "user_id": user_id,
            "user_name": user_name or user_id.lower(),
            "command": command,
            "text": text,
            "api_app_id": "A0IAMBOT",
            "is_enterprise_install": "false",
            "response_url": self._fake.response_url(key, channel=channel_id),
            "trigger_id": f"{next(_counter)}.trigger",
        }
        body = urlencode(form).encode()
        return self._post(body, timestamp=timestamp, signature=signature, response_key=key)

    def _interaction(self, payload: dict[str, Any], response_key: str | None) -> Reply:
        body = urlencode({"payload": json.dumps(payload)}).encode()
        return self._post(body, response_key=response_key)

    def press(
        self,
        message: Message,
        *,
        user_id: str,
        action_id: str | None = None,
        label: str | None = None,
    ) -> Reply:
        """Click a button of a message, found by its action_id or its label."""
        block, button = _find_button(message, action_id, label)
        key = message.response_key or f"act{next(_counter)}"
        container = {
            "type": "message",
            "message_ts": message.ts,
            "channel_id": message.channel,
            "is_ephemeral": message.ephemeral,
        }
        payload = {
            "type": "block_actions",
            "user": {"id": user_id, "username": user_id.lower(), "team_id": "T0TEAM"},
            "api_app_id": "A0IAMBOT",
            "team": {"id": "T0TEAM", "domain": "sandbox"},
            "container": container,
            "channel": {"id": message.channel, "name": "ops"},
            "trigger_id": f"{next(_counter)}.trigger",
            "response_url": self._fake.response_url(key, channel=message.channel),
            "message": {
                "ts": message.ts,
                "text": message.text,
                "blocks": message.blocks,
                "type": "message",
            },
            "actions": [
                {
                    "type": "button",
                    "action_id": button["action_id"],
                    "block_id": block.get("block_id", ""),
                    "value": button.get("value", ""),
                    "text": button["text"],
                    "action_ts": f"{time.time():.6f}",
                }
            ],
        }
        return self._interaction(payload, key)

    def submit_view(self, view: dict[str, Any], *, user_id: str, values: dict[str, Any]) -> Reply:
        payload = {
            "type": "view_submission",
            "user": {"id": user_id, "username": user_id.lower(), "team_id": "T0TEAM"},
            "api_app_id": "A0IAMBOT",
            "team": {"id": "T0TEAM", "domain": "sandbox"},
            "trigger_id": f"{next(_counter)}.trigger",
            "view": {**view, "state": {"values": values}},
        }
        return self._interaction(payload, None)

    def event(self, body: dict[str, Any], *, retry_num: int | None = None) -> Reply:
        headers = {"Content-Type": "application/json"}
        if retry_num is not None:
            headers |= {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"}
        return self._post(json.dumps(body).encode(), headers=headers)


def _find_button(message: Message, action_id: str | None, label: str | None) -> tuple[dict, dict]:
    for block in message.blocks or []:
        for element in block.get("elements", []) if block.get("type") == "actions" else []:
            if element.get("type") != "button":
                continue
            if (action_id and element.get("action_id") == action_id) or (
                label and element.get("text", {}).get("text") == label
            ):
                return block, element
    shown = [
        e.get("text", {}).get("text")
        for b in message.blocks or []
        if b.get("type") == "actions"
        for e in b.get("elements", [])
    ]
    raise AssertionError(f"no button {action_id or label!r} in the message; it has {shown}")
