"""How an approval-gated request looks in the channel, in each of its states."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, HeaderBlock

from bot.access.approvals import Request, State
from bot.ops.outcome import Outcome
from bot.ops.plan import Plan
from bot.ops.registry import REGISTRY
from bot.slack.messages.common import Reply, context, escape, mention, quoted, section

APPROVE, DENY, CANCEL, RETRY = "request:approve", "request:deny", "request:cancel", "request:retry"
_MAX_ITEMS_PER_ACTION = 25


def title(request: Request) -> str:
    return REGISTRY[request.command].title(request)


def plan_lines(steps: Sequence[dict[str, Any]]) -> str:
    by_action: dict[str, list[str]] = defaultdict(list)
    for step in steps:
        note = f" ({escape(step['note'])})" if step.get("note") else ""
        by_action[step["action"]].append(f"`{escape(step['target'])}`{note}")
    lines = []
    for action, targets in by_action.items():
        shown = targets[:_MAX_ITEMS_PER_ACTION]
        more = f" …and {len(targets) - len(shown)} more" if len(targets) > len(shown) else ""
        lines.append(f"• *{action}* ({len(targets)}): " + ", ".join(shown) + more)
    return "\n".join(lines) or "• nothing attached"


def _buttons(request: Request, outcome: Outcome) -> list[Block]:
    if request.state is State.PENDING:
        label = "Confirm" if request.required == 0 else "Approve"
        seen = f"{request.id}:{request.plan_version}"  # an approval counts for this plan only
        return [
            ActionsBlock(
                block_id=f"request:{request.id}",
                elements=[
                    ButtonElement(text=label, action_id=APPROVE, value=seen, style="primary"),
                    ButtonElement(text="Deny", action_id=DENY, value=request.id, style="danger"),
                    ButtonElement(text="Cancel", action_id=CANCEL, value=request.id),
                ],
            )
        ]
    if request.state is State.FAILED:
        return [
            ActionsBlock(
                block_id=f"request:{request.id}",
                elements=[
                    ButtonElement(text="Retry", action_id=RETRY, value=request.id, style="primary")
                ],
            )
        ]
    follow_ups = outcome.offers
    if follow_ups and request.state is State.DONE:
        elements = [
            ButtonElement(text=o.label, action_id=o.kind.value, value=o.value, style=o.style)
            for o in follow_ups
        ]
        return [ActionsBlock(block_id=f"follow-up:{request.id}", elements=elements)]
    return []


def _status(request: Request, outcome: Outcome) -> str:
    approvers = ", ".join(mention(u) for u in request.approvers)
    match request.state:
        case State.PENDING:
            need = max(1, request.required) - len(request.approvers)
            more = f"{need} more approval" + ("s" if need > 1 else "")
            who = "the requester's confirmation" if request.required == 0 else more
            got = f" Approved so far by {approvers}." if approvers else ""
            expires = (
                f"<!date^{int(request.expires.timestamp())}^{{time}}|{request.expires:%H:%M} UTC>"
            )
            return f":hourglass: Waiting for {who}; expires {expires}.{got}"
        case State.APPROVED:
            return f":white_check_mark: Approved by {approvers}. Starting…"
        case State.RUNNING:
            return f":gear: Running (approved by {approvers}). {outcome.progress}".rstrip()
        case State.DONE:
            return f":white_check_mark: Done. {outcome.summary}".rstrip()
        case State.FAILED:
            summary = outcome.summary or "Failed."
            return f":x: {summary} An approver can retry; finished steps are not repeated."
        case State.DENIED:
            d = request.decided_by("deny")
            return (
                with_reason(f":no_entry: Denied by {mention(d.who)}", d.reason)
                if d
                else ":no_entry: Denied."
            )
        case State.CANCELLED:
            return ":heavy_minus_sign: Cancelled by the requester."
        case State.EXPIRED:
            return ":hourglass: Expired without approval. Nothing was changed."


def request_reply(request: Request) -> Reply:
    plan, outcome = Plan.of(request), Outcome.of(request)
    steps = plan.steps
    asker = mention(request.requester)
    blocks: list[Block] = [
        HeaderBlock(text=title(request)[:150]),
        section(with_reason(f"*Requested by* {asker}\n*Reason*", request.reason)),
        section(f"*Plan* ({len(steps)} steps)\n{plan_lines(steps)}"),
    ]
    if request.state is State.PENDING and (new := plan.unseen):
        changed = ":warning: *Changed since approval, so nothing was done.* New:\n"
        blocks.append(section(changed + plan_lines(new)))
    blocks.append(section(_status(request, outcome)))
    if outcome.notes:
        blocks.append(section("\n".join(outcome.notes)))
    blocks += _buttons(request, outcome)
    blocks.append(context(f"request `{request.id}` · state {request.state.value}"))
    return Reply(text=f"{title(request)}: {request.state.value}", blocks=blocks)


def with_reason(event: str, reason: str) -> str:
    """An event of the bot's own words, then what a person typed, quoted below it."""
    return f"{event}:\n{quoted(reason)}"


def audit_line(request: Request, event: str) -> str:
    """``event`` is the bot's own mrkdwn: user text in it goes through :func:`with_reason`."""
    return f"`{request.id}` {title(request)}: {event}"
