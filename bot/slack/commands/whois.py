"""`/iam whois <AKIA...>`: who owns a (possibly leaked) key, and buttons to act on it at once."""

from __future__ import annotations

from bot.ops.context import Services, UserError
from bot.slack.commands.keys import show_keys
from bot.slack.commands.parse import Target, TargetKind, key_id
from bot.slack.context import Request

USAGE = "whois <AKIA...>"


def check(args: tuple[str, ...]) -> None:
    if len(args) != 1:
        raise UserError(f"Usage: `/iam {USAGE}`")
    key_id(args[0])


def run(services: Services, request: Request) -> None:
    show_keys(
        services, request, Target(TargetKind.KEY_ID, key_id(request.args[0])), key_actions=True
    )
