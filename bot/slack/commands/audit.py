"""`/iam audit [--org] [--days N]`: stale credentials across the account, from the credential
report; with ``--org``, across every account the bot knows.

Also the scheduled audit: with ``audit.schedule`` (a cron expression) the summary goes to the
audit channel once per period, claimed in the store so restarts and replicas post it once;
with ``audit.scope: organization`` it covers every account, acting as the bot itself.
"""

from __future__ import annotations

from datetime import datetime

from croniter import croniter

from bot.iam import audit, sessions
from bot.iam.audit import AccountAudit, Finding
from bot.iam.models import CredentialReport
from bot.iam.sessions import Account, Actor
from bot.ops.context import Ops, Services, UserError
from bot.ops.followups import Viewer
from bot.slack.commands.parse import whole_number
from bot.slack.context import Request
from bot.slack.messages.audit import WORST, audit_csv, audit_reply, org_audit_reply
from bot.slack.messages.common import Reply
from bot.slack.outbox import Outbox
from bot.slack.words import Flag

USAGE = "audit [--org] [--days N]"
OPTIONS = (
    "`--days N`: flag keys older than N days or unused for N days (instead of the configured "
    "rotation and unused ages); `--org`: every AWS account the bot knows"
)
SUMMARY = f"stale keys, passwords and MFA across the account; {OPTIONS}"
ORG = Flag("--org")
DAYS = Flag("--days", "N")
FLAGS = (ORG, DAYS)
MAX_DAYS = 3650  # ten years: longer than any key has existed; also keeps date arithmetic sane
BOT = Actor("iam-bot")  # who the scheduled audit acts as: nobody in chat asked for it
NO_ACCOUNTS = (
    "`--org` audits every AWS account the bot knows, and its config has no `accounts:`: "
    "`/iam audit` audits the one account it has."
)


def _parsed(args: tuple[str, ...]) -> tuple[bool, tuple[int, int] | None]:
    """Whether ``--org`` was given, and the thresholds ``--days N`` sets (None: the config's)."""
    org = ORG.name in args
    rest = tuple(a for a in args if a != ORG.name)
    if not rest and len(args) - len(rest) <= 1:
        return org, None
    if len(rest) != 2 or rest[0] != DAYS.name or len(args) - len(rest) > 1:
        raise UserError(f"Usage: `/iam {USAGE}` ({OPTIONS})")
    days = whole_number(rest[1], least=1, most=MAX_DAYS, usage=USAGE)
    return org, (days, days)


def check(args: tuple[str, ...]) -> None:
    _parsed(args)


def _limits(services: Services, days: tuple[int, int] | None) -> dict[str, int]:
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


def run_audit(
    services: Services, reports: audit.CredentialReports, days: tuple[int, int] | None
) -> tuple[list[Finding], int, CredentialReport]:
    """The audit of the account the current work acts in: its findings, how many of them IAM
    contradicts now (left out), and the report they come from."""
    report = reports.get()
    here = sessions.current_account()  # each finding in it, so a button acts where the key is
    found = audit.findings(report, **_limits(services, days), at=services.clock(), account=here)
    return *_checked(services, found), report


def run_org_audit(
    services: Services,
    reports: audit.CredentialReports,
    accounts: tuple[Account, ...],
    actor: Actor,
    days: tuple[int, int] | None,
) -> tuple[list[AccountAudit], list[Finding], int]:
    """Every account's audit (at once), and all their findings worst first, the worst checked
    as :func:`_checked` does (and how many of them it dropped)."""
    audits = audit.audit_accounts(
        services.aws, reports, accounts, actor, **_limits(services, days), at=services.clock()
    )
    return audits, *_checked(services, audit.worst_first(audits), actor)


def run(services: Services, request: Request) -> None:
    org, days = _parsed(request.args)
    if org:
        found, reply = _org(services, request, days)
    else:
        found, dropped, report = run_audit(services, request.ops.reports, days)
        reply = audit_reply(
            found,
            Viewer(services.rules, request.user_id),
            generated=report.generated,
            at=services.clock(),
            users=len(report.rows),
            full_list_sent=len(found) > WORST,
            dropped=dropped,
        )
    if len(found) > WORST:
        dm = request.client.conversations_open(users=request.user_id)["channel"]["id"]
        request.client.files_upload_v2(
            channel=dm,
            content=audit_csv(found),
            filename="iam-audit.csv",
            title="IAM audit findings",
        )
    request.respond(response_type="ephemeral", **reply.as_kwargs())


def _org(
    services: Services, request: Request, days: tuple[int, int] | None
) -> tuple[list[Finding], Reply]:
    """``--org``: the accounts where the person may audit are audited; the others are shown as
    not audited, with the reason, as are those whose role or report fails."""
    if not services.accounts.enabled:
        raise UserError(NO_ACCOUNTS)
    everyone = services.accounts.listing().accounts
    user = request.user_id
    allowed = tuple(a for a in everyone if services.rules.allowed(user, "audit", account=a.id))
    audited, found, dropped = run_org_audit(
        services, request.ops.reports, allowed, Actor(user, services.team()), days
    )
    done = {part.account.id: part for part in audited}
    refused = "you need the `audit` permission in this account"
    audits = [done.get(a.id) or AccountAudit(a, problem=refused) for a in everyone]
    viewer = Viewer(services.rules, user)
    reply = org_audit_reply(
        audits,
        found,
        viewer,
        at=services.clock(),
        full_list_sent=len(found) > WORST,
        dropped=dropped,
    )
    return found, reply


def scheduled(ops: Ops, outbox: Outbox) -> None:
    """Post the audit to the audit channel once per cron period (called on every scheduler tick)."""
    services = ops.services
    cron, channel = services.config.audit.schedule, services.config.audit_channel
    if not cron or not channel:
        return
    now = services.clock()
    period: datetime = croniter(cron, now).get_prev(datetime)
    claim = f"audit-run/{period.isoformat()}"
    if services.store.get(claim) is not None:
        return  # this period's audit is already out (another replica, or before a restart)
    if services.config.audit.scope == "organization":
        accounts = services.accounts.listing().accounts
        audits, found, dropped = run_org_audit(services, ops.reports, accounts, BOT, None)
        reply = org_audit_reply(
            audits, found, Viewer(services.rules), at=now, full_list_sent=False, dropped=dropped
        )
    else:
        found, dropped, report = run_audit(services, ops.reports, None)
        reply = audit_reply(
            found,
            Viewer(services.rules),  # the audit channel: whoever there may press
            generated=report.generated,
            at=now,
            users=len(report.rows),
            full_list_sent=False,
            dropped=dropped,
        )
    # The outbox entry is the claim: of two replicas only one creates it, and once created
    # it is delivered (and retried) even if Slack fails now, so no period's report is lost.
    if outbox.post(channel, reply.as_kwargs(), id=claim) and services.config.audit.dm_owners:
        _tell_owners(ops, found)


def _tell_owners(ops: Ops, found: list[Finding]) -> None:
    """DM each linked key owner about their own stale keys, each found in their own account."""
    tag = ops.services.config.identity.tag
    owners = audit.tagged_owners(ops.services.aws, found, tag, BOT)
    by_owner: dict[tuple[Account | None, str], list[Finding]] = {}
    for f in found:
        if f.key_id:
            by_owner.setdefault((f.account, f.user), []).append(f)
    for (where, user), mine in by_owner.items():
        slack_id = owners.get((where, user))
        if not slack_id:
            continue
        lines = "\n".join(f"• `{f.key_id}`: {f.kind.value}, {f.detail}" for f in mine)
        place = f" in AWS account {where.label}" if where else ""
        flag = f" --account {where.name}" if where else ""
        ops.dm(
            slack_id,
            f"Your IAM user {user}{place} has stale access keys:\n{lines}\n"
            f"`/iam rotate {user}{flag}` replaces one safely.",
        )
