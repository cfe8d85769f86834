"""How an audit reads: counts by kind, the worst offenders with the fix one click away, a CSV."""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import datetime

from slack_sdk.models.blocks import Block, ButtonElement, HeaderBlock, SectionBlock
from slack_sdk.models.blocks.basic_components import MarkdownTextObject

from bot.iam.audit import Finding
from bot.ops.followups import FollowUp, KeyRef
from bot.ops.operation import Operation
from bot.slack.messages.common import Reply, context, section

WORST = 10
_BUTTON = {
    Operation.ROTATE: ("Rotate", FollowUp.ROTATE_NOW),
    Operation.DEACTIVATE: ("Deactivate", FollowUp.DEACTIVATE_NOW),
}


def _offender(finding: Finding) -> SectionBlock:
    key = f" `{finding.key_id}`" if finding.key_id else ""
    said = [finding.kind.value] + ([finding.detail] if finding.detail != finding.kind.value else [])
    text = f"*{finding.user}*{key}: {', '.join(said)}"
    accessory = None
    if finding.fix in _BUTTON and finding.key_id:
        label, action_id = _BUTTON[finding.fix]
        accessory = ButtonElement(
            text=label,
            action_id=action_id.value,
            value=KeyRef(finding.user, finding.key_id).encode(),
        )
    elif finding.fix is Operation.OFFBOARD:
        text += f" · `/iam {finding.fix} {finding.user} <reason>`"
    return SectionBlock(text=MarkdownTextObject(text=text), accessory=accessory)


def audit_reply(
    found: list[Finding], *, generated: datetime, at: datetime, users: int, full_list_sent: bool
) -> Reply:
    minutes = max(0, int((at - generated).total_seconds() // 60))
    age = f"{minutes} min" if minutes < 120 else f"{minutes // 60} h"
    blocks: list[Block] = [HeaderBlock(text="IAM audit")]
    if not found:
        blocks.append(section(f":white_check_mark: Nothing stale among {users} users."))
    else:
        counts = Counter(f.kind for f in found)
        blocks.append(
            section("\n".join(f"• {n}: {kind.value}" for kind, n in counts.most_common()))
        )
        blocks.append(section(f"*Worst {min(WORST, len(found))} of {len(found)}*"))
        blocks += [_offender(f) for f in found[:WORST]]
        if full_list_sent:
            blocks.append(context("The full list is in your DMs as iam-audit.csv."))
    blocks.append(
        context(
            f"From the credential report of {generated:%Y-%m-%d %H:%M} UTC ({age} old; "
            "IAM rebuilds it at most every 4 h)"
        )
    )
    summary = ", ".join(
        f"{n} {kind.value}" for kind, n in Counter(f.kind for f in found).most_common()
    )
    return Reply(text=f"IAM audit: {summary or 'nothing stale'}", blocks=blocks)


def audit_csv(found: list[Finding]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["user", "key_id", "key_created", "finding", "detail", "days", "suggested_action"]
    )
    for f in found:
        created = f.key_created.isoformat() if f.key_created else ""
        writer.writerow(
            [f.user, f.key_id or "", created, f.kind.value, f.detail, f.days, f.fix or ""]
        )
    return out.getvalue()
