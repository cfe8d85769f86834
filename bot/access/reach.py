"""Whether the bot can read IAM in every account it is configured for.

What `iam-bot config check` prints and what `iam-bot serve` proves before it serves: one IAM
read (``GetAccountSummary``, in the derived policy) per account, through the very session code
every command uses (the member role, with a source identity), so a missing role, a trust policy
that refuses the central role or a central role with no IAM rights is found at deploy time, named,
instead of as "AccessDenied" under someone's first command.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.access.accounts import AccountBook
from bot.iam import account, errors
from bot.iam.aws import Aws
from bot.iam.sessions import Account, Actor, acting
from bot.wording import counted

# CloudTrail's source identity for the check's sessions: the member role refuses a session that
# names nobody, and this names the bot itself checking, not a person.
CHECKER = Actor(user="iam-bot-config-check")
# The event that makes a deployed function (bot/lambda_handler.py) run this check: named here, where
# what the check is lives, so a refusal in Slack can tell an admin how to run it.
CHECK_SOURCE = "iam-bot.check"
CHECK_EVENT = f'{{"source": "{CHECK_SOURCE}"}}'
# Where a single-account bot (no ``accounts:``) gets its IAM rights.
_OWN_RIGHTS = (
    "deploy central.yaml with ActInHomeAccount=true, or give the bot `accounts:` and "
    "member-role.yaml"
)


@dataclass(frozen=True)
class Reach:
    """One account and, when IAM could not be read there, why (None: it could)."""

    where: str
    problem: str | None = None


def check(aws: Aws, book: AccountBook) -> list[Reach]:
    """Every configured account, read at once; with no ``accounts:``, the bot's own account."""
    if not book.enabled:
        return [read(aws, None)]
    listing = book.listing()
    if not listing.accounts:
        return [Reach("accounts.organization", "cannot list the Organization's accounts")]
    return aws.map(lambda a: read(aws, a), listing.accounts)


def read(aws: Aws, where: Account | None, actor: Actor = CHECKER) -> Reach:
    """One IAM read in ``where`` (None: with the bot's own credentials) as ``actor`` (the
    person asking, when `/iam accounts` does it), and what is missing when it fails."""
    label = where.label if where else "this account (the bot's own credentials)"
    try:
        if where is None:
            account.account_summary(aws)
        else:
            with acting(where, actor):
                account.account_summary(aws)
    except errors.AccessDenied as exc:
        return Reach(label, _denied(exc, where))
    except errors.IamError as exc:
        return Reach(label, f"{exc.code or 'error'}: {exc.message}")
    return Reach(label)


def _denied(exc: errors.AccessDenied, where: Account | None) -> str:
    """What is missing, in words an operator acts on."""
    if where is None:
        return f"{exc.action} denied: the bot has no IAM rights here ({_OWN_RIGHTS})"
    if exc.action == "sts:AssumeRole":
        return (
            f"cannot assume {where.role_arn} (missing, or its trust policy refuses the bot: "
            "deploy member-role.yaml there)"
        )
    return f"{exc.action} denied to {where.role_arn} (its policy is not `iam-bot policy`)"


def summary(results: list[Reach]) -> str:
    """One line naming every account where IAM could not be read, or "" when none."""
    failed = [r for r in results if r.problem]
    if not failed:
        return ""
    named = "; ".join(f"{r.where}: {r.problem}" for r in failed)
    return f"AWS: cannot read IAM in {len(failed)} of {counted(len(results), 'account')}: {named}"
