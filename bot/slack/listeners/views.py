"""Modals: the reason a denial needs. A submission passes the guard a click does
(:func:`bot.slack.listeners.guard.guarded`): claimed once, the workspace learned, the
``channels`` rule judged against the channel of the request it decides (as the click on Deny
was), its answers an ephemeral message there (a modal has no response URL), its end one log
line; who may deny is the decision's own check."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot.access.approvals import Request
from bot.logs import finish
from bot.slack.commands.parse import MAX_REASON, reason_problem
from bot.slack.listeners.events import refresh_home
from bot.slack.listeners.guard import Context, Tell, guarded, user_of
from bot.slack.messages.common import Reply, plain

DENY_VIEW = "request:deny-reason"
_FROM_HOME = " home"  # marks a modal opened from the Home tab, after the button's value


def deny_modal(value: str, *, from_home: bool = False) -> dict[str, Any]:
    """``value`` is the Deny button's: the request and the plan version its clicker saw; a
    Deny pressed in the Home tab says so, so the submission redraws that Home."""
    return {
        "type": "modal",
        "callback_id": DENY_VIEW,
        "private_metadata": value + (_FROM_HOME if from_home else ""),
        "title": {"type": "plain_text", "text": "Deny request"},
        "submit": {"type": "plain_text", "text": "Deny"},
        "close": {"type": "plain_text", "text": "Back"},
        "blocks": [
            {
                "type": "input",
                "block_id": "reason",
                "label": {"type": "plain_text", "text": "Why?"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": "reason",
                    "multiline": True,
                    "max_length": MAX_REASON,  # Slack's client stops the typing there
                },
            }
        ],
    }


def _reason(view: dict[str, Any]) -> str:
    return (view["state"]["values"]["reason"]["reason"].get("value") or "").strip()


def _problem(reason: str) -> str | None:
    """Why the modal's reason cannot be recorded: none given, or longer than a command's may be
    (a client that ignores ``max_length``, or a forged submission)."""
    return reason_problem(reason) if reason else "A denial needs a reason."


def ack_reason(ack: Ack, view: dict[str, Any]) -> None:
    """A reason that cannot be recorded is refused in the modal itself, before anything is."""
    if problem := _problem(_reason(view)):
        ack(response_action="errors", errors={"reason": problem})
    else:
        ack()


def _decided(context: Context, body: dict[str, Any]) -> Request | None:
    """The request the submission decides: its ID begins the modal's private metadata."""
    value = body["view"]["private_metadata"]
    return context.decisions.approvals.get(value.partition(":")[0])


def _request_channel(context: Context, body: dict[str, Any]) -> str | None:
    """A denial is allowed where the click on Deny was: in its request's channel (one no
    longer known is the decision's to refuse)."""
    request = _decided(context, body)
    return request.channel if request else None


def _ephemeral(context: Context, body: dict[str, Any]) -> Tell:
    """Answers to the person who submitted, in the request's channel, seen only by them."""
    user = user_of(body)

    def tell(reply: Reply) -> None:
        request = _decided(context, body)
        if request and request.channel:
            outbox = context.decisions.notifier.outbox
            outbox.ephemeral(request.channel, user, reply.text, request_id=request.id)

    return tell


def deny(context: Context, body: dict[str, Any], tell: Tell) -> None:
    view = body["view"]
    reason = _reason(view)
    if _problem(reason):
        finish("refused", "reason")  # the modal said why, in its ack
        return
    metadata, user = view["private_metadata"], user_of(body)
    value = metadata.removesuffix(_FROM_HOME)
    try:
        context.decisions.deny(value, user, reason, lambda text: tell(plain(text)))
    finally:
        if metadata != value:
            refresh_home(context, user)


def register(app: App, context: Context) -> None:
    lazy = guarded(
        context, deny, scoped=lambda _: False, channel=_request_channel, answers=_ephemeral
    )
    app.view(DENY_VIEW)(ack=ack_reason, lazy=[lazy])
