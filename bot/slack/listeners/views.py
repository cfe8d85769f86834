"""Modals: the reason a denial needs."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot.slack.listeners.guard import Context
from bot.slack.replies import answer_failure

DENY_VIEW = "request:deny-reason"


def deny_modal(value: str) -> dict[str, Any]:
    """``value`` is the Deny button's: the request and the plan version its clicker saw."""
    return {
        "type": "modal",
        "callback_id": DENY_VIEW,
        "private_metadata": value,
        "title": {"type": "plain_text", "text": "Deny request"},
        "submit": {"type": "plain_text", "text": "Deny"},
        "close": {"type": "plain_text", "text": "Back"},
        "blocks": [
            {
                "type": "input",
                "block_id": "reason",
                "label": {"type": "plain_text", "text": "Why?"},
                "element": {"type": "plain_text_input", "action_id": "reason", "multiline": True},
            }
        ],
    }


def _reason(view: dict[str, Any]) -> str:
    return (view["state"]["values"]["reason"]["reason"].get("value") or "").strip()


def ack_reason(ack: Ack, view: dict[str, Any]) -> None:
    """An empty reason is refused in the modal itself, before anything is recorded."""
    if _reason(view):
        ack()
    else:
        ack(response_action="errors", errors={"reason": "A denial needs a reason."})


def deny(context: Context, view: dict[str, Any], body: dict[str, Any]) -> None:
    reason = _reason(view)
    if not reason:
        return
    value, user = view["private_metadata"], body["user"]["id"]
    decisions = context.decisions

    def tell(
        text: str,
    ) -> None:  # a modal has no response URL: an ephemeral in the request's channel
        request = decisions.approvals.get(value.partition(":")[0])
        if request and request.channel:
            outbox = decisions.notifier.outbox
            outbox.ephemeral(request.channel, user, text, request_id=request.id)

    try:
        decisions.deny(value, user, reason, tell)
    except Exception as exc:
        answer_failure(exc, lambda reply: tell(reply.text))


def register(app: App, context: Context) -> None:
    app.view(DENY_VIEW)(ack=ack_reason, lazy=[lambda view, body: deny(context, view, body)])
