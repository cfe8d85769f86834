"""`/iam offboard <user> <reason> [--disable]`: ask for a user's removal (or disable)."""

from __future__ import annotations

from bot.iam.names import user_name
from bot.ops import offboard
from bot.ops.context import Services, UserError
from bot.slack.context import Request

USAGE = "offboard <user> <reason> [--disable]"


def _parse(args: tuple[str, ...]) -> tuple[str, str, bool]:
    disable = "--disable" in args
    words = [a for a in args if a != "--disable"]
    if len(words) < 2:
        raise UserError(f"Usage: `/iam {USAGE}` (a reason is required)")
    return user_name(words[0]), " ".join(words[1:]), disable


def check(args: tuple[str, ...]) -> None:
    _parse(args)


def run(services: Services, request: Request) -> None:
    user, reason, disable = _parse(request.args)
    offboard.open_request(
        request.ops,
        user,
        reason,
        disable=disable,
        requester=request.user_id,
        channel=request.channel_id,
    )
