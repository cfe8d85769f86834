"""How an approval-gated request looks in the channel, in each of its states.

Who can act is named in the message while it waits: the requester when they confirm it
themselves (``required`` 0), else the approvers the config named when it was opened (users as
mentions, user groups as ``<!subteam^S..>``, ``*`` as "anyone", which pings nobody). Each is
pinged once: the message is posted once (chat.postMessage) and only updated after that
(chat.update), and Slack notifies a mention when a message is posted, never when it is edited.
So the names stay in every rendering, readable as names, and ping only on the first; a
reopened request (its plan changed) does not ping again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, HeaderBlock

from bot.access.approvals import Request, State
from bot.ops.outcome import Outcome
from bot.ops.plan import Plan
from bot.ops.registry import REGISTRY
from bot.slack.messages.common import Reply, context, escape, mention, quoted, section, slack_date
from bot.slack.messages.keys import offer_button
from bot.slack.messages.notes import note_line
from bot.wording import counted

APPROVE, DENY, CANCEL, RETRY = "request:approve", "request:deny", "request:cancel", "request:retry"
_MAX_ITEMS_PER_ACTION = 25


def title(request: Request) -> str:
    """What the request does, and in which AWS account when the bot knows several."""
    where = ""
    declared = REGISTRY[request.command]
    if request.account and not declared.across_accounts:
        name = request.account_name or request.account
        where = f" in {name}" + (f" ({request.account})" if name != request.account else "")
    return declared.title(request) + where


def titled(request: Request) -> str:
    """The title inside mrkdwn: escaped, since a person's display name (an offboarding of a
    person is titled by it) is theirs to choose and could hold a mention or a link."""
    return escape(title(request))


def plan_lines(steps: Sequence[dict[str, Any]]) -> str:
    """The steps by action; a plan across accounts under one heading per account (its steps'
    ``group``)."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for step in steps:
        groups[step.get("group", "")].append(step)
    if set(groups) <= {""}:
        return _by_action(steps)
    return "\n".join(f"*{escape(group)}*\n{_by_action(part)}" for group, part in groups.items())


def _by_action(steps: Sequence[dict[str, Any]]) -> str:
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


def decision_buttons(
    request: Request, *, approve: bool = True, deny: bool = True, cancel: bool = True
) -> ActionsBlock:
    """A pending request's buttons, wherever it is shown (its message, `/iam pending`): the
    same action_ids and values, so the same listeners decide it."""
    label = "Confirm" if request.required == 0 else "Approve"
    seen = f"{request.id}:{request.plan_version}"  # an approval counts for this plan only
    shown = [
        (approve, ButtonElement(text=label, action_id=APPROVE, value=seen, style="primary")),
        (deny, ButtonElement(text="Deny", action_id=DENY, value=request.id, style="danger")),
        (cancel, ButtonElement(text="Cancel", action_id=CANCEL, value=request.id)),
    ]
    return ActionsBlock(
        block_id=f"request:{request.id}", elements=[button for wanted, button in shown if wanted]
    )


def buttons_for(request: Request, viewer: str) -> ActionsBlock | None:
    """What ``viewer`` may press on a request listed for them (`/iam pending`, the Home tab):
    an approver decides, a requester confirms (when that is theirs to do) or cancels; a held
    step of a finished request offers its own decisions."""
    if request.state is not State.PENDING:
        return follow_up_buttons(request)
    mine = request.requester == viewer
    confirm = not mine or request.required == 0
    return decision_buttons(request, approve=confirm, deny=not mine, cancel=mine)


def _buttons(request: Request) -> list[Block]:
    if request.state is State.PENDING:
        return [decision_buttons(request)]
    if request.state is State.FAILED:
        return [
            ActionsBlock(
                block_id=f"request:{request.id}",
                elements=[
                    ButtonElement(text="Retry", action_id=RETRY, value=request.id, style="primary")
                ],
            )
        ]
    follow_ups = follow_up_buttons(request)
    return [follow_ups] if follow_ups else []


def follow_up_buttons(request: Request) -> ActionsBlock | None:
    """What a finished request offers next (Delete key, a held rotation's Deactivate anyway
    and Extend), wherever it is shown: its message, `/iam pending`, the Home tab."""
    offers = Outcome.of(request).offers
    if not offers or request.state is not State.DONE:
        return None
    elements = [offer_button(o) for o in offers]
    return ActionsBlock(block_id=f"follow-up:{request.id}", elements=elements)


def principal(entry: str) -> str:
    """A config principal as Slack shows it: a user group by its handle, a user by name."""
    if entry == "*":
        return "anyone"
    return f"<!subteam^{entry}>" if entry.startswith("S") else mention(entry)


def waiting_for(request: Request) -> str:
    """Who a pending request waits on, named (see the module docstring for why this pings
    once)."""
    if request.required == 0:
        return f"{mention(request.requester)} to confirm"
    more = approvals_needed(request)
    return f"{more} from {', '.join(map(principal, request.asked))}" if request.asked else more


def approvals_needed(request: Request) -> str:
    need = max(1, request.required) - len(request.approvers)
    return counted(need, "more approval")


def go_ahead(request: Request) -> str:
    """Who let the request go ahead: the requester's own confirmation is never called an
    approval."""
    if request.confirmed:
        return f"confirmed by {mention(request.requester)}"
    return "approved by " + (", ".join(map(mention, request.approvers)) or "nobody")


def _status(request: Request, outcome: Outcome) -> str:
    approvers = ", ".join(mention(u) for u in request.approvers)
    match request.state:
        case State.PENDING:
            got = f" Approved so far by {approvers}." if approvers else ""
            expires = slack_date(request.expires)
            return f":hourglass: Waiting for {waiting_for(request)}; expires {expires}.{got}"
        case State.APPROVED:
            ahead = go_ahead(request)
            return f":white_check_mark: {ahead[0].upper()}{ahead[1:]}. Starting…"
        case State.RUNNING:
            return f":gear: Running ({go_ahead(request)}). {outcome.progress}".rstrip()
        case State.DONE if outcome.waiting:  # its run ended, but not what it set going
            return f":hourglass: {outcome.summary} {outcome.waits_on(slack_date)}".strip()
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
            d = request.decided_by("cancel")
            if d and d.who != request.requester:  # withdrawn by the bot itself, saying why
                return f":heavy_minus_sign: Cancelled by iam-bot: {escape(d.reason)}."
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
        section(f"*Plan* ({counted(len(steps), 'step')})\n{plan_lines(steps)}"),
    ]
    if remarks := REGISTRY[request.command].plan.of(request).remarks():
        blocks.append(section("\n".join(f":information_source: {escape(r)}" for r in remarks)))
    if request.state is State.PENDING and (new := plan.unseen):
        changed = ":warning: *Changed since approval, so nothing was done.* New:\n"
        blocks.append(section(changed + plan_lines(new)))
    blocks.append(section(_status(request, outcome)))
    if outcome.notes:
        blocks.append(section("\n".join(map(note_line, outcome.notes))))
    blocks += _buttons(request)
    blocks.append(context(f"request `{request.id}` · state {request.state.value}"))
    return Reply(text=f"{titled(request)}: {request.state.value}", blocks=blocks)


def with_reason(event: str, reason: str) -> str:
    """An event of the bot's own words, then what a person typed, quoted below it; a reason
    nobody gave is said to be missing, never made up."""
    if not reason.strip():
        return f"{event}: _no reason given_"
    return f"{event}:\n{quoted(reason)}"


def audit_line(request: Request, event: str) -> str:
    """``event`` is the bot's own mrkdwn: user text in it goes through :func:`with_reason`."""
    return f"`{request.id}` {titled(request)}: {event}"


def standing(request: Request) -> str:
    """Where a request stands, in a few words naming nobody (its message pinged who can act)."""
    if request.state is State.DONE and (waiting := Outcome.of(request).waits_on(slack_date)):
        return waiting
    if request.state is not State.PENDING:
        return request.state.value
    if request.required == 0:
        return "waiting for confirmation"
    return f"waiting for {approvals_needed(request)}"
