"""Turning failures into short words for Slack, and logging the detail instead.

Work that runs after the ack reports failures through :func:`answer_failure`, so a failure in
the background still reaches the user as a clear message, and no exception text or stack
trace ever does.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.access.approvals import AlreadyOpen, Refused, Request, State, Transition
from bot.access.identity import NotLinked
from bot.access.reach import CHECK_EVENT
from bot.access.rules import Denied, SlackUnavailable
from bot.iam import errors
from bot.ops.context import UserError
from bot.slack.messages.approval import go_ahead, titled
from bot.slack.messages.common import Reply, channel_link, escape, labelled_link, mention, plain

log = logging.getLogger(__name__)

# What the bot's own rules say no with, in words meant for the person (not failures).
REFUSALS = (Denied, NotLinked, UserError, Refused)


def words_for(exc: BaseException) -> str:
    """What to tell the user about a failure. Unknown failures get a reference, not details."""
    match exc:
        case Denied(channels=channels) if channels:
            return f"/iam works only in {', '.join(map(channel_link, channels))}."
        case NotLinked(slack_user_id=user, tried=tried):
            return f"No IAM user is linked to {mention(user)} (looked for {tried})."
        case AlreadyOpen(request=Request() as already):
            return already_open(already)
        case Denied() | UserError() | Refused() | SlackUnavailable():
            return str(exc)
        case errors.InvalidInput():
            return f"That input is not valid: {exc.message}."
        case errors.AccessDenied(action=action, account=account):
            return (
                f"The bot's AWS role is not allowed to call `{action}` in "
                f"{escape(account) if account else 'its own AWS account'}. An AWS admin can run "
                f"`iam-bot config check` (or invoke the function with `{CHECK_EVENT}`) "
                "to see what is missing."
            )
        case errors.NotFound():
            return "AWS says that does not exist (any more)."
        case errors.LimitExceeded():
            return f"That would exceed an IAM quota: {exc.message}"
        case errors.Conflict():
            return f"AWS refused the change: {exc.message}"
        case errors.Throttled():
            return "AWS is throttling requests right now. Try again in a minute."
        case errors.Unavailable():
            ref = _reference(exc)
            return (
                f"AWS could not be reached or gave an unexpected answer (ref `{ref}`). Try again."
            )
    ref = _reference(exc)
    return f"Something went wrong on the bot's side (ref `{ref}`). Nothing more was changed."


def already_open(request: Request, link: str | None = None) -> str:
    """A second request for what ``request`` already asks, refused: where the open one is,
    with a link to its message when Slack gave one (``link``)."""
    named = labelled_link(link, "the open request") if link else "the open request"
    return (
        f"Already asked for: {named} (request `{request.id}` in {channel_link(request.channel)} "
        f"by {mention(request.requester)}, {request.state.value}). Nothing new was opened."
    )


@dataclass(frozen=True)
class Linking(Reply):
    """A refusal for a request already open, which should link that request's message.
    Failures are worded where no Slack client is at hand, so whoever sends the reply with one
    (the notifier) asks Slack for the permalink and sends ``with_link(permalink)`` instead;
    sent as it is, it names the channel."""

    request: Request | None = None

    def with_link(self, link: str) -> Reply:
        return plain(f":x: {already_open(self.request, link)}") if self.request else self


UNSEEN = "Slack would not show it where it was asked"  # why the bot withdrew a request


def unseen_words(request: Request, bot_user: str | None, elsewhere: str | None) -> str:
    """What the requester of a request Slack refused to post (a private channel the bot is not
    in) is told at once: that nobody could see or decide it, that it was cancelled with
    nothing changed, and the two ways to ask again: with the bot invited (``bot_user``, its
    Slack user ID), or in a channel where it is (``elsewhere``)."""
    me = mention(bot_user) if bot_user else "the bot"
    where = channel_link(elsewhere) if elsewhere else "a channel I am in"
    return (
        f":warning: Nobody could see your request `{request.id}` ({titled(request)}): "
        "I am not a member of this private channel, so Slack would not let me post it here. "
        "I cancelled it; nothing was changed.\n"
        f"To ask again: invite me here (`/invite` {me}) and run the command again, "
        f"or run it in {where}."
    )


def refusal_words(outcome: Transition) -> str:
    """What to tell whoever clicked a request's button when the click changed nothing: the
    access layer's words, naming who approved or denied it when that is why."""
    request, refusal = outcome.request, outcome.refusal or ""
    if not outcome.moved_on:
        return refusal
    if request.state in (State.APPROVED, State.RUNNING):
        return f"Already {go_ahead(request)}."
    if request.state is State.DENIED and (denial := request.decided_by("deny")):
        return f"Already denied by {mention(denial.who)}."
    return refusal


def _reference(exc: BaseException) -> str:
    ref = uuid.uuid4().hex[:8]
    log.error("failure ref=%s", ref, exc_info=exc)
    return ref


def error_reply(exc: BaseException) -> Reply:
    reply = plain(f":x: {words_for(exc)}")
    if isinstance(exc, AlreadyOpen) and exc.request is not None:
        return Linking(reply.text, reply.blocks, exc.request)
    return reply


def answer_failure(exc: BaseException, send: Callable[[Reply], Any]) -> None:
    """Tell the user what failed, in words; the detail goes to the log only."""
    if isinstance(exc, (*REFUSALS, errors.IamError)):
        log.info("refused: %s", type(exc).__name__)
    try:
        send(error_reply(exc))
    except Exception:
        log.exception("could not tell the user about a failure")
