"""Every button: a request's Approve/Deny/Cancel/Retry, and the follow-ups that start or steer
a key flow from an earlier answer ("Deactivate now", "Rotate", "Delete key", "Deactivate
anyway", "Extend"). A follow-up opens the same request the slash command would, so
confirmation and approval rules apply unchanged."""

from __future__ import annotations

from functools import partial
from typing import Any

from slack_bolt import App

from bot.access.approvals import State, Transition, describe_state
from bot.access.schedule import HELD
from bot.ops import contain, deactivate, delete_key, grant, rotate, unquarantine
from bot.ops.context import UserError
from bot.ops.followups import FollowUp, KeyRef, Viewer
from bot.ops.keys import owned_key
from bot.slack.listeners.events import pressed_in_home, refresh_home
from bot.slack.listeners.guard import (
    Context,
    Tell,
    Work,
    ack_only,
    channel_of,
    guarded,
    user_of,
)
from bot.slack.listeners.views import deny_modal
from bot.slack.messages import approval as msg
from bot.slack.messages.common import action_pattern, plain
from bot.slack.messages.keys import two_keys_reply
from bot.slack.replies import refusal_words


def _value(body: dict[str, Any]) -> str:
    return body["actions"][0]["value"]


def _text(tell: Tell) -> Any:
    return lambda text: tell(plain(text))


# --- a request's own buttons: who may act is the request's rule (approvals checks it) ----------


def approve(context: Context, body: dict[str, Any], tell: Tell) -> None:
    context.decisions.approve(_value(body), user_of(body), _text(tell))


def cancel(context: Context, body: dict[str, Any], tell: Tell) -> None:
    context.decisions.cancel(_value(body), user_of(body), _text(tell))


def retry(context: Context, body: dict[str, Any], tell: Tell) -> None:
    context.decisions.retry(_value(body), user_of(body), _text(tell))


def ask_deny_reason(context: Context, body: dict[str, Any], tell: Tell) -> None:
    """A denial needs a reason: ask for it in a modal (its submission is in views.py, which
    redraws the Home of a Deny pressed there), but only of someone whose denial can count,
    while the request still waits: anyone else hears why at once, before typing a reason.
    The submission is decided by the request's own rule all the same."""
    value, who = _value(body), user_of(body)
    request = context.decisions.approvals.get(value.partition(":")[0])
    if request is None:
        raise UserError("That request does not exist (any more).")
    if request.state is not State.PENDING:
        moved_on = Transition(request, None, describe_state(request), moved_on=True)
        raise UserError(refusal_words(moved_on))
    if who != request.requester:
        context.decisions.approvals.require_not_subject(request, who, "deny")
    may_approve = context.ops.services.rules.allowed(who, "approve", account=request.account)
    if who != request.requester and not may_approve:
        raise UserError("You need the `approve` permission to deny this.")
    modal = deny_modal(value, from_home=pressed_in_home(body))
    context.notifier.client.views_open(trigger_id=body["trigger_id"], view=modal)


# --- follow-ups: each needs the permission of the request it opens -----------------------------


def deactivate_now(context: Context, body: dict[str, Any], tell: Tell) -> None:
    key = KeyRef.decode(_value(body))
    deactivate.open_request(
        context.ops,
        key.key_id,
        key.reason,  # an audit's finding; else none given, recorded so, not made up
        requester=user_of(body),
        channel=channel_of(body),
    )


def contain_now(context: Context, body: dict[str, Any], tell: Tell) -> None:
    key = KeyRef.decode(_value(body))
    contain.open_request(
        context.ops,
        key.key_id,
        key.reason,  # what the offer knew (an incident's signal); else none given
        requester=user_of(body),
        channel=channel_of(body),
    )


def uncontain(context: Context, body: dict[str, Any], tell: Tell) -> None:
    contain.open_uncontain_of(
        context.ops, _value(body), requester=user_of(body), channel=channel_of(body)
    )


def unquarantine_now(context: Context, body: dict[str, Any], tell: Tell) -> None:
    key = KeyRef.decode(_value(body))
    unquarantine.open_request(
        context.ops,
        key.user,
        key.reason,  # what the offer knew (an incident's signal)
        requester=user_of(body),
        channel=channel_of(body),
    )


def rotate_now(context: Context, body: dict[str, Any], tell: Tell) -> None:
    key = KeyRef.decode(_value(body))
    try:
        rotate.open_request(
            context.ops,
            key.user,
            key.key_id,
            requester=user_of(body),
            channel=channel_of(body),
            reason=key.reason,
        )
    except rotate.TwoKeys as exc:  # the buttons that make room, to whoever may press them
        viewer = Viewer(context.ops.services.rules, user_of(body))
        tell(two_keys_reply(exc, exc.offers(viewer)))


def delete_now(context: Context, body: dict[str, Any], tell: Tell) -> None:
    key_id = KeyRef.decode(_value(body)).key_id
    owner, key = owned_key(context.ops.services, key_id, delete_key.DECLARED.name)
    delete_key.open_request(
        context.ops,
        owner,
        key.key_id,
        requester=user_of(body),
        reason="",  # as above
        channel=channel_of(body),
    )


def deactivate_anyway(context: Context, body: dict[str, Any], tell: Tell) -> None:
    scheduler = context.ops.scheduler
    job = scheduler.get(_value(body))
    force = partial(rotate.retire_old_key, context.ops, force=True, by=user_of(body))
    if job is None or job.state != HELD or not scheduler.run(job, force):
        raise UserError("That step is no longer waiting for a decision.")


def extend(context: Context, body: dict[str, Any], tell: Tell) -> None:
    job = context.ops.scheduler.get(_value(body))
    if job is None:
        raise UserError("That step is no longer waiting for a decision.")
    rotate.extend(context.ops, job, user_of(body))


def revoke_grant(context: Context, body: dict[str, Any], tell: Tell) -> None:
    grant.open_revoke_of(
        context.ops, _value(body), requester=user_of(body), channel=channel_of(body)
    )


def extend_grant(context: Context, body: dict[str, Any], tell: Tell) -> None:
    grant.open_extension(
        context.ops, _value(body), requester=user_of(body), channel=channel_of(body)
    )


def _redraws_home(work: Work) -> Work:
    """A press in the Home tab publishes that person's Home again once the press has done its
    work (or was refused), so the view shows where things stand now; a failed publish is
    logged and changes nothing of what the press did."""

    def run(context: Context, body: dict[str, Any], tell: Tell) -> None:
        try:
            work(context, body, tell)
        finally:
            if pressed_in_home(body):
                refresh_home(context, user_of(body))

    return run


def _follow_up(app: App, context: Context, kind: FollowUp, work: Work) -> None:
    """A click needs the permission of the operation its kind opens or steers (the one that
    decided whether the button was shown). A row of such buttons (one "Delete" per key)
    numbers the repeats: see Reply."""
    lazy = guarded(context, _redraws_home(work), lambda _: kind.permissions)
    app.action(action_pattern(kind.value))(ack=ack_only, lazy=[lazy])


def register(app: App, context: Context) -> None:
    app.action(msg.APPROVE)(ack=ack_only, lazy=[guarded(context, _redraws_home(approve))])
    app.action(msg.CANCEL)(ack=ack_only, lazy=[guarded(context, _redraws_home(cancel))])
    app.action(msg.RETRY)(ack=ack_only, lazy=[guarded(context, _redraws_home(retry))])
    app.action(msg.DENY)(ack=ack_only, lazy=[guarded(context, ask_deny_reason)])
    _follow_up(app, context, FollowUp.DEACTIVATE_NOW, deactivate_now)
    _follow_up(app, context, FollowUp.ROTATE_NOW, rotate_now)
    _follow_up(app, context, FollowUp.DELETE_KEY, delete_now)
    _follow_up(app, context, FollowUp.DEACTIVATE_ANYWAY, deactivate_anyway)
    _follow_up(app, context, FollowUp.EXTEND, extend)
    _follow_up(app, context, FollowUp.REVOKE_GRANT, revoke_grant)
    _follow_up(app, context, FollowUp.EXTEND_GRANT, extend_grant)
    _follow_up(app, context, FollowUp.CONTAIN, contain_now)
    _follow_up(app, context, FollowUp.UNCONTAIN, uncontain)
    _follow_up(app, context, FollowUp.UNQUARANTINE, unquarantine_now)
