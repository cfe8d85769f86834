"""The `/iam` router: every subcommand, and the checks every one of them shares.

The ack runs on the request thread and only parses text, so it answers within Slack's three
seconds whatever AWS is doing; permission checks and all AWS work run after it, on the job pool.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt import Ack, App

from bot.iam.errors import InvalidInput
from bot.ops.context import Ops, Services, UserError
from bot.slack.commands import (
    account,
    audit,
    deactivate,
    enable,
    history,
    keys,
    offboard,
    onboard,
    rotate,
    whois,
)
from bot.slack.commands.parse import tokens
from bot.slack.context import Request
from bot.slack.messages.common import Reply
from bot.slack.messages.help import usage_reply
from bot.slack.notifier import SlackNotifier
from bot.slack.replies import answer_failure, error_reply

log = logging.getLogger(__name__)

SLASH_COMMAND = "/iam"


@dataclass(frozen=True)
class Subcommand:
    name: str
    usage: str
    summary: str
    permission: str
    check: Callable[[tuple[str, ...]], None]  # input validation only: no I/O, runs before the ack
    run: Callable[[Services, Request], None]


SUBCOMMANDS = (
    Subcommand(
        "keys",
        keys.USAGE,
        "access keys: status, age, last use",
        "keys",
        keys.check,
        keys.run,
    ),
    Subcommand(
        "whois",
        whois.USAGE,
        "who owns an access key; deactivate or rotate it",
        "keys",
        whois.check,
        whois.run,
    ),
    Subcommand(
        "deactivate",
        deactivate.USAGE,
        "deactivate a (leaked) key now; you confirm it",
        "deactivate",
        deactivate.check,
        deactivate.run,
    ),
    Subcommand(
        "rotate",
        rotate.USAGE,
        "new key to Secrets Manager, old one retired",
        "rotate",
        rotate.check,
        rotate.run,
    ),
    Subcommand(
        "offboard",
        offboard.USAGE,
        "remove a user and everything attached (approval needed)",
        "offboard",
        offboard.check,
        offboard.run,
    ),
    Subcommand(
        "enable",
        enable.USAGE,
        "undo a disable: reactivate what it deactivated (approval needed)",
        "offboard",
        enable.check,
        enable.run,
    ),
    Subcommand(
        "onboard",
        onboard.USAGE,
        "a new user: groups, console password, access key (approval needed)",
        "onboard",
        onboard.check,
        onboard.run,
    ),
    Subcommand(
        "audit",
        audit.USAGE,
        "stale keys, passwords and MFA across the account",
        "audit",
        audit.check,
        audit.run,
    ),
    Subcommand(
        "account",
        account.USAGE,
        "alias, usage against quotas, password policy, SAML",
        "account",
        account.check,
        account.run,
    ),
    Subcommand(
        "history",
        history.USAGE,
        "past requests about a user, and what was removed",
        "keys",
        history.check,
        history.run,
    ),
)
_TABLE = {s.name: s for s in SUBCOMMANDS}
_HELP = [("help", "this card")] + [(s.usage, s.summary) for s in SUBCOMMANDS]


def _ephemeral(reply: Reply) -> dict[str, Any]:
    return {"response_type": "ephemeral", **reply.as_kwargs()}


def _accepted(text: str) -> tuple[Subcommand | None, tuple[str, ...], Reply | None]:
    """The subcommand to run, or the immediate reply (usage card or input error) instead."""
    words = tokens(text)
    name = words[0].lower() if words else ""
    spec = _TABLE.get(name)
    if spec is None:
        problem = None if name in ("", "help") else f"`{name}` is not an /iam command."
        return None, (), usage_reply(_HELP, problem)
    try:
        spec.check(words[1:])
    except (InvalidInput, UserError) as exc:
        return None, (), error_reply(exc)
    return spec, words[1:], None


def register(app: App, ops: Ops, notifier: SlackNotifier) -> None:
    services = ops.services

    def ack_iam(ack: Ack, command: dict[str, Any]) -> None:
        _, _, immediate = _accepted(command.get("text", ""))
        if immediate is None:
            ack()
        else:
            ack(**_ephemeral(immediate))

    def run_iam(command: dict[str, Any], client: Any) -> None:
        spec, args, _ = _accepted(command.get("text", ""))
        if spec is None:
            return  # the ack already answered

        def respond(**message: Any) -> None:
            notifier.outbox.respond(command["response_url"], message)

        request = Request(
            user_id=command["user_id"],
            channel_id=command.get("channel_id", ""),
            args=args,
            respond=respond,
            client=client,
            ops=ops,
        )
        try:
            services.rules.require_channel(request.channel_id)
            services.rules.require(request.user_id, spec.permission)
            spec.run(services, request)
        except Exception as exc:
            answer_failure(exc, lambda reply: respond(**_ephemeral(reply)))

    app.command(SLASH_COMMAND)(ack=ack_iam, lazy=[run_iam])
