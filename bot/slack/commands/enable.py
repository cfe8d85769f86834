"""`/iam enable <user> <reason>`: ask for a disable to be undone."""

from __future__ import annotations

from bot.iam.names import user_name
from bot.ops import enable
from bot.ops.context import Services, UserError
from bot.slack.context import Request

USAGE = "enable <user> <reason>"


def _parse(args: tuple[str, ...]) -> tuple[str, str]:
    if len(args) < 2:
        raise UserError(f"Usage: `/iam {USAGE}` (a reason is required)")
    return user_name(args[0]), " ".join(args[1:])


def check(args: tuple[str, ...]) -> None:
    _parse(args)


def run(services: Services, request: Request) -> None:
    name, reason = _parse(request.args)
    enable.open_request(
        request.ops, name, reason, requester=request.user_id, channel=request.channel_id
    )
