"""Incidents in Slack: AWS's events in (from the Lambda handler or the queue), cards out.

:meth:`IncidentDesk.intake` stores what an event says (:func:`bot.ops.incidents.intake`) and
puts the card, and for a new incident the owner's DM, in the outbox: Slack being slow or down
never keeps an incident from being stored, nor a queue message from being deleted once it is.
Once a card is first posted, what the key did (from CloudTrail, the last 48 hours) follows in
its thread, as its own outbox step.
One card per key in ``incidents.channel``: posted by the first delivery, then updated in place
(``chat.update``) as signals arrive; deliveries of one key's card share a lane and coalesce, so
a burst of signals becomes one update showing them all. Two replicas posting the first card at
once keep the one the store kept first and delete the other.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from slack_sdk import WebClient

from bot.access import incidents
from bot.access.approvals import Request, State
from bot.access.incidents import Incident
from bot.access.records import Unreadable
from bot.ops import incidents as intake_ops
from bot.ops import investigate
from bot.ops.context import Ops
from bot.slack.messages.incident import Shown, card, owner_dm
from bot.slack.messages.investigate import investigation_reply
from bot.slack.notifier import SlackNotifier
from bot.slack.outbox import Outbox

log = logging.getLogger(__name__)

CARD, OWNER, INVESTIGATION = "incident-card", "incident-owner", "incident-investigation"


def show_card(outbox: Outbox, incident: Incident) -> None:
    """Bring the incident's card up to date (post it if it has none), on its own lane."""
    outbox.add(CARD, _lane(incident), {"key_id": incident.key_id})


def _lane(incident: Incident) -> str:
    return f"incident:{incident.key_id}"


class IncidentDesk:
    def __init__(self, ops: Ops, notifier: SlackNotifier) -> None:
        self._ops = ops
        self._notifier = notifier
        self._client: WebClient = notifier.client
        self._outbox: Outbox = notifier.outbox
        self._outbox.handlers[CARD] = self._deliver_card
        self._outbox.handlers[OWNER] = self._deliver_owner
        self._outbox.handlers[INVESTIGATION] = self._deliver_investigation
        self._outbox.coalesced.add(CARD)
        notifier.on_shown.append(self._request_done)

    def intake(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """One EventBridge event: stored, its cards on their way. What it did, for the log
        and Lambda's answer; an incident whose record cannot be read is reported (by the
        store's reader) and raised, so the queue keeps the message for its dead-letter queue."""
        return intake_ops.intake(self._ops, event, self).summary()

    def changed(self, incident: Incident, new: bool) -> None:
        show_card(self._outbox, incident)
        if new:
            told = f"{incident.id}/owner"
            lane = f"{_lane(incident)}:owner"
            self._outbox.add(OWNER, lane, {"key_id": incident.key_id}, id=told)

    def _request_done(self, request: Request) -> None:
        """A request on a key with an incident finished (contained, deactivated, rotated,
        deleted): its card shows the key as it is now, without its Contain button once
        contained."""
        key = request.plan.get("key") if request.state is State.DONE else None
        try:
            incident = incidents.get(self._ops.services.store, key) if key else None
        except Unreadable:
            return  # reported by the reader
        if incident is not None and incident.state in incidents.ACTIVE:
            show_card(self._outbox, incident)

    def shown(self, incident: Incident) -> Shown:
        """The incident with what its card shows beside it, read now."""
        services = self._ops.services
        facts = intake_ops.key_facts(self._ops, incident)
        owner = facts.owner.chat_user or self._notifier.with_email(facts.owner.email)
        label, key_account = incident.account, ""
        if services.accounts.enabled:
            known = services.accounts.known(incident.account)
            label, key_account = (known.label if known else incident.account), incident.account
        oncall = services.config.incidents.oncall
        return Shown(incident, facts, owner, label, oncall, key_account)

    def _current(self, payload: dict[str, Any]) -> Incident | None:
        try:
            return incidents.get(self._ops.services.store, payload["key_id"])
        except Unreadable:
            return None  # reported; nothing to show

    def _deliver_card(self, payload: dict[str, Any]) -> None:
        """The outbox's handler: the key's card as the incident stands now."""
        channel = self._ops.services.config.incidents.channel
        incident = self._current(payload)
        if incident is None or not channel:
            return
        message = card(self.shown(incident)).as_kwargs()
        if incident.ts:
            self._client.chat_update(channel=incident.channel, ts=incident.ts, **message)
            return
        answer = self._client.chat_postMessage(channel=channel, **message)
        kept = incidents.set_card(self._ops.services.store, incident.key_id, channel, answer["ts"])
        if kept.ts != answer["ts"]:  # another replica's card came first
            self._client.chat_delete(channel=channel, ts=answer["ts"])
            self._client.chat_update(channel=kept.channel, ts=kept.ts, **message)
            return
        lane, once = f"{_lane(incident)}:investigation", f"{incident.id}/investigation"
        self._outbox.add(INVESTIGATION, lane, {"key_id": incident.key_id}, id=once)

    def _deliver_investigation(self, payload: dict[str, Any]) -> None:
        """The outbox's handler: what the key did, from CloudTrail, for the card's thread (its
        own step: a slow or throttled CloudTrail never holds up the card). What it found is
        kept as a post of its own, so Slack failing to take it retries the post, not the
        CloudTrail lookups."""
        incident = self._current(payload)
        if incident is None or not incident.ts:
            return
        found = investigate.of_incident(self._ops, incident)
        reply = investigation_reply(found).as_kwargs()
        once = f"{incident.id}/investigation-post"
        self._outbox.post(incident.channel, {"thread_ts": incident.ts, **reply}, id=once)

    def _deliver_owner(self, payload: dict[str, Any]) -> None:
        """The outbox's handler: tell the key's owner, when someone is linked to its user."""
        incident = self._current(payload)
        if incident is None:
            return
        shown = self.shown(incident)
        if shown.owner:
            self._outbox.dm(shown.owner, owner_dm(shown))
        else:
            log.info("incident %s: nobody linked to tell", incident.key_id)
