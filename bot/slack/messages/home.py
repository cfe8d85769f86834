"""The App Home tab: what waits on me, what I asked for, my own keys, and the latest requests.

Its buttons are the very ones the request message and `/iam keys` carry (same action_ids and
values), so the same listeners act on them. A Home view has no channel, so it says in its
``private_metadata`` where a request opened from it (Rotate) is posted; the channel rule is
checked against that channel, or for a request's own buttons against the request's channel
(:mod:`bot.slack.listeners.guard`). Slack gives a Home click no response URL: what the clicker
must hear (a refusal, an error) comes by DM.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, DividerBlock, HeaderBlock
from slack_sdk.models.views import View

from bot.access.approvals import Request
from bot.access.incidents import Incident
from bot.iam.models import AccessKey, KeyStatus
from bot.operator_rules import Config
from bot.ops.followups import FollowUp, KeyRef
from bot.slack.messages.approval import buttons_for, standing, titled
from bot.slack.messages.common import channel_link, context, escape, mention, section
from bot.slack.messages.incident import incident_line
from bot.slack.messages.keys import keys_reply

# Per list, each request takes at most two blocks: 3 lists of 10 (waiting, asked, grants), the
# keys (at most 2, IAM's quota) and the headings stay under the 100 blocks of a Home view.
SHOWN = 10


@dataclass(frozen=True)
class MyKeys:
    """The IAM user linked to the person, its keys, the account they are in (its ID, which
    every button carries, and its label; "" with one account) and whether the person may
    rotate them there."""

    user: str
    keys: list[AccessKey]
    account: str = ""
    account_label: str = ""
    can_rotate: bool = False


@dataclass(frozen=True)
class Home:
    """What one person's Home tab shows; ``None`` for a part they may not see."""

    user: str  # whose Home it is
    waiting: list[Request]  # pending or held, theirs to decide
    mine: list[Request]  # opened by them, not over
    grants: list[Request]  # group memberships granted for a while, theirs to end or extend
    keys: MyKeys | str | None  # their keys, or the sentence saying why none are shown
    recent: list[Request] | None  # the latest requests they may see, for holders of `keys`
    new_requests_in: str  # the channel a request opened from Home is posted in
    incidents: list[Incident] | None = None  # open incidents, for holders of `keys`


def home_view(home: Home, config: Config, at: datetime) -> dict[str, Any]:
    blocks: list[Block] = [HeaderBlock(text="IAM requests and keys")]
    blocks += _requests(home.waiting, "*Waiting on you*", "Nothing is waiting on you.", home.user)
    blocks.append(DividerBlock())
    blocks += _requests(home.mine, "*Asked by you*", "You have no open requests.", home.user)
    if home.grants:
        blocks += [DividerBlock(), *_requests(home.grants, "*Grants running*", "", home.user)]
    if home.keys is not None:
        blocks += [DividerBlock(), *_keys(home.keys, config, at)]
    if home.incidents:
        lines = "\n".join(map(incident_line, home.incidents[:SHOWN]))
        more = len(home.incidents) - SHOWN
        lines += f"\n…and {more} more: `/iam incidents` lists them." if more > 0 else ""
        blocks += [DividerBlock(), section(f"*Open incidents* (AWS's alarms about keys)\n{lines}")]
    if home.recent is not None:
        lines = "\n".join(map(_line, home.recent[:SHOWN])) or "No requests yet."
        blocks += [DividerBlock(), section(f"*Latest requests*\n{lines}")]
    view = View(type="home", blocks=blocks, private_metadata=home.new_requests_in)
    return view.to_dict()


def _requests(found: list[Request], heading: str, none: str, user: str) -> list[Block]:
    """Each request with the buttons this person may press, as `/iam pending` gives them."""
    if not found:
        return [section(f"{heading}\n{none}")]
    blocks: list[Block] = [section(heading)]
    for item in found[:SHOWN]:
        blocks.append(section(_line(item)))
        if pressable := buttons_for(item, user):
            blocks.append(pressable)
    if len(found) > SHOWN:
        blocks.append(context(f"…and {len(found) - SHOWN} more: `/iam pending` lists them."))
    return blocks


def _line(item: Request) -> str:
    where = f" in {channel_link(item.channel)}" if item.channel else ""
    return (
        f"*{titled(item)}*{where} · {standing(item)}\n"
        f"by {mention(item.requester)} · request `{item.id}`"
    )


def _keys(keys: MyKeys | str, config: Config, at: datetime) -> list[Block]:
    if isinstance(keys, str):
        return [section(f"*Your access keys*\n{keys}")]
    shown = keys_reply(
        keys.user,
        keys.keys,
        rotation_age_days=config.rotation_age_days,
        unused_days=config.unused_days,
        at=at,
    ).blocks
    if keys.account_label:
        shown.append(context(f"In AWS account {escape(keys.account_label)}"))
    if not keys.can_rotate:
        return shown
    active = [key for key in keys.keys if key.status is KeyStatus.ACTIVE]
    return shown + [_rotate(KeyRef(keys.user, key.key_id, keys.account)) for key in active]


def _rotate(key: KeyRef) -> ActionsBlock:
    """The Rotate of `/iam whois`: the same follow-up, opening the same request, in the
    account the key is in."""
    button = ButtonElement(
        text=f"Rotate {key.key_id}", action_id=FollowUp.ROTATE_NOW.value, value=key.encode()
    )
    return ActionsBlock(block_id=f"rotate:{key.key_id}", elements=[button])
