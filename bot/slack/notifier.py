"""The workflows' :class:`~bot.ops.context.Notifier` in Slack: every message through the outbox.

A request's message is posted once and then updated in place, rendered from the request as it
stands when the outbox delivers it; audit lines go to the audit channel; DMs and ephemeral
answers to clicks are their own lanes. Nothing here waits for Slack.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from slack_sdk import WebClient

from bot.access.approvals import Approvals, Request
from bot.config import Config
from bot.slack.messages import approval as msg
from bot.slack.messages.common import Reply, mention, slack_date
from bot.slack.outbox import Outbox
from bot.slack.replies import words_for


class SlackNotifier:
    def __init__(
        self, config: Config, approvals: Approvals, client: WebClient, outbox: Outbox
    ) -> None:
        self._config = config
        self._approvals = approvals
        self.client = client
        self.outbox = outbox
        outbox.handlers["message"] = self._deliver_message

    def opened(self, request: Request) -> None:
        self.show(request)
        asked = msg.with_reason(f"requested by {self.person(request.requester)}", request.reason)
        self.announce(request, asked)

    def show(self, request: Request) -> None:
        payload = {"request_id": request.id}
        self.outbox.add("message", f"request:{request.id}", payload, request_id=request.id)

    def announce(self, request: Request, event: str) -> None:
        if channel := self._config.audit_channel:
            line = {"text": msg.audit_line(request, event)}
            self.outbox.post(channel, line, request_id=request.id)

    def dm(self, user_id: str, text: str) -> None:
        self.outbox.dm(user_id, text)

    def person(self, user_id: str) -> str:
        return mention(user_id)

    def link(self, url: str, text: str) -> str:
        return f"<{url}|{text}>"

    def explain(self, refusal: Exception) -> str:
        return words_for(refusal)

    def when(self, moment: datetime) -> str:
        return slack_date(moment)

    def reply(self, response_url: str, reply: Reply) -> None:
        """An answer only whoever typed or clicked sees, through that input's response URL."""
        answer = {"response_type": "ephemeral", "replace_original": False, **reply.as_kwargs()}
        self.outbox.respond(response_url, answer)

    def _deliver_message(self, payload: dict[str, Any]) -> None:
        """The outbox's handler: the request's message as the request stands now."""
        request = self._approvals.get(payload["request_id"])
        if request is None:
            return
        reply = msg.request_reply(request).as_kwargs()
        if request.message_ts:
            self.client.chat_update(channel=request.channel, ts=request.message_ts, **reply)
            return
        answer = self.client.chat_postMessage(channel=request.channel, **reply)
        self._approvals.set_message(request.id, answer["channel"], answer["ts"])
