"""`/iam contain <AKIA...> [--all-keys] [--deny-all] <reason>`: take a leaked key out of use
in one step (you confirm it); `/iam uncontain <AKIA...> <reason>`: undo that; `/iam
unquarantine <user> <reason>`: detach AWS's quarantine once the leaked key is gone (both
approval needed)."""

from __future__ import annotations

from bot.ops import contain, unquarantine
from bot.ops.context import Services, UserError
from bot.ops.operation import Operation
from bot.ops.registry import REGISTRY
from bot.ops.scope import in_key_account
from bot.slack.commands.parse import Target, key_id, reason, user_word
from bot.slack.commands.who import iam_user
from bot.slack.context import Request
from bot.slack.words import Flag

USAGE = "contain <AKIA...> [--all-keys] [--deny-all] <reason>"
UNDO_USAGE = "uncontain <AKIA...> <reason>"
UNQUARANTINE_USAGE = "unquarantine <user | @person | me> <reason>"
ALL_KEYS = Flag("--all-keys")
DENY_ALL = Flag("--deny-all")
FLAGS = (ALL_KEYS, DENY_ALL)


def _parse(args: tuple[str, ...], usage: str) -> tuple[str, str]:
    """The key and the reason, whatever flags stand among them."""
    words = [a for a in args if a not in (ALL_KEYS.name, DENY_ALL.name)]
    if len(words) < 2:
        raise UserError(f"Usage: `/iam {usage}` (a reason is required)")
    return key_id(words[0]), reason(" ".join(words[1:]))


def check(args: tuple[str, ...]) -> None:
    _parse(args, USAGE)


def run(services: Services, request: Request) -> None:
    key, why = _parse(request.args, USAGE)
    with in_key_account(request.ops, key, REGISTRY[Operation.CONTAIN].permissions):
        contain.open_request(
            request.ops,
            key,
            why,
            all_keys=ALL_KEYS.name in request.args,
            deny_all=DENY_ALL.name in request.args,
            requester=request.user_id,
            channel=request.channel_id,
        )


def check_undo(args: tuple[str, ...]) -> None:
    _parse(args, UNDO_USAGE)


def run_undo(services: Services, request: Request) -> None:
    key, why = _parse(request.args, UNDO_USAGE)
    with in_key_account(request.ops, key, REGISTRY[Operation.UNCONTAIN].permissions):
        contain.open_uncontain(
            request.ops, key, why, requester=request.user_id, channel=request.channel_id
        )


def _parse_unquarantine(args: tuple[str, ...]) -> tuple[Target, str]:
    if len(args) < 2:
        raise UserError(f"Usage: `/iam {UNQUARANTINE_USAGE}` (a reason is required)")
    return user_word(args[0]), reason(" ".join(args[1:]))


def check_unquarantine(args: tuple[str, ...]) -> None:
    _parse_unquarantine(args)


def run_unquarantine(services: Services, request: Request) -> None:
    who, why = _parse_unquarantine(request.args)
    unquarantine.open_request(
        request.ops,
        iam_user(services, request, who),
        why,
        requester=request.user_id,
        channel=request.channel_id,
    )
