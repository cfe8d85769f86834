"""`/iam deactivate <key-id> [reason]`: the fast path for a leaked key."""

from __future__ import annotations

from bot.ops import deactivate
from bot.ops.context import Services, UserError
from bot.ops.scope import in_key_account
from bot.slack.commands.parse import key_id, reason
from bot.slack.context import Request

USAGE = "deactivate <AKIA...> [reason]"


def check(args: tuple[str, ...]) -> None:
    if not args:
        raise UserError(f"Usage: `/iam {USAGE}`")
    key_id(args[0])
    reason(" ".join(args[1:]))


def run(services: Services, request: Request) -> None:
    reason = " ".join(request.args[1:])  # optional: speed matters more; none is recorded as none
    key = key_id(request.args[0])
    with in_key_account(request.ops, key, deactivate.DECLARED.permissions):
        deactivate.open_request(
            request.ops, key, reason, requester=request.user_id, channel=request.channel_id
        )
