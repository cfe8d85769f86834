"""The `/iam` slash command: the ack parses only (no I/O), the work runs after it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from slack_bolt import Ack, App

from bot.iam.sessions import current_account
from bot.slack.commands import SLASH_COMMAND, accepted
from bot.slack.context import Request
from bot.slack.listeners.guard import Context, Tell, guarded
from bot.slack.messages.accounts import naming_account


def ack_iam(ack: Ack, command: dict[str, Any]) -> None:
    """Within Slack's three seconds whatever AWS is doing: bad input is answered right here."""
    _, _, immediate = accepted(command.get("text", ""))
    if immediate is None:
        ack()
    else:
        ack(response_type="ephemeral", **immediate.as_kwargs())


def run_iam(context: Context, body: dict[str, Any], tell: Tell) -> None:
    spec, args, _ = accepted(body.get("text", ""))
    assert spec is not None  # guarded: input the ack answered never gets here
    stale_since = _stale_since(context)

    def respond(**message: Any) -> None:
        message = naming_account(message, current_account(), stale_since)
        context.notifier.outbox.respond(body["response_url"], message)

    request = Request(
        user_id=body["user_id"],
        channel_id=body.get("channel_id", ""),
        args=args,
        respond=respond,
        client=context.notifier.client,
        ops=context.ops,
    )
    spec.run(context.ops.services, request)


def _stale_since(context: Context) -> datetime | None:
    """Since when the list of accounts is the cached one (Organizations did not answer)."""
    accounts = context.ops.services.accounts
    return accounts.listing().stale_since if accounts.enabled else None


def _permission(body: dict[str, Any]) -> tuple[str, ...]:
    spec, _, _ = accepted(body.get("text", ""))
    return spec.permissions if spec else ()


def _runs(body: dict[str, Any]) -> bool:
    return accepted(body.get("text", ""))[0] is not None


def _one_account(body: dict[str, Any]) -> bool:
    """Whether the command acts in one account (so the guard sets that account's scope)."""
    spec, _, _ = accepted(body.get("text", ""))
    return spec is not None and spec.one_account


def register(app: App, context: Context) -> None:
    work = guarded(context, run_iam, _permission, _runs, scoped=_one_account)
    app.command(SLASH_COMMAND)(ack=ack_iam, lazy=[work])
