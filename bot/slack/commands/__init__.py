"""The `/iam` subcommands: each one's usage, permission, input check and handler. A command
that opens an operation's request takes the permission that operation declares.

``check`` only parses (no I/O), so the ack can run it within Slack's three seconds; ``run``
works after the ack (see :mod:`bot.slack.listeners.commands`).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass

from bot.iam.errors import InvalidInput
from bot.ops.context import Services, UserError
from bot.ops.operation import Operation
from bot.ops.registry import REGISTRY
from bot.slack.commands import (
    account,
    accounts,
    audit,
    contain,
    deactivate,
    enable,
    grant,
    history,
    incidents,
    investigate,
    keys,
    offboard,
    onboard,
    pending,
    rotate,
    whois,
)
from bot.slack.context import Request
from bot.slack.messages.common import Reply
from bot.slack.messages.help import usage_reply
from bot.slack.replies import error_reply
from bot.slack.words import ACCOUNT, Flag, read_options, split_account, tokens

SLASH_COMMAND = "/iam"


@dataclass(frozen=True)
class Subcommand:
    name: str
    usage: str
    summary: str
    permissions: tuple[str, ...]  # any one of them; none: anyone (the work checks itself)
    check: Callable[[tuple[str, ...]], None]  # input validation only: no I/O, runs before the ack
    run: Callable[[Services, Request], None]
    # Acts in one account (``--account``, else the default); False: it looks at every
    # account itself, takes no ``--account`` and works with no default account.
    one_account: bool = True
    # The options it takes (besides ``--account``); any other word shaped like one is refused.
    flags: tuple[Flag, ...] = ()

    @property
    def options(self) -> tuple[Flag, ...]:
        return (*self.flags, ACCOUNT) if self.one_account else self.flags


SUBCOMMANDS = (
    Subcommand(
        "keys",
        keys.USAGE,
        "access keys: status, age, last use",
        ("keys",),
        keys.check,
        keys.run,
    ),
    Subcommand(
        "whois",
        whois.USAGE,
        "who owns an access key; deactivate or rotate it",
        ("keys",),
        whois.check,
        whois.run,
    ),
    Subcommand(
        "investigate",
        investigate.USAGE,
        investigate.SUMMARY,
        investigate.PERMISSIONS,
        investigate.check,
        investigate.run,
        flags=investigate.FLAGS,
    ),
    Subcommand(
        "deactivate",
        deactivate.USAGE,
        "deactivate a (leaked) key now; you confirm it",
        REGISTRY[Operation.DEACTIVATE].permissions,
        deactivate.check,
        deactivate.run,
    ),
    Subcommand(
        "contain",
        contain.USAGE,
        "a leaked key out of use now, AWSDenyAll if asked; you confirm it",
        REGISTRY[Operation.CONTAIN].permissions,
        contain.check,
        contain.run,
        flags=contain.FLAGS,
    ),
    Subcommand(
        "uncontain",
        contain.UNDO_USAGE,
        "undo a containment: its keys back on (approval needed)",
        REGISTRY[Operation.UNCONTAIN].permissions,
        contain.check_undo,
        contain.run_undo,
    ),
    Subcommand(
        "unquarantine",
        contain.UNQUARANTINE_USAGE,
        "detach AWS's quarantine policy once the leaked key is gone (approval needed)",
        REGISTRY[Operation.UNQUARANTINE].permissions,
        contain.check_unquarantine,
        contain.run_unquarantine,
    ),
    Subcommand(
        "rotate",
        rotate.USAGE,
        "new key to Secrets Manager, old one retired",
        REGISTRY[Operation.ROTATE].permissions,
        rotate.check,
        rotate.run,
    ),
    Subcommand(
        "offboard",
        offboard.USAGE,
        "remove a user and everything attached (approval needed)",
        REGISTRY[Operation.OFFBOARD].permissions,
        offboard.check,
        offboard.run,
        flags=offboard.FLAGS,
    ),
    Subcommand(
        "enable",
        enable.USAGE,
        "undo a disable: reactivate what it deactivated (approval needed)",
        REGISTRY[Operation.ENABLE].permissions,
        enable.check,
        enable.run,
    ),
    Subcommand(
        "onboard",
        onboard.USAGE,
        "a new user: groups, console password, access key (approval needed)",
        REGISTRY[Operation.ONBOARD].permissions,
        onboard.check,
        onboard.run,
        flags=onboard.FLAGS,
    ),
    Subcommand(
        "grant",
        grant.USAGE,
        "a group membership for a while, removed at its end (approval needed)",
        REGISTRY[Operation.GRANT].permissions,
        grant.check,
        grant.run,
    ),
    Subcommand(
        "revoke",
        grant.REVOKE_USAGE,
        "end a grant of a group membership now; you confirm it",
        REGISTRY[Operation.REVOKE].permissions,
        grant.check_revoke,
        grant.run_revoke,
    ),
    Subcommand(
        "audit",
        audit.USAGE,
        audit.SUMMARY,
        ("audit",),
        audit.check,
        audit.run,
        flags=audit.FLAGS,
    ),
    Subcommand(
        "account",
        account.USAGE,
        "alias, usage against quotas, password policy, SAML",
        ("account",),
        account.check,
        account.run,
    ),
    Subcommand(
        "accounts",
        accounts.USAGE,
        "the AWS accounts the bot knows, and whether it can act in each",
        ("account",),
        accounts.check,
        accounts.run,
        one_account=False,
    ),
    Subcommand(
        "pending",
        pending.USAGE,
        "requests waiting on you, and yours still open, with their buttons",
        (),
        pending.check,
        pending.run,
        one_account=False,
    ),
    Subcommand(
        "incidents",
        incidents.USAGE,
        "AWS's alarms about leaked keys still open; close one",
        ("keys",),
        incidents.check,
        incidents.run,
    ),
    Subcommand(
        "history",
        history.USAGE,
        "past requests about a user, and what was removed",
        ("keys",),
        history.check,
        history.run,
    ),
)
_TABLE = {s.name: s for s in SUBCOMMANDS}
_HELP = [("help", "this card")] + [(s.usage, s.summary) for s in SUBCOMMANDS]


def _not_a_command(name: str) -> str:
    """Why ``name`` was not run, with the subcommand it most likely meant if it is a typo of
    one (a 0.7 likeness takes `kyes` and `adit`, not `frobnicate` for `rotate`)."""
    close = difflib.get_close_matches(name, [*_TABLE, "help"], n=1, cutoff=0.7)
    meant = f" Did you mean `{close[0]}`?" if close else ""
    return f"`{name}` is not an /iam command.{meant}"


def accepted(text: str) -> tuple[Subcommand | None, tuple[str, ...], Reply | None]:
    """The subcommand to run, or the immediate reply (usage card or input error) instead.
    ``--account`` may come anywhere, before the subcommand too, and is left out of the words
    (it sets the scope the work runs in: :mod:`bot.slack.scope`)."""
    try:
        account, words = split_account(tokens(text))
    except UserError as exc:
        return None, (), error_reply(exc)
    name = words[0].lower() if words else ""
    spec = _TABLE.get(name)
    if spec is None:
        problem = None if name in ("", "help") else _not_a_command(name)
        return None, (), usage_reply(_HELP, problem)
    try:
        args = read_options(words[1:], spec.name, spec.options)
        if account and not spec.one_account:
            raise UserError(f"`/iam {spec.name}` covers every account: leave out `--account`.")
        if account and audit.ORG.name in args:
            raise UserError("`--org` covers every account: leave out `--account`.")
        spec.check(args)
    except (InvalidInput, UserError) as exc:
        return None, (), error_reply(exc)
    return spec, args, None
