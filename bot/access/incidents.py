"""An incident: everything AWS said about one leaked or misused access key, kept in the store.

One record per key (``incident/<key ID>``: an access key ID is unique across AWS, so the
account it lives in is a fact of the record, not part of its name). Every signal about the key
is added to it by compare-and-set, deduplicated by its source and that source's own ID, so two
replicas, two Lambda invocations or a redelivered queue message that bring the same event make
one incident with one signal, and only the first of them sees it as new. The record also keeps
its state (open, contained, resolved, false positive with a reason), where its card is in chat,
and a timeline of plain entries that closing never erases.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from bot.access.records import read_one, readable
from bot.access.store import Record, Store
from bot.iam.signals import Signal

KIND = "incident"
OPEN, CONTAINED, RESOLVED, FALSE_POSITIVE = "open", "contained", "resolved", "false-positive"
ACTIVE = (OPEN, CONTAINED)
CLOSED = (RESOLVED, FALSE_POSITIVE)
STATES = (*ACTIVE, *CLOSED)
_TRIES = 20  # compare-and-set rounds before giving up: only ever reached under a storm of writes


class Contended(Exception):
    """The record kept changing under every try: the caller retries later (the queue does)."""


@dataclass(frozen=True)
class Entry:
    at: datetime
    text: str

    def to_dict(self) -> dict[str, str]:
        return {"at": self.at.isoformat(), "text": self.text}


@dataclass(frozen=True)
class Incident:
    key_id: str
    account: str
    state: str
    signals: tuple[Signal, ...]
    timeline: tuple[Entry, ...]
    user: str = ""  # the key's IAM user, once a signal or a read named it
    channel: str = ""  # where its card is, once posted
    ts: str = ""
    reason: str = ""  # why it was closed
    closed_by: str = ""  # the chat user who closed it
    contained_by: str = ""  # the chat user whose containment of the key was done
    version: int = 0

    @property
    def id(self) -> str:
        return incident_id(self.key_id)

    @property
    def opened(self) -> datetime:
        return self.timeline[0].at

    def seen(self, signal: Signal) -> bool:
        same = (signal.source, signal.source_id)
        return any((s.source, s.source_id) == same for s in self.signals)

    def to_record(self) -> Record:
        data = {
            "key_id": self.key_id,
            "account": self.account,
            "user": self.user,
            "signals": [s.to_dict() for s in self.signals],
            "timeline": [e.to_dict() for e in self.timeline],
            "channel": self.channel,
            "ts": self.ts,
            "reason": self.reason,
            "closed_by": self.closed_by,
            "contained_by": self.contained_by,
        }
        return Record(self.id, KIND, self.state, data, self.version)

    @classmethod
    def from_record(cls, record: Record) -> Incident:
        d = record.data
        if record.state not in STATES:
            raise ValueError(f"state {record.state!r}")
        return cls(
            str(d["key_id"]), str(d["account"]), record.state,
            tuple(Signal.from_dict(s) for s in d["signals"]),
            tuple(Entry(datetime.fromisoformat(e["at"]), str(e["text"])) for e in d["timeline"]),
            str(d.get("user", "")), str(d.get("channel", "")), str(d.get("ts", "")),
            str(d.get("reason", "")), str(d.get("closed_by", "")),
            str(d.get("contained_by", "")), record.version,
        )  # fmt: skip


@dataclass(frozen=True)
class Recorded:
    """What adding a signal did: ``new`` the incident was opened by it, ``changed`` the signal
    was not known yet (False: a duplicate delivery, nothing to show)."""

    incident: Incident
    new: bool = False
    changed: bool = False


def incident_id(key_id: str) -> str:
    return f"{KIND}/{key_id}"


def get(store: Store, key_id: str) -> Incident | None:
    """The key's incident, None if it has none; :class:`Unreadable` if its record cannot be read."""
    record = store.get(incident_id(key_id))
    return read_one(record, Incident.from_record, KIND) if record else None


def listed(store: Store, states: Iterable[str] = ACTIVE) -> list[Incident]:
    """The incidents in ``states``, oldest first; an unreadable one is reported and skipped."""
    return readable(store.list_by_state(KIND, states), Incident.from_record, KIND)


def record(store: Store, signal: Signal, at: datetime) -> Recorded:
    """Add ``signal`` (about ``signal.key_id``) to its key's incident, opening one if none is
    open. A closed incident that gets a new signal opens again: AWS saw more."""
    for _ in range(_TRIES):
        found = get(store, signal.key_id)
        if found is not None and found.seen(signal):
            return Recorded(found)
        base = found or Incident(signal.key_id, signal.account, OPEN, (), ())
        words = f"{signal.source.value}: {signal.kind}"
        again = base.state in CLOSED
        changed = replace(
            base,
            state=OPEN if again else base.state,
            user=base.user or signal.user,
            reason="" if again else base.reason,
            closed_by="" if again else base.closed_by,
            signals=(*base.signals, signal),
            timeline=(*base.timeline, Entry(at, f"reopened by {words}" if again else words)),
        )
        stored = store.put_if_version(changed.to_record())
        if stored is not None:
            return Recorded(Incident.from_record(stored), new=found is None, changed=True)
    raise Contended(incident_id(signal.key_id))


def change(store: Store, key_id: str, edit: Callable[[Incident], Incident | None]) -> Incident:
    """Apply ``edit`` to the incident as stored, by compare-and-set, until it holds; ``edit``
    returning None leaves it as it is (returned)."""
    for _ in range(_TRIES):
        found = get(store, key_id)
        if found is None:
            raise LookupError(f"no incident for {key_id}")
        edited = edit(found)
        if edited is None:
            return found
        stored = store.put_if_version(edited.to_record())
        if stored is not None:
            return Incident.from_record(stored)
    raise Contended(incident_id(key_id))


def set_card(store: Store, key_id: str, channel: str, ts: str) -> Incident:
    """Keep where the card was posted, unless another replica's card is kept already (the
    caller then deletes its own): the returned incident's ``ts`` is the card that stays."""

    def keep(found: Incident) -> Incident | None:
        return None if found.ts else replace(found, channel=channel, ts=ts)

    return change(store, key_id, keep)


def name_user(store: Store, key_id: str, user: str) -> Incident:
    """Keep the key's IAM user once IAM named it (a Health event names only the key), so the
    list shows whose key it is without asking IAM again."""
    return change(
        store, key_id, lambda found: None if found.user == user else replace(found, user=user)
    )


def contained(store: Store, key_id: str, by: str, request_id: str, at: datetime) -> Incident | None:
    """An open incident about ``key_id`` is contained (by ``by``'s request): the card says so
    and offers containment no more. None when no incident is about the key."""

    def containing(found: Incident) -> Incident | None:
        if found.state != OPEN:
            return None
        entry = Entry(at, f"contained by {by} (request {request_id})")
        timeline = (*found.timeline, entry)
        return replace(found, state=CONTAINED, contained_by=by, timeline=timeline)

    try:
        return change(store, key_id, containing)
    except LookupError:
        return None


def close(store: Store, key_id: str, state: str, reason: str, by: str, at: datetime) -> Incident:
    """Resolved or false positive, with the reason; a closed incident is closed again with the
    new reason (the timeline keeps both)."""
    if state not in CLOSED:
        raise ValueError(state)

    def closing(found: Incident) -> Incident:
        entry = Entry(at, f"closed as {state} by {by}: {reason}")
        timeline = (*found.timeline, entry)
        return replace(found, state=state, reason=reason, closed_by=by, timeline=timeline)

    return change(store, key_id, closing)
