"""`/iam pending`: the requests waiting on me, the ones I opened that are not over yet, and
the group memberships granted for a while that I may end or extend.

Needs no permission of its own: it shows only what the caller may already act on (see
:mod:`bot.ops.pending`, which finds them), so it tells nobody anything new, and an approver
without `keys` still finds what waits on them.
"""

from __future__ import annotations

import contextlib

from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block, HeaderBlock

from bot.access.approvals import Request
from bot.ops.context import Services, UserError
from bot.ops.pending import opened_by, running_grants, waiting_on
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
