"""`/iam enable <user | @person | me> <reason>`: ask for a disable to be undone."""

from __future__ import annotations

from bot.ops import enable
from bot.ops.context import Services, UserError
from bot.slack.commands.parse import Target, reason, user_word
from bot.slack.commands.who import iam_user
from bot.slack.context import Request

USAGE = "enable <user | @person | me> <reason>"


def _parse(args: tuple[str, ...]) -> tuple[Target, str]:
    if len(args) < 2:
        raise UserError(f"Usage: `/iam {USAGE}` (a reason is required)")
    return user_word(args[0]), reason(" ".join(args[1:]))


def check(args: tuple[str, ...]) -> None:
    _parse(args)


def run(services: Services, request: Request) -> None:
    who, reason = _parse(request.args)
    enable.open_request(
        request.ops,
        iam_user(services, request, who),
        reason,
        requester=request.user_id,
        channel=request.channel_id,
    )
