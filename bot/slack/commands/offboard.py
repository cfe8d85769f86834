"""`/iam offboard <user | @person | me> <reason> [--disable]`: ask for a user's removal (or
disable). With several accounts, a mentioned person's IAM users are looked for in every one
of them and offboarded through one request."""

from __future__ import annotations

from bot.access.approvals import Request as ApprovalRequest
from bot.ops import offboard, offboard_person
from bot.ops.context import Services, UserError
from bot.slack.commands.parse import Target, TargetKind, reason, user_word
from bot.slack.commands.who import iam_user, known_in_slack
from bot.slack.context import Request
from bot.slack.words import Flag

USAGE = "offboard <user | @person | me> <reason> [--disable]"
DISABLE = Flag("--disable")
FLAGS = (DISABLE,)


def _parse(args: tuple[str, ...]) -> tuple[Target, str, bool]:
    disable = DISABLE.name in args
    words = [a for a in args if a != DISABLE.name]
    if len(words) < 2:
        raise UserError(f"Usage: `/iam {USAGE}` (a reason is required)")
    return user_word(words[0]), reason(" ".join(words[1:])), disable


def check(args: tuple[str, ...]) -> None:
    _parse(args)


def run(services: Services, request: Request) -> None:
    who, reason, disable = _parse(request.args)
    open_offboarding(services, request, who, reason, disable=disable)


def open_offboarding(
    services: Services,
    request: Request,
    who: Target,
    reason: str,
    *,
    disable: bool,
    request_id: str | None = None,
) -> ApprovalRequest:
    """The request `/iam offboard` opens, asked by ``request``'s user where it was typed: a
    workflow step opens a person's offboarding through here too, so it is the same request
    (with the ID its step chose, ``request_id``)."""
    if who.kind is TargetKind.SLACK_USER and services.accounts.enabled:
        with known_in_slack(who.value):
            email = services.identity.email_of(who.value)
            name = services.identity.name_of(who.value) or ""
        return offboard_person.open_request(
            request.ops,
            who.value,
            email,
            reason,
            disable=disable,
            requester=request.user_id,
            channel=request.channel_id,
            person_name=name,
            request_id=request_id,
        )
    return offboard.open_request(
        request.ops,
        iam_user(services, request, who),
        reason,
        disable=disable,
        requester=request.user_id,
        channel=request.channel_id,
        request_id=request_id,
    )
