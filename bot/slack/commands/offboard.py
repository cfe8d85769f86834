"""`/iam offboard <user | @person | me> <reason> [--disable]`: ask for a user's removal (or
disable)."""

from __future__ import annotations

from bot.ops import offboard
from bot.ops.context import Services, UserError
from bot.slack.commands.parse import Target, user_word
from bot.slack.commands.who import iam_user
from bot.slack.context import Request

USAGE = "offboard <user | @person | me> <reason> [--disable]"


def _parse(args: tuple[str, ...]) -> tuple[Target, str, bool]:
    disable = "--disable" in args
    words = [a for a in args if a != "--disable"]
    if len(words) < 2:
        raise UserError(f"Usage: `/iam {USAGE}` (a reason is required)")
    return user_word(words[0]), " ".join(words[1:]), disable


def check(args: tuple[str, ...]) -> None:
    _parse(args)


def run(services: Services, request: Request) -> None:
    who, reason, disable = _parse(request.args)
    offboard.open_request(
        request.ops,
        iam_user(services, request, who),
        reason,
        disable=disable,
        requester=request.user_id,
        channel=request.channel_id,
    )
