"""How an incident is shown: its card in the incidents channel, the owner's DM, and the list.

Everything AWS wrote (a finding's title, a description, a user name) is escaped before it is
shown: an event's text is not the bot's, and must not ping or link.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from slack_sdk.models.blocks import Block, HeaderBlock

from bot.access.incidents import ACTIVE, CONTAINED, OPEN, Incident
from bot.iam.models import KeyStatus
from bot.iam.signals import Source
from bot.ops.followups import FollowUp, KeyRef, Tone, offer
from bot.ops.incidents import KeyFacts
from bot.slack.messages.approval import principal
from bot.slack.messages.common import Reply, context, escape, mention, section, slack_date
from bot.slack.messages.keys import last_use, offer_buttons

SOURCES = {
    Source.HEALTH: "AWS Health",
    Source.QUARANTINE: "CloudTrail (quarantine policy attached)",
    Source.GUARDDUTY: "GuardDuty",
    Source.TRUSTED_ADVISOR: "Trusted Advisor",
}
CLOSE_USAGE = "incidents close <AKIA...> <resolved | false-positive> <reason>"
_CLOSE_SHOWN = escape(CLOSE_USAGE)


@dataclass(frozen=True)
class Shown:
    """An incident with what the card says beside it: the facts read now, the owner's chat
    user (found by tag or e-mail; None: nobody linked), the account's label, the on-call group."""

    incident: Incident
    facts: KeyFacts
    owner: str | None
    account_label: str
    oncall: str | None = None
    key_account: str = ""  # what a button on the key carries: "" with only one account


def _signal_lines(incident: Incident) -> str:
    lines = []
    for s in incident.signals:
        severity = f" (severity {s.severity:g})" if s.severity is not None else ""
        lines.append(
            f"• {slack_date(s.at)}: *{SOURCES[s.source]}* `{escape(s.kind)}`{severity}: "
            f"{escape(s.summary)}"
        )
    return "\n".join(lines)


def _quarantine_line(facts: KeyFacts, user: str) -> str:
    if not facts.quarantine:
        return "*Quarantine:* no AWSCompromisedKeyQuarantine policy is attached to the user."
    names = ", ".join(f"`{n}`" for n in facts.quarantine)
    return (
        f":no_entry: *Quarantine:* {names} attached to *{escape(user)}*. It denies many calls "
        "(reading S3 objects, launching instances, changing this user's keys...): applications "
        "that use this key may already be failing."
    )


def _keys_lines(facts: KeyFacts) -> list[str]:
    if facts.key is None:
        lines = ["*This key:* deleted"]
    else:
        status = "active" if facts.key.status is KeyStatus.ACTIVE else "inactive"
        lines = [f"*This key:* {status}, last used {last_use(facts.key)}"]
    others = [
        f"`{k.key_id}` {k.status.value.lower()}, last used {last_use(k)}" for k in facts.other_keys
    ]
    lines.append("*Other keys of the user:* " + ("; ".join(others) if others else "none"))
    return lines


def _state_line(incident: Incident) -> str:
    if incident.state == OPEN:
        return f"*Open* since {slack_date(incident.opened)}"
    if incident.state == CONTAINED:  # its last entry is the containment
        by = f" by {mention(incident.contained_by)}" if incident.contained_by else ""
        return f"*Contained*{by} {slack_date(incident.timeline[-1].at)}"
    by = f" by {mention(incident.closed_by)}" if incident.closed_by else ""
    return f"*Closed as {incident.state}*{by}: {escape(incident.reason)}"


def card(shown: Shown) -> Reply:
    """The incident's card: what key, whose, what AWS said and when, what it may be breaking,
    and, while it is open or contained: while the key exists, Contain (while it is active) and
    Rotate now; once it is no longer active and AWS's quarantine is still on its user, Lift
    quarantine (its request checks that no key from before the leak is left)."""
    incident, facts = shown.incident, shown.facts
    user = facts.user or incident.user or "an unknown user"
    owner = mention(shown.owner) if shown.owner else "nobody linked to this IAM user"
    who = [f"*Owner:* {owner}"]
    if shown.oncall:
        who.append(f"*On call:* {principal(shown.oncall)}")
    blocks: list[Block] = [
        HeaderBlock(text=f"Leaked access key {incident.key_id}"[:150]),
        section(
            f"`{incident.key_id}` of IAM user *{escape(user)}* in AWS account "
            f"{escape(shown.account_label)}\n" + "  ·  ".join(who)
        ),
        section(f"*What AWS said:*\n{_signal_lines(incident)}"),
    ]
    if facts.problem:
        blocks.append(section(f":warning: {escape(facts.problem)}"))
    else:
        blocks.append(section(_quarantine_line(facts, user) + "\n" + "\n".join(_keys_lines(facts))))
    blocks.append(section(_state_line(incident)))
    if incident.state in ACTIVE and facts.user and not facts.problem:
        first = incident.signals[0]
        why = f"Incident: {SOURCES[first.source]} said {first.kind}"  # the request's reason
        ref = KeyRef(facts.user, incident.key_id, shown.key_account, why)
        active = facts.key is not None and facts.key.status is KeyStatus.ACTIVE
        offers = [offer("Contain", FollowUp.CONTAIN, ref, Tone.DANGER)] if active else []
        if facts.key is not None:
            # The way out: a new key delivered, the leaked one retired (the bot's role may
            # act although AWS quarantined the user).
            offers.append(offer("Rotate now", FollowUp.ROTATE_NOW, ref))
        if facts.quarantine and not active:
            offers.append(offer("Lift quarantine", FollowUp.UNQUARANTINE, ref))
        if offers:
            blocks.append(offer_buttons(offers))
    if incident.state in ACTIVE:
        blocks.append(context(f"Close it with `/iam {_CLOSE_SHOWN}`"))
    text = f"Leaked access key {incident.key_id} of {user}: {incident.state}"
    return Reply(text=text, blocks=blocks)


def owner_dm(shown: Shown) -> str:
    """What the owner of a leaked key is told, once, when its incident opens."""
    incident, facts = shown.incident, shown.facts
    user = escape(facts.user or incident.user or "your IAM user")
    said = "; ".join(
        f"{SOURCES[s.source]}: {escape(s.summary.rstrip().removesuffix('.'))}"
        for s in incident.signals
    )
    quarantine = (
        f" AWS attached {', '.join(facts.quarantine)} to {user}: applications using the key "
        "may be failing."
        if facts.quarantine
        else ""
    )
    return (
        f":rotating_light: AWS reports that your access key `{incident.key_id}` ({user}) may have "
        f"leaked. {said}.{quarantine} The incident is followed in the incidents channel; stop "
        "using this key and do not share it further."
    )


def incident_line(incident: Incident) -> str:
    """One incident in a list: whose key, where, since when, who raised it."""
    sources = ", ".join(sorted({SOURCES[s.source] for s in incident.signals}))
    return (
        f"• `{incident.key_id}` of *{escape(incident.user or '?')}* (account "
        f"{escape(incident.account)}): {incident.state} since {slack_date(incident.opened)}; "
        f"{sources}"
    )


def incidents_reply(found: Sequence[Incident]) -> Reply:
    """The open incidents, newest last, one line each."""
    if not found:
        return Reply(text="No open incidents.", blocks=[section("No open incidents.")])
    lines = [incident_line(i) for i in found]
    text = f"Open incidents: {len(found)}"
    return Reply(
        text=text,
        blocks=[section(f"*{text}*\n" + "\n".join(lines)), context(f"`/iam {_CLOSE_SHOWN}`")],
    )
