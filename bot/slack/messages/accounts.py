"""How the list of accounts reads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import Block, HeaderBlock

from bot.iam.sessions import Account
from bot.slack.messages.common import Reply, context, escape, section, slack_date


@dataclass(frozen=True)
class AccountCheck:
    account: Account
    problem: str | None  # why its role could not be assumed; None: it could


def naming_account(message: dict[str, Any], account: Account | None) -> dict[str, Any]:
    """A command's reply, with the account it was answered in (when the bot knows several)
    named at its foot; a reply whose text names its accounts itself is left as it is."""
    if account is None or account.id in str(message.get("text", "")):
        return message
    foot = context(f"AWS account *{escape(account.name)}* `{account.id}`").to_dict()
    blocks = [*message.get("blocks", []), foot]
    return {
        **message,
        "text": f"{message.get('text', '')} · AWS account {account.label}",
        "blocks": blocks,
    }


def accounts_reply(
    checks: list[AccountCheck], default: str | None, stale_since: datetime | None
) -> Reply:
    lines = []
    for check in checks:
        account = check.account
        mark = " (default)" if default in (account.id, account.name) else ""
        state = "✅ reachable" if check.problem is None else f"❌ {escape(check.problem)}"
        lines.append(f"• *{escape(account.name)}* `{account.id}`{mark}: {state}")
    blocks: list[Block] = [HeaderBlock(text="AWS accounts")]
    if stale_since is not None:
        blocks.append(
            context(
                ":warning: AWS Organizations did not answer: this list is the one fetched "
                f"{slack_date(stale_since)}."
            )
        )
    blocks.append(section("\n".join(lines) or "No accounts."))
    failing = sum(c.problem is not None for c in checks)
    text = f"{len(checks)} AWS accounts" + (f", {failing} not reachable" if failing else "")
    return Reply(text=text, blocks=blocks)
