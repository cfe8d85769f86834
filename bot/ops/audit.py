"""The audit as a workflow: stale credentials found in one account or in several, the worst
checked against IAM now, and the scheduled audit's period and the key owners it tells.

Everything here returns plain data (findings, counts, per-account problems); how it reads,
whether in a reply, a channel post, a CSV or a DM, is the chat room's business. The command
and the scheduled audit, like the benchmarks, run the same functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from croniter import croniter

from bot.iam import audit, sessions
from bot.iam.audit import AccountAudit, CredentialReports, Finding
from bot.iam.models import CredentialReport
from bot.iam.sessions import Account, Actor
from bot.ops.context import Ops, Services

WORST = 10  # findings shown (so checked against IAM now); the rest only in the full list
BOT = Actor("iam-bot")  # who the scheduled audit acts as: nobody in chat asked for it
REFUSED = "you need the audit permission in this account"
# The thresholds ``--days N`` sets (rotation age, unused), or None: the configured ones.
Days = tuple[int, int] | None


@dataclass(frozen=True)
class Audit:
    """One account's audit: its findings worst first (the worst ``WORST`` named and checked
    against IAM now), how many the check dropped, and the report they come from."""

    found: list[Finding]
    dropped: int
    report: CredentialReport


@dataclass(frozen=True)
class OrgAudit:
    """An audit of several accounts: each account's part (audited, or why not), every finding
    worst first across them all (checked as :class:`Audit`'s), and how many the check dropped."""

    accounts: list[AccountAudit]
    found: list[Finding]
    dropped: int


def _limits(services: Services, days: Days) -> dict[str, int]:
    rotation_age, unused = days or (services.config.rotation_age_days, services.config.unused_days)
    return {"rotation_age_days": rotation_age, "unused_days": unused}


def _checked(
    services: Services, found: list[Finding], actor: Actor | None = None
) -> tuple[list[Finding], int]:
    """The findings with the worst checked against IAM now (:func:`audit.name_keys`: named,
    and what the report says but IAM no longer does dropped), batch after batch until
    ``WORST`` are left to show or none; the rest as the report has them. Also how many were
    dropped. Key IDs cost a ListAccessKeys per user: fetched for the findings shown."""
    shown: list[Finding] = []
    rest = found
    while rest and len(shown) < WORST:
        batch, rest = rest[: WORST - len(shown)], rest[WORST - len(shown) :]
        shown += audit.name_keys(services.aws, batch, actor)
    return shown + rest, len(found) - len(shown) - len(rest)


def audit_here(services: Services, reports: CredentialReports, days: Days) -> Audit:
    """The audit of the account the current work acts in."""
    report = reports.get()
    here = sessions.current_account()  # each finding in it, so a button acts where the key is
    found = audit.quarantine_findings(services.aws, here) + audit.findings(
        report, **_limits(services, days), at=services.clock(), account=here
    )
    return Audit(*_checked(services, found), report)


def audit_accounts(
    services: Services,
    reports: CredentialReports,
    accounts: tuple[Account, ...],
    actor: Actor,
    days: Days,
) -> OrgAudit:
    """Every account's audit (at once), and all their findings worst first, the worst checked
    as :func:`audit_here` does."""
    audits = audit.audit_accounts(
        services.aws, reports, accounts, actor, **_limits(services, days), at=services.clock()
    )
    return OrgAudit(audits, *_checked(services, audit.worst_first(audits), actor))


def audit_org_for(
    services: Services, reports: CredentialReports, actor: Actor, days: Days
) -> OrgAudit:
    """``--org`` for a person: every account the bot knows, those where ``actor`` may audit
    audited, the others listed as not audited because of that (:data:`REFUSED`)."""
    everyone = services.accounts.listing().accounts
    user = actor.user
    allowed = tuple(a for a in everyone if services.rules.allowed(user, "audit", account=a.id))
    result = audit_accounts(services, reports, allowed, actor, days)
    done = {part.account.id: part for part in result.accounts}
    parts = [done.get(a.id) or AccountAudit(a, problem=REFUSED) for a in everyone]
    return OrgAudit(parts, result.found, result.dropped)


def due_claim(services: Services) -> str | None:
    """The store key claiming this cron period's scheduled audit, or None when no audit is
    scheduled or this period's is already out (another replica, or before a restart)."""
    cron, channel = services.config.audit.schedule, services.config.audit_channel
    if not cron or not channel:
        return None
    period: datetime = croniter(cron, services.clock()).get_prev(datetime)
    claim = f"audit-run/{period.isoformat()}"
    return None if services.store.get(claim) is not None else claim


def scheduled(ops: Ops) -> Audit | OrgAudit:
    """The scheduled audit, acting as the bot itself: of every known account with
    ``audit.scope: organization``, else of the account the bot acts in."""
    services = ops.services
    if services.config.audit.scope == "organization":
        accounts = services.accounts.listing().accounts
        return audit_accounts(services, ops.reports, accounts, BOT, None)
    return audit_here(services, ops.reports, None)


def stale_keys_by_owner(
    ops: Ops, found: list[Finding]
) -> dict[tuple[str, Account | None, str], list[Finding]]:
    """The named key findings of each IAM user linked to a chat user (by the identity tag),
    keyed by (chat user, account, IAM user): each owner is looked up in their own account,
    where the same name in two accounts can be two people."""
    tag = ops.services.config.identity.tag
    owners = audit.tagged_owners(ops.services.aws, found, tag, BOT)
    mine: dict[tuple[str, Account | None, str], list[Finding]] = {}
    for f in found:
        chat_user = owners.get((f.account, f.user)) if f.key_id else None
        if chat_user:
            mine.setdefault((chat_user, f.account, f.user), []).append(f)
    return mine
