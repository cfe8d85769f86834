"""`/iam audit [--org] [--days N]`: stale credentials across the account, from the credential
report; with ``--org``, across every account the bot knows.

Also the scheduled audit: with ``audit.schedule`` (a cron expression) the summary goes to the
audit channel once per period, claimed in the store so restarts and replicas post it once;
with ``audit.scope: organization`` it covers every account, acting as the bot itself.
"""

from __future__ import annotations

from bot.iam.sessions import Actor
from bot.ops import audit
from bot.ops.audit import WORST, Audit, Days, OrgAudit
from bot.ops.context import Ops, Services, UserError
from bot.ops.followups import Viewer
from bot.slack.commands.parse import whole_number
from bot.slack.context import Request
from bot.slack.messages.audit import audit_csv, audit_reply, org_audit_reply, owner_note
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
NO_ACCOUNTS = (
    "`--org` audits every AWS account the bot knows, and its config has no `accounts:`: "
    "`/iam audit` audits the one account it has."
)


def _parsed(args: tuple[str, ...]) -> tuple[bool, Days]:
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


def run(services: Services, request: Request) -> None:
    org, days = _parsed(request.args)
    reports = request.ops.reports
    result = _org(services, request, days) if org else audit.audit_here(services, reports, days)
    full_list_sent = len(result.found) > WORST
    if full_list_sent:
        dm = request.client.conversations_open(users=request.user_id)["channel"]["id"]
        request.client.files_upload_v2(
            channel=dm,
            content=audit_csv(result.found),
            filename="iam-audit.csv",
            title="IAM audit findings",
        )
    reply = _reply(result, Viewer(services.rules, request.user_id), services, full_list_sent)
    request.respond(response_type="ephemeral", **reply.as_kwargs())


def _org(services: Services, request: Request, days: Days) -> OrgAudit:
    """``--org``: the accounts where the person may audit are audited; the others are shown as
    not audited, with the reason, as are those whose role or report fails."""
    if not services.accounts.enabled:
        raise UserError(NO_ACCOUNTS)
    actor = Actor(request.user_id, services.team())
    return audit.audit_org_for(services, request.ops.reports, actor, days)


def _reply(
    result: Audit | OrgAudit, viewer: Viewer, services: Services, full_list_sent: bool
) -> Reply:
    """How an audit of one account or of several reads."""
    at = services.clock()
    if isinstance(result, OrgAudit):
        return org_audit_reply(
            result.accounts,
            result.found,
            viewer,
            at=at,
            full_list_sent=full_list_sent,
            dropped=result.dropped,
        )
    return audit_reply(
        result.found,
        viewer,
        generated=result.report.generated,
        at=at,
        users=len(result.report.rows),
        full_list_sent=full_list_sent,
        dropped=result.dropped,
    )


def scheduled(ops: Ops, outbox: Outbox) -> None:
    """Post the audit to the audit channel once per cron period (called on every scheduler tick)."""
    services = ops.services
    claim = audit.due_claim(services)
    if claim is None:
        return
    result = audit.scheduled(ops)
    viewer = Viewer(services.rules)  # the audit channel: whoever there may press
    reply = _reply(result, viewer, services, full_list_sent=False)
    # The outbox entry is the claim: of two replicas only one creates it, and once created
    # it is delivered (and retried) even if Slack fails now, so no period's report is lost.
    channel = services.config.audit_channel
    if outbox.post(channel, reply.as_kwargs(), id=claim) and services.config.audit.dm_owners:
        for (chat_user, where, user), mine in audit.stale_keys_by_owner(ops, result.found).items():
            ops.dm(chat_user, owner_note(user, where, mine))
