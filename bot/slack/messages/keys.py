"""How a user's access keys are shown."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, HeaderBlock, SectionBlock
from slack_sdk.models.blocks.basic_components import MarkdownTextObject

from bot.iam.audit import Flag, Kind, key_flags
from bot.iam.models import AccessKey, KeyOwner, KeyStatus, age_days
from bot.iam.quarantine import policy_name
from bot.ops.followups import Offer, Tone
from bot.ops.keys import KeyOffers
from bot.ops.rotate import TwoKeys, describe_key
from bot.slack.messages.common import Reply, context, day, days, section
from bot.wording import days_ago


def last_use(key: AccessKey) -> str:
    """When a key was last used, how long ago, and where; "never"."""
    use = key.last_used
    if use is None or use.when is None:
        return "never"
    where = " · ".join(part for part in (use.service, use.region) if part)
    return f"{day(use.when)} ({days_ago(age_days(use.when))})" + (f" · {where}" if where else "")


def _flag_line(flag: Flag[AccessKey], rotation_age_days: int) -> str:
    """A key's flag as a reviewer should notice it first."""
    if flag.kind is Kind.OLD_KEY:
        return f":warning: older than {rotation_age_days} days: rotate it"
    never = "never used" if flag.kind is Kind.NEVER_USED_KEY else "unused"
    return f":zzz: {never} for {days(flag.days)}"


def _key_block(key: AccessKey, flags: list[str], highlight: bool) -> SectionBlock:
    status = (
        ":large_green_circle: Active"
        if key.status is KeyStatus.ACTIVE
        else ":white_circle: Inactive"
    )
    fields = [
        f"*Key*\n`{key.key_id}`" + ("  :point_left:" if highlight else ""),
        f"*Status*\n{status}",
        f"*Created*\n{day(key.created)} ({days_ago(age_days(key.created))})",
        f"*Last used*\n{last_use(key)}",
    ]
    return SectionBlock(
        fields=[MarkdownTextObject(text=f) for f in fields],
        text=MarkdownTextObject(text="\n".join(flags)) if flags else None,
    )


def keys_reply(
    user: str,
    keys: list[AccessKey],
    *,
    rotation_age_days: int,
    unused_days: int,
    at: datetime,
    owner: KeyOwner | None = None,
    offers: KeyOffers | None = None,
    quarantine: str | None = None,
) -> Reply:
    """``offers``: the buttons the reader may press, under their key, and the one finishing a
    rotation under the two-active-keys warning; for a protected user, a line saying why none.
    ``quarantine``: the version of AWS's quarantine policy the user carries, if any."""
    offers = offers or KeyOffers({})
    blocks: list[Block] = [HeaderBlock(text=f"Access keys of {user}")]
    if owner is not None:
        blocks.append(section(f"`{owner.key_id}` belongs to IAM user *{user}*."))
    if quarantine:
        blocks.append(section(quarantine_line(user, quarantine)))
    if not keys:
        blocks.append(section(f"*{user}* has no access keys."))
        return Reply(text=f"{user} has no access keys.", blocks=blocks)
    flags = key_flags(keys, rotation_age_days=rotation_age_days, unused_days=unused_days, at=at)
    if any(flag.kind is Kind.TWO_ACTIVE_KEYS for flag in flags):
        blocks.append(
            section(
                ":rotating_light: *Two active keys.* Finish the rotation: deactivate the old one."
            )
        )
        if offers.finish:
            blocks.append(offer_buttons([offers.finish]))
    for key in keys:
        lines = [_flag_line(f, rotation_age_days) for f in flags if f.key is key]
        blocks.append(
            _key_block(key, lines, highlight=owner is not None and key.key_id == owner.key_id)
        )
        if mine := offers.per_key.get(key.key_id):
            blocks.append(offer_buttons(mine))
    if offers.protected:
        blocks.append(context(f":lock: `{user}` is protected: no /iam command changes it."))
    blocks.append(
        context(f"Rotation age {rotation_age_days} days · unused after {unused_days} days")
    )
    summary = ", ".join(f"{k.key_id} {k.status.value}" for k in keys)
    return Reply(text=f"Access keys of {user}: {summary}", blocks=blocks)


def quarantine_line(user: str, version: str) -> str:
    """What AWS's quarantine of ``user`` means for the people reading its keys."""
    return (
        f":rotating_light: *{user}* carries AWS's quarantine policy `{policy_name(version)}` "
        f"({version}): AWS found one of its keys exposed. Applications using its keys may be "
        "failing: it denies some actions (reading S3 objects, changing its own keys, and more). "
        f"Contain and rotate the key, then `/iam unquarantine {user} &lt;reason&gt;`."
    )


# How each tone looks: Slack's button styles (a plain button has none).
_STYLES: dict[Tone, str | None] = {Tone.DANGER: "danger", Tone.PRIMARY: "primary", Tone.PLAIN: None}


def offer_button(offer: Offer) -> ButtonElement:
    """A follow-up as a button: its click opens the request the slash command would, routed by
    its kind (the listeners are registered under each kind's name)."""
    return ButtonElement(
        text=offer.label,
        action_id=offer.kind.value,
        value=offer.value,
        style=_STYLES[offer.tone],
    )


def offer_buttons(offers: Sequence[Offer]) -> ActionsBlock:
    return ActionsBlock(elements=[offer_button(o) for o in offers])


def two_keys_reply(exc: TwoKeys, offers: Sequence[Offer]) -> Reply:
    """At IAM's two-key limit: the keys, and ``offers`` to make room (what the reader may
    press: Delete on a key that can go, else Deactivate first)."""
    listing = "\n".join(f"• `{k.key_id}`: {describe_key(k)}" for k in exc.found)
    first = "Delete one first:" if exc.spare else "Deactivate one first, then delete it:"
    text = f"{exc.user} already has two keys, IAM's limit, so a new one cannot be created. {first}"
    blocks: list[Block] = [section(f"{text}\n{listing}")]
    if offers:
        blocks.append(offer_buttons(offers))
    else:
        blocks.append(context("You may not delete or deactivate these keys: ask someone who may."))
    return Reply(text=f"{text}\n{listing}", blocks=blocks)


def foreign_key_reply(owner: KeyOwner, *, organization: bool = False) -> Reply:
    """A key of an account the bot cannot act in: this one's only, or (``organization``) any
    account it knows."""
    where = "any account the bot knows" if organization else "this account"
    return Reply(
        text=f"{owner.key_id} belongs to AWS account {owner.account_id}, not {where}.",
        blocks=[
            section(
                f"`{owner.key_id}` is not a key of {where}: it belongs to AWS account "
                f"*{owner.account_id}*. Report it to that account's owner."
            )
        ],
    )
