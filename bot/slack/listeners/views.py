"""Modals: the reason a denial needs. A submission is admitted as the click that opened it is
(the workspace learned, the ``channels`` rule judged against the request's channel) and ends
its one log line as commands and clicks do (:func:`bot.slack.listeners.guard.failed`,
:func:`bot.logs.finish`)."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltRequest

from bot.logs import finish
from bot.slack import scope
from bot.slack.commands.parse import MAX_REASON, reason_problem
from bot.slack.listeners.events import refresh_home
from bot.slack.listeners.guard import Context, failed, first_delivery

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


def deny(context: Context, view: dict[str, Any], body: dict[str, Any]) -> None:
    reason = _reason(view)
    if _problem(reason):
        finish("refused", "reason")  # the modal said why, in its ack
        return
    metadata, user = view["private_metadata"], body["user"]["id"]
    value = metadata.removesuffix(_FROM_HOME)
    decisions = context.decisions

    def tell(
        text: str,
    ) -> None:  # a modal has no response URL: an ephemeral in the request's channel
        request = decisions.approvals.get(value.partition(":")[0])
        if request and request.channel:
            outbox = decisions.notifier.outbox
            outbox.ephemeral(request.channel, user, text, request_id=request.id)

    try:
        _admit(context, body, value)
        decisions.deny(value, user, reason, tell)
    except Exception as exc:
        failed(exc, lambda reply: tell(reply.text))
    else:
        finish("ok")
    if metadata != value:
        refresh_home(context, user)


def _admit(context: Context, body: dict[str, Any], value: str) -> None:
    """The checks a click on the Deny button gets (:func:`bot.slack.listeners.guard.guarded`),
    for its form: the workspace is learned, and the ``channels`` rule is judged against the
    request's channel, as that click's is; who may deny is the decision's own check."""
    services = context.ops.services
    services.team.learn(scope.team_of(body))
    if request := services.approvals.get(value.partition(":")[0]):
        services.rules.require_channel(request.channel)


def register(app: App, context: Context) -> None:
    def lazy(view: dict[str, Any], body: dict[str, Any], request: BoltRequest) -> None:
        if first_delivery(context.ops.services.store, body, request):  # not Slack's retry
            deny(context, view, body)

    app.view(DENY_VIEW)(ack=ack_reason, lazy=[lazy])
