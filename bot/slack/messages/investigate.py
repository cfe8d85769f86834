"""How an investigation reads: what a key did, from where, what it changed and what may let
someone back in, then how much of CloudTrail was read and what it cannot show. Everything that
came from CloudTrail (user agents, names an attacker chose) is escaped."""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.models.blocks import Block, HeaderBlock

from bot.ops.investigate import Count, Investigation, Sign
from bot.slack.messages.common import Reply, context, escape, section, slack_date
from bot.wording import counted, duration

SHOWN = 15  # event names and persistence signs listed; the rest counted


def investigation_reply(found: Investigation) -> Reply:
    """The summary as a message (a command's answer, or an incident card's thread reply)."""
    key = f"`{escape(found.key_id)}`"
    over = duration(found.hours * 60)
    text = f"What {found.key_id} did in the last {over}: {counted(found.events, 'event')}"
    blocks: list[Block] = [HeaderBlock(text=f"What {found.key_id} did")]
    if not found.events:
        blocks.append(section(f"No CloudTrail event of {key} in the last {over}."))
    else:
        blocks += _activity(found, key, over)
    blocks += _read(found)
    return Reply(text=text, blocks=blocks)


def _activity(found: Investigation, key: str, over: str) -> list[Block]:
    assert found.first_seen is not None and found.last_seen is not None
    lines = [
        f"{key}: {counted(found.events, 'event')} in the last {over}, first "
        f"{slack_date(found.first_seen)}, last {slack_date(found.last_seen)}.",
        f"*Refused (AccessDenied):* {found.denied} · *failed in all:* {found.errors}",
        f"*Source IPs:* {_listed(found.source_ips)}",
        f"*User agents:* {_listed(found.user_agents)}",
    ]
    blocks: list[Block] = [section("\n".join(lines))]
    by_event = f"*By event:* {_listed(found.by_name, SHOWN)}"
    blocks.append(section(f"{by_event}\n*By region:* {_listed(found.by_region)}"))
    writes = _listed(found.writes, SHOWN) if found.writes else "none"
    blocks.append(section(f"*Changes (write events):* {writes}"))
    if found.persistence:
        signs = "\n".join(f"• {_sign(s)}" for s in found.persistence[:SHOWN])
        more = len(found.persistence) - SHOWN
        tail = f"\n…and {more} more." if more > 0 else ""
        blocks.append(section(f":rotating_light: *Signs of persistence:*\n{signs}{tail}"))
    else:
        blocks.append(section("*Signs of persistence:* none seen."))
    return blocks


def _read(found: Investigation) -> list[Block]:
    """How much was read, the regions that failed (named), and what CloudTrail cannot show."""
    read = (
        f"Read {counted(found.regions, 'region')}, {counted(found.pages, 'page')} of "
        "CloudTrail event history."
    )
    blocks: list[Block] = []
    if found.failed:
        failed = ", ".join(f"`{escape(r)}` ({escape(why)})" for r, why in found.failed.items())
        blocks.append(
            section(f":warning: *Not read to the end:* {failed}: events there may be missing.")
        )
    blocks.append(context(f"{read} {found.caveat}"))
    return blocks


def _listed(counts: Sequence[Count], most: int | None = None) -> str:
    shown = counts[:most] if most else counts
    listed = ", ".join(f"`{escape(c.value)}` ({c.count})" for c in shown)
    more = len(counts) - len(shown)
    return listed + (f", and {more} more" if more > 0 else "") if listed else "none"


def _sign(sign: Sign) -> str:
    target = f" on `{escape(sign.target)}`" if sign.target else ""
    policy = f" (`{escape(sign.policy)}`)" if sign.policy else ""
    failed = " — *failed*" if sign.failed else ""
    return f"*{escape(sign.event)}*{target}{policy}, {slack_date(sign.at)}{failed}"
