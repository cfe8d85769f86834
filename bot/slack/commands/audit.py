"""`/iam audit [--days N]`: stale credentials across the account, from the credential report.

Also the scheduled audit: with ``audit.schedule`` (a cron expression) the summary goes to the
audit channel once per period, claimed in the store so restarts and replicas post it once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from croniter import croniter

from bot.iam import audit
from bot.iam.audit import Finding
from bot.ops.context import Ops, Services, UserError
from bot.slack.commands.parse import whole_number
from bot.slack.context import Request
from bot.slack.messages.audit import WORST, audit_csv, audit_reply
from bot.slack.outbox import Outbox

USAGE = "audit [--days N]"
MAX_DAYS = 3650  # ten years: longer than any key has existed; also keeps date arithmetic sane


def _thresholds(args: tuple[str, ...]) -> tuple[int, int] | None:
    if not args:
        return None
    if len(args) != 2 or args[0] != "--days":
        raise UserError(
            f"Usage: `/iam {USAGE}` (N: flag keys older, or unused longer, than N days)"
        )
    days = whole_number(args[1], least=1, most=MAX_DAYS, usage=USAGE)
    return days, days


def check(args: tuple[str, ...]) -> None:
    _thresholds(args)


def run_audit(
    services: Services, reports: audit.CredentialReports, days: tuple[int, int] | None
) -> tuple[list[Finding], Any]:
    report = reports.get()
    rotation_age, unused = days or (services.config.rotation_age_days, services.config.unused_days)
    found = audit.findings(
        report, rotation_age_days=rotation_age, unused_days=unused, at=services.clock()
    )
    # Key IDs cost a ListAccessKeys per user: fetched for the findings shown with a button.
    return audit.name_keys(services.aws, found[:WORST]) + found[WORST:], report


def run(services: Services, request: Request) -> None:
    found, report = run_audit(services, request.ops.reports, _thresholds(request.args))
    full = len(found) > WORST
    if full:
        dm = request.client.conversations_open(users=request.user_id)["channel"]["id"]
        request.client.files_upload_v2(
            channel=dm,
            content=audit_csv(found),
            filename="iam-audit.csv",
            title="IAM audit findings",
        )
    reply = audit_reply(
        found,
        generated=report.generated,
        at=services.clock(),
        users=len(report.rows),
        full_list_sent=full,
    )
    request.respond(response_type="ephemeral", **reply.as_kwargs())


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
    found, report = run_audit(services, ops.reports, None)
    reply = audit_reply(
        found, generated=report.generated, at=now, users=len(report.rows), full_list_sent=False
    )
    # The outbox entry is the claim: of two replicas only one creates it, and once created
    # it is delivered (and retried) even if Slack fails now, so no period's report is lost.
    if outbox.post(channel, reply.as_kwargs(), id=claim) and services.config.audit.dm_owners:
        _tell_owners(ops, found)


def _tell_owners(ops: Ops, found: list[Finding]) -> None:
    """DM each linked key owner about their own stale keys."""
    by_user: dict[str, list[Finding]] = {}
    for f in found:
        if f.key_id:
            by_user.setdefault(f.user, []).append(f)
    for user, mine in by_user.items():
        slack_id = ops.services.identity.slack_user_for(user)
        if not slack_id:
            continue
        lines = "\n".join(f"• `{f.key_id}`: {f.kind.value}, {f.detail}" for f in mine)
        ops.dm(
            slack_id,
            f"Your IAM user {user} has stale access keys:\n{lines}\n"
            f"`/iam rotate {user}` replaces one safely.",
        )
