"""`/iam pending`: the requests waiting on me, the ones I opened that are not over yet, and
the group memberships granted for a while that I may end or extend.

Needs no permission of its own: it shows only what the caller may already act on (requests
they opened; pending ones they may decide, by `approve` in the request's own account; held
rotations, by `rotate` there; running grants, by `grant` there), so it tells nobody anything
new, and an approver without `keys` still finds what waits on them.
"""

from __future__ import annotations

import contextlib

from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block, HeaderBlock

from bot.access.approvals import Approvals, Request, State
from bot.ops import grant
from bot.ops.context import Ops, Services, UserError
from bot.slack.context import Request as SlashCommand
from bot.slack.messages.approval import buttons_for, standing, title
from bot.slack.messages.common import Reply, channel_link, context, escape, mention, section
from bot.slack.notifier import permalink

USAGE = "pending"
# Per list: each request is two blocks, so three lists of at most 16 blocks and the header are
# 49 of the 50 blocks a reply holds.
SHOWN = 7


GRANTS_HEADING = "*Grants running* (removed at their end)"
NO_GRANTS = "No group membership granted for a while is running."


def check(args: tuple[str, ...]) -> None:
    if args:
        raise UserError(f"Usage: `/iam {USAGE}`")


def waiting_on(ops: Ops, user: str) -> list[Request]:
    """What waits on ``user``: rotations held for a decision they may take (`rotate` in the
    rotation's account), then pending requests they may approve there and have not yet:
    never their own, nor one about them (they may not decide it), nor one its requester
    confirms (an approver could, but it waits on its requester)."""
    rules, approvals = ops.services.rules, ops.services.approvals
    pending = [
        r
        for r in _live(approvals, State.PENDING)
        if r.required
        and r.requester != user
        and user not in r.approvers
        and rules.allowed(user, "approve", account=r.account)
        and not approvals.is_about(r, user)
    ]
    return [r for r in held(ops) if rules.allowed(user, "rotate", account=r.account)] + pending


def held(ops: Ops) -> list[Request]:
    """Finished requests whose scheduled step is held for a person's decision (a rotation
    whose old key is still in use), newest first."""
    found = ops.services.approvals.some(job.request_id for job in ops.scheduler.held())
    return sorted(found, key=lambda r: r.created, reverse=True)


def opened_by(ops: Ops, user: str) -> list[Request]:
    """``user``'s requests that are not over: waiting, approved, running, or failed (which an
    approver may retry)."""
    states = (State.PENDING, State.APPROVED, State.RUNNING, State.FAILED)
    return [r for r in _live(ops.services.approvals, *states) if r.requester == user]


def running_grants(ops: Ops, user: str) -> list[Request]:
    """Group memberships granted for a while and not over, that ``user`` may end or extend
    (`grant` in the grant's account), the soonest end first."""
    rules = ops.services.rules
    return [r for r in grant.active_grants(ops) if rules.allowed(user, "grant", account=r.account)]


def _live(approvals: Approvals, *states: State) -> list[Request]:
    """Requests in ``states``, newest first; a pending one past its expiry is over already."""
    found = approvals.in_state(*states)
    alive = [r for r in found if r.state is not State.PENDING or approvals.is_open(r)]
    return sorted(alive, key=lambda r: r.created, reverse=True)


def run(services: Services, request: SlashCommand) -> None:
    user = request.user_id
    waiting, mine = waiting_on(request.ops, user), opened_by(request.ops, user)
    grants = running_grants(request.ops, user)
    blocks: list[Block] = [HeaderBlock(text="Pending requests")]
    blocks += _listed(request, waiting, "*Waiting on you*", "Nothing is waiting on you.", user)
    blocks += _listed(request, mine, "*Asked by you*", "You have no open requests.", user)
    blocks += _listed(request, grants, GRANTS_HEADING, NO_GRANTS, user)
    text = f"{len(waiting)} waiting on you, {len(mine)} asked by you, {len(grants)} grants running"
    reply = Reply(text=text, blocks=blocks)
    request.respond(response_type="ephemeral", **reply.as_kwargs())


def _listed(
    request: SlashCommand, found: list[Request], heading: str, none: str, user: str
) -> list[Block]:
    if not found:
        return [section(f"{heading}\n{none}")]
    blocks: list[Block] = [section(heading)]
    for item in found[:SHOWN]:
        blocks.append(section(_entry(item, _link(request, item))))
        if pressable := buttons_for(item, user):
            blocks.append(pressable)
    if len(found) > SHOWN:
        blocks.append(context(f"…and {len(found) - SHOWN} more."))
    return blocks


def _entry(item: Request, link: str | None) -> str:
    name = f"<{link}|{escape(title(item))}>" if link else f"{escape(title(item))}"
    where = "" if link else f" in {channel_link(item.channel)}"
    state = standing(item)
    return f"*{name}*{where} · {state}\nby {mention(item.requester)} · request `{item.id}`"


def _link(request: SlashCommand, item: Request) -> str | None:
    """The request message's permalink; None before it is posted or when Slack cannot say."""
    with contextlib.suppress(SlackApiError):
        return permalink(request.client, item)
    return None
