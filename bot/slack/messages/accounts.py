"""How the list of accounts reads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import Block, ContextBlock, HeaderBlock, MarkdownTextObject

from bot.iam.sessions import Account
from bot.slack.messages.common import Reply, context, escape, section, slack_date
from bot.wording import counted


@dataclass(frozen=True)
class AccountCheck:
    account: Account
    problem: str | None  # why IAM could not be read there (as `config check` says); None: it could


def naming_account(
    message: dict[str, Any], account: Account | None, stale_since: datetime | None = None
) -> dict[str, Any]:
    """A command's reply, with the account it was answered in (when the bot knows several)
    named at its foot, unless its text names it; and, when the list of accounts is the cached
    one because AWS Organizations did not answer (``stale_since``), saying so there too."""
    if account is None:
        return message
    blocks, text = list(message.get("blocks", [])), str(message.get("text", ""))
    elements = []
    if account.id not in text:
        elements.append(f"AWS account *{escape(account.name)}* `{account.id}`")
        text = f"{text} · AWS account {account.label}"
    if stale_since is not None and stale_note(stale_since).to_dict() not in blocks:
        elements.append(_stale_text(stale_since))
    if not elements:
        return message
    foot = ContextBlock(elements=[MarkdownTextObject(text=e) for e in elements]).to_dict()
    return {**message, "text": text, "blocks": [*blocks, foot]}


def stale_note(stale_since: datetime) -> ContextBlock:
    """The list of accounts is the one kept from ``stale_since``: Organizations did not answer."""
    return context(_stale_text(stale_since))


def _stale_text(stale_since: datetime) -> str:
    return (
        ":warning: AWS Organizations did not answer: the list of accounts is the one fetched "
        f"{slack_date(stale_since)}."
    )


def accounts_reply(
    checks: list[AccountCheck],
    handles: dict[str, str],
    default: Account | None,
    problem: str | None,
    stale_since: datetime | None,
) -> Reply:
    """Every account with whether the bot can act in it; which one is the default, or why
    there is none (``problem``); and, for an account whose name means another account or
    several (``handles``: what to type after ``--account``), its ID to type instead."""
    lines = []
    for check in checks:
        account = check.account
        mark = " (default)" if default and default.id == account.id else ""
        if handles.get(account.id, account.name) != account.name:
            mark += f" (its name is taken: `--account {account.id}`)"
        lines.append(f"• *{escape(account.name)}* `{account.id}`{mark}: {_state(check)}")
    blocks: list[Block] = [HeaderBlock(text="AWS accounts")]
    if stale_since is not None:
        blocks.append(stale_note(stale_since))
    blocks.append(section("\n".join(lines) or "No accounts."))
    if problem:
        blocks.append(context(f":warning: {escape(problem)}"))
    failing = sum(c.problem is not None for c in checks)
    text = counted(len(checks), "AWS account") + (f", {failing} not reachable" if failing else "")
    return Reply(text=text, blocks=blocks)


def own_account_reply(check: AccountCheck) -> Reply:
    """The one account a bot without ``accounts:`` acts in: its own credentials'."""
    account = check.account
    shown = f"`{account.id}`" if account.id else "The bot's own account"
    blocks: list[Block] = [
        HeaderBlock(text="AWS accounts"),
        section(f"• {shown} (the bot's own credentials): {_state(check)}"),
        context(
            "The bot acts in this one account. To act in others, list them under `accounts:` "
            "in its config."
        ),
    ]
    return Reply(text=counted(1, "AWS account"), blocks=blocks)


def _state(check: AccountCheck) -> str:
    return "✅ reachable" if check.problem is None else f"❌ {escape(check.problem)}"
