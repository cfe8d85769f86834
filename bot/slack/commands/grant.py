"""`/iam grant <user | @person | me> <group> <duration> <reason>`: ask for a time-bound group
membership (approval needed); `/iam revoke <user | @person | me> <group>`: end one early."""

from __future__ import annotations

from bot.iam import names
from bot.ops import grant
from bot.ops.context import Services, UserError
from bot.slack.commands.parse import Target, reason, user_word
from bot.slack.commands.who import iam_user
from bot.slack.context import Request

USAGE = "grant <user | @person | me> <group> <duration: 30m, 4h, 2d> <reason>"
REVOKE_USAGE = "revoke <user | @person | me> <group>"


def _parse(args: tuple[str, ...]) -> tuple[Target, str, int, str]:
    if len(args) < 4:
        raise UserError(f"Usage: `/iam {USAGE}` (a reason is required)")
    who, group, length = user_word(args[0]), names.group_name(args[1]), args[2]
    return who, group, grant.minutes_of(length), reason(" ".join(args[3:]))


def check(args: tuple[str, ...]) -> None:
    _parse(args)


def run(services: Services, request: Request) -> None:
    who, group, minutes, why = _parse(request.args)
    grant.open_request(
        request.ops,
        iam_user(services, request, who),
        group,
        minutes,
        why,
        requester=request.user_id,
        channel=request.channel_id,
    )


def _parse_revoke(args: tuple[str, ...]) -> tuple[Target, str]:
    if len(args) != 2:
        raise UserError(f"Usage: `/iam {REVOKE_USAGE}`")
    return user_word(args[0]), names.group_name(args[1])


def check_revoke(args: tuple[str, ...]) -> None:
    _parse_revoke(args)


def run_revoke(services: Services, request: Request) -> None:
    who, group = _parse_revoke(request.args)
    grant.open_revoke(
        request.ops,
        iam_user(services, request, who),
        group,
        requester=request.user_id,
        channel=request.channel_id,
    )
