"""How an audit reads: counts by kind, the worst offenders with the fix one click away, a CSV,
and the note each key owner gets."""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Sequence
from datetime import datetime

from slack_sdk.models.blocks import Block, HeaderBlock, SectionBlock
from slack_sdk.models.blocks.basic_components import MarkdownTextObject

from bot.iam.audit import AccountAudit, Finding, Kind
from bot.iam.sessions import Account
from bot.ops.audit import WORST
from bot.ops.followups import FollowUp, KeyRef, Viewer, offer
from bot.ops.operation import Operation
from bot.slack.messages.common import MAX_SECTION_TEXT, Reply, context, escape, fit, section
from bot.slack.messages.keys import offer_button
from bot.wording import ago, counted

# The operation that deals with each kind of finding (the IAM room only finds them).
FIX = {
    Kind.OLD_KEY: Operation.ROTATE,
    Kind.UNUSED_KEY: Operation.DEACTIVATE,
    Kind.NEVER_USED_KEY: Operation.DEACTIVATE,
    Kind.TWO_ACTIVE_KEYS: Operation.DEACTIVATE,
    Kind.PASSWORD_NEVER_USED: Operation.OFFBOARD,
}
_BUTTON = {
    Operation.ROTATE: ("Rotate", FollowUp.ROTATE_NOW),
    Operation.DEACTIVATE: ("Deactivate", FollowUp.DEACTIVATE_NOW),
}


# How many of each kind, as a count reads: "1 active key unused", "3 active keys unused".
_MANY = {
    Kind.OLD_KEY: "active keys older than the rotation age",
    Kind.UNUSED_KEY: "active keys unused",
    Kind.NEVER_USED_KEY: "active keys never used",
    Kind.TWO_ACTIVE_KEYS: "users with two active keys",
    Kind.CONSOLE_WITHOUT_MFA: "console passwords without MFA",
    Kind.PASSWORD_NEVER_USED: "console passwords never used",
    Kind.ROOT_ACCESS_KEY: "root accounts with an active access key",
    Kind.ROOT_WITHOUT_MFA: "root accounts without MFA",
    Kind.ROOT_RECENTLY_USED: "root account passwords used recently",
    Kind.QUARANTINED: "users under AWS's compromised-key quarantine",
}
_ONE = {
    Kind.QUARANTINED: "user under AWS's compromised-key quarantine",
    Kind.TWO_ACTIVE_KEYS: "user with two active keys",
    Kind.ROOT_ACCESS_KEY: "root account with an active access key",
    Kind.ROOT_RECENTLY_USED: "root account password used recently",
}


def _finding_words(finding: Finding) -> str:
    """What is wrong, in the bot's words: the kind, and the detail when it adds something."""
    said = [finding.kind.value] + ([finding.detail] if finding.detail != finding.kind.value else [])
    return ", ".join(said)


def _offender(finding: Finding, viewer: Viewer, *, named: bool = False) -> SectionBlock:
    """One finding; ``named``: with its account's name (an audit of several accounts). Its
    button acts in the finding's account, shown only if ``viewer`` may press it (a protected
    user gets none, and says so), and the request it opens gives the finding as its reason."""
    key = f" `{finding.key_id}`" if finding.key_id else ""
    where = f" in _{escape(finding.account.name)}_" if named and finding.account else ""
    text = f"*{finding.user}*{key}{where}: {_finding_words(finding)}"
    accessory, fix_with = None, FIX.get(finding.kind)
    if fix_with in _BUTTON and finding.key_id:
        label, kind = _BUTTON[fix_with]
        account = finding.account.id if finding.account else ""
        reason = f"audit: {_finding_words(finding)}"
        fix = offer(label, kind, KeyRef(finding.user, finding.key_id, account, reason))
        if viewer.protects(finding.user):
            text += " · :lock: protected"
        elif viewer.pressable([fix], account):
            accessory = offer_button(fix)
    elif fix_with is Operation.OFFBOARD:
        flag = f" --account {finding.account.name}" if finding.account else ""
        text += f" · `/iam {fix_with} {finding.user}{flag} &lt;reason&gt;`"
    return SectionBlock(text=MarkdownTextObject(text=text), accessory=accessory)


def _counts(found: Sequence[Finding]) -> list[str]:
    """How many of each kind, most first: "3 active keys unused"."""
    return [
        counted(n, _ONE.get(kind, kind.value), _MANY[kind])
        for kind, n in Counter(f.kind for f in found).most_common()
    ]


def _summary(found: list[Finding]) -> str:
    return ", ".join(_counts(found)) or "nothing stale"


def _worst(
    found: list[Finding], viewer: Viewer, *, named: bool, full_list_sent: bool
) -> list[Block]:
    blocks: list[Block] = [section(f"*Worst {min(WORST, len(found))} of {len(found)}*")]
    blocks += [_offender(f, viewer, named=named) for f in found[:WORST]]
    if full_list_sent:
        blocks.append(context("The full list is in your DMs as iam-audit.csv."))
    return blocks


def _report_age(generated: datetime, at: datetime, whose: str, dropped: int) -> Block:
    """How old the report is (IAM serves one for up to 4 hours), and how many of its findings
    the live check of the keys shown left out: what changed since is not shown as still true."""
    left_out = (
        f" The keys shown were checked against IAM just now: {counted(dropped, 'finding')} no "
        "longer true (key deactivated or deleted, or user removed, since the report) left out."
        if dropped
        else ""
    )
    return context(
        f"{whose} was built {ago(at - generated)} ({generated:%Y-%m-%d %H:%M} UTC; IAM "
        f"rebuilds it at most every 4 hours).{left_out}"
    )


def audit_reply(
    found: list[Finding],
    viewer: Viewer,
    *,
    generated: datetime,
    at: datetime,
    users: int,
    full_list_sent: bool,
    dropped: int,
) -> Reply:
    """``dropped``: findings of the report that IAM no longer bears out, left out."""
    blocks: list[Block] = [HeaderBlock(text="IAM audit")]
    if not found:
        blocks.append(section(f":white_check_mark: Nothing stale among {counted(users, 'user')}."))
    else:
        blocks.append(section("\n".join(f"• {count}" for count in _counts(found))))
        blocks += _worst(found, viewer, named=False, full_list_sent=full_list_sent)
    blocks.append(_report_age(generated, at, "The credential report", dropped))
    return Reply(text=f"IAM audit: {_summary(found)}", blocks=blocks)


def _account_line(part: AccountAudit) -> str:
    name = f"*{escape(part.account.name)}* `{part.account.id}`"
    if part.problem is not None:
        return f"• {name}: :x: could not audit: {escape(part.problem)}"
    if not part.found:
        return f"• {name}: :white_check_mark: nothing stale among {counted(part.users, 'user')}"
    return f"• {name}: " + ", ".join(_counts(part.found))


def _sections(lines: list[str]) -> list[Block]:
    """Lines in as few sections as Block Kit's text limit allows."""
    blocks: list[Block] = []
    chunk: list[str] = []
    for line in lines:
        if chunk and len("\n".join([*chunk, line])) > MAX_SECTION_TEXT:
            blocks.append(section("\n".join(chunk)))
            chunk = []
        chunk.append(line)
    return [*blocks, section("\n".join(chunk))] if chunk else blocks


def org_audit_reply(
    audits: list[AccountAudit],
    found: list[Finding],
    viewer: Viewer,
    *,
    at: datetime,
    full_list_sent: bool,
    dropped: int,
) -> Reply:
    """An audit of several accounts: each account's counts (or why it could not be audited),
    then the worst findings across them all, each named by account."""
    accounts = counted(len(audits), "AWS account")
    blocks: list[Block] = [HeaderBlock(text=f"IAM audit of {accounts}")]
    blocks += _sections([_account_line(part) for part in audits])
    if found:
        blocks += _worst(found, viewer, named=True, full_list_sent=full_list_sent)
    reports = [part.generated for part in audits if part.generated is not None]
    if reports:
        oldest = "The oldest of the accounts' credential reports"
        blocks.append(_report_age(min(reports), at, oldest, dropped))
    failed = sum(part.problem is not None for part in audits)
    labels = ", ".join(part.account.label for part in audits)
    text = f"IAM audit of {accounts} ({labels}): {_summary(found)}"
    if failed:
        text += f"; {failed} could not be audited"
    return Reply(text=text, blocks=fit(blocks))


def audit_csv(found: list[Finding]) -> str:
    """Every finding; with an account column when the findings come from several accounts."""
    out = io.StringIO()
    writer = csv.writer(out)
    several = any(f.account for f in found)
    head = ["user", "key_id", "key_created", "finding", "detail", "days", "suggested_action"]
    writer.writerow((["account", "account_id"] if several else []) + head)
    for f in found:
        created = f.key_created.isoformat() if f.key_created else ""
        where = [f.account.name, f.account.id] if several and f.account else []
        row = [f.user, f.key_id or "", created, f.kind.value, f.detail, f.days, FIX.get(f.kind, "")]
        writer.writerow([_inert(cell) for cell in [*where, *row]])
    return out.getvalue()


def owner_note(user: str, where: Account | None, mine: list[Finding]) -> str:
    """A key owner's DM about their own stale keys, in ``where`` (None: the one account)."""
    lines = "\n".join(f"• `{f.key_id}`: {f.kind.value}, {f.detail}" for f in mine)
    place = f" in AWS account {where.label}" if where else ""
    flag = f" --account {where.name}" if where else ""
    return (
        f"Your IAM user {user}{place} has stale access keys:\n{lines}\n"
        f"`/iam rotate {user}{flag}` replaces one safely."
    )


# What a spreadsheet takes for the start of a formula (IAM user names may begin with = + - @).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _inert(cell: object) -> object:
    """A text cell a spreadsheet would run as a formula, prefixed with a quote so it shows as
    typed (OWASP's advice against CSV injection)."""
    return f"'{cell}" if isinstance(cell, str) and cell.startswith(_FORMULA_STARTS) else cell
