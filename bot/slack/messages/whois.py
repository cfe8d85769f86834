"""The next step for a key the bot will not or cannot change: a protected user's key (no /iam
command changes it) and a temporary ``ASIA…`` key (STS issued it; no IAM user holds it). A
leaked key must never end in "no buttons, no words"."""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.models.blocks import Block

from bot.ops.followups import KeyRef, Offer
from bot.slack.messages.approval import principal
from bot.slack.messages.common import Reply, section
from bot.slack.messages.keys import offer_buttons


def protected_key_steps(
    ref: KeyRef, *, where: str, contacts: Sequence[str], contain: Offer | None = None
) -> list[Block]:
    """Instead of Deactivate and Rotate buttons (the bot would refuse them): why, who to tell,
    and the one AWS call that deactivates the key, run by someone with IAM rights in ``where``
    (the account's label, or "" for the only account); and ``contain``, the one change the
    bot makes to a protected user, when the reader may press it."""
    account = f" in AWS account {where}" if where else ""
    tell = ", ".join(map(principal, contacts)) or "your AWS administrators"
    command = (
        f"aws iam update-access-key --user-name {ref.user} --access-key-id {ref.key_id} "
        "--status Inactive"
    )
    steps: list[Block] = [
        section(
            f":no_entry: *{ref.user}* is a protected user: no /iam command changes it, so the "
            "bot cannot deactivate or rotate this key, but `/iam contain` takes a leaked key "
            f"out of use.\n*If it leaked*, contain it and tell {tell}: someone with IAM "
            f"rights{account} can also deactivate it outside the bot, with\n`{command}`\n"
            f"or in the IAM console (Users → {ref.user} → Security credentials → Actions → "
            "Deactivate)."
        )
    ]
    return [*steps, offer_buttons([contain])] if contain else steps


def temporary_key_reply(key_id: str, *, where: str) -> Reply:
    """A temporary key: what it is, that no IAM call deactivates it, and how to cut it off:
    find the role (or user) in CloudTrail, then revoke that role's sessions or stop the user."""
    account = f" of AWS account {where}" if where else ""
    lines = [
        f"`{key_id}` is a *temporary* key{account}: AWS STS issued it for a role session (or "
        "for an IAM user's GetSessionToken session). It belongs to no IAM user, so it cannot "
        "be deactivated or rotated; it stops working when its session expires (at most 12 "
        "hours for a role, 36 hours for GetSessionToken).",
        "*To cut it off now:*",
        f"1. Find whose session it is: CloudTrail → Event history, filter *AWS access key* = "
        f"`{key_id}`. Each event's user (`userIdentity.arn`) names the role "
        "(`assumed-role/&lt;role&gt;/&lt;session&gt;`) or the IAM user.",
        "2. A role: IAM console → Roles → that role → *Revoke active sessions* (denies every "
        "session of the role issued before now; the role's own users sign in again).",
        "3. An IAM user: its sessions act with the user's permissions, so attach `AWSDenyAll` "
        "to the user to stop them at once, and deactivate the user's own key with "
        "`/iam deactivate &lt;AKIA…&gt; &lt;reason&gt;` so no new session can be made.",
    ]
    text = f"{key_id} is a temporary STS key{account}"
    return Reply(text=text, blocks=[section("\n".join(lines))])
