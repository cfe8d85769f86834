"""AWS's alarms about a key in, incidents out: the intake, and what a card needs to know.

:func:`intake` reads one EventBridge event (:mod:`bot.iam.signals`), stores each signal in its
key's incident (:mod:`bot.access.incidents`) and only then tells the chat layer, which shows
the card and tells the owner on its own time: a queue message is deleted, and a Lambda
invocation returns, once the incident is stored, whatever chat does. A quarantine policy names
a user, not a key: the signal is recorded on each of the user's active keys (the ones a leak
could be), read in the event's account. Events about anything else are counted and dropped
with one log line.

:func:`key_facts` reads, in the incident's account, what the card shows beside what AWS said:
the key's user and last use, the user's other keys, the quarantine policies attached to it and
who owns it (the identity rule's tags).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from bot.access import incidents
from bot.access.incidents import Incident
from bot.iam import errors, keys, policies, users
from bot.iam.models import AccessKey, KeyStatus
from bot.iam.sessions import Actor
from bot.iam.signals import QUARANTINE_PREFIX, Ignored, Signal, signals_of
from bot.ops.context import Ops
from bot.ops.owner import Owner

log = logging.getLogger(__name__)
BOT = "iam-bot"  # whom the reads of an incident are made for: nobody asked, AWS did

_lock = threading.Lock()
_dropped: Counter[str] = Counter()


class Desk(Protocol):
    """How the chat layer hears of an incident that changed."""

    def changed(self, incident: Incident, new: bool) -> None:
        """Show ``incident`` as it now stands; ``new``: it was opened by this signal."""


@dataclass(frozen=True)
class Intake:
    """What one event did: the incidents it changed (none: duplicates), or why it was dropped."""

    changed: tuple[Incident, ...] = ()
    dropped: str = ""

    def summary(self) -> dict[str, Any]:
        if self.dropped:
            return {"dropped": self.dropped}
        return {"incidents": [i.key_id for i in self.changed]}


@dataclass(frozen=True)
class KeyFacts:
    """What IAM says about an incident's key now; ``problem`` says why some could not be read."""

    user: str = ""
    key: AccessKey | None = None
    other_keys: tuple[AccessKey, ...] = ()
    quarantine: tuple[str, ...] = ()  # names of the quarantine policies attached to the user
    owner: Owner = field(default_factory=Owner)
    problem: str = ""


def dropped_counts() -> dict[str, int]:
    """How many events this process dropped, by why."""
    with _lock:
        return dict(_dropped)


def intake(ops: Ops, event: Mapping[str, Any], desk: Desk) -> Intake:
    """Store what ``event`` says, then tell ``desk`` of each incident it changed."""
    floor = ops.services.config.incidents.min_guardduty_severity
    try:
        found = signals_of(event, min_guardduty_severity=floor)
        per_key = [one for signal in found for one in _on_keys(ops, signal)]
    except Ignored as ignored:
        with _lock:
            _dropped[ignored.reason] += 1
        log.info("event %s dropped: %s", str(event.get("id", "?"))[:64], ignored.reason)
        return Intake(dropped=ignored.reason)
    changed = []
    for signal in per_key:
        recorded = incidents.record(ops.services.store, signal, ops.services.clock())
        if recorded.changed:
            changed.append(recorded.incident)
            log.info("incident %s: %s signal %s", signal.key_id, signal.source.value, signal.kind)
            desk.changed(recorded.incident, recorded.new)
    return Intake(changed=tuple(changed))


def _on_keys(ops: Ops, signal: Signal) -> list[Signal]:
    """The signal as it is about keys: a key's as it is; a user's, on each of its active keys."""
    if signal.key_id:
        return [signal]
    with in_account(ops, signal.account, signal.source_id):
        try:
            found = keys.list_access_keys(ops.services.aws, signal.user)
        except errors.NotFound:
            raise Ignored("quarantined user no longer exists") from None
    active = [k.key_id for k in found if k.status is KeyStatus.ACTIVE]
    if not active:
        raise Ignored("quarantined user has no active key")
    return [signal.on_key(key_id) for key_id in active]


@contextlib.contextmanager
def in_account(ops: Ops, account: str, why: str) -> Iterator[None]:
    """AWS calls inside read ``account`` (with ``accounts:`` config, through its role, as the
    bot itself: nobody in chat asked)."""
    services = ops.services
    if not services.accounts.enabled:
        yield
        return
    with services.acting(account, Actor(BOT, request_id=why)):
        yield


def key_facts(ops: Ops, incident: Incident) -> KeyFacts:
    """The key, its user, the user's other keys and quarantine policies, and its owner: one
    call naming the user, three side by side, then the other keys' last use side by side. A
    key deleted since (rotated away) is read as its user's, which the incident names: the
    quarantine AWS put on the user outlives the key."""
    aws = ops.services.aws
    try:
        with in_account(ops, incident.account, incident.id):
            try:
                user, use = keys.last_used(aws, incident.key_id)
            except errors.NotFound:
                if not incident.user:
                    raise
                user, use = incident.user, None
            read, found, attached = aws.run_all(
                lambda: users.get_user(aws, user),
                lambda: keys.list_access_keys(aws, user),
                lambda: policies.list_attached_policies(aws, user),
            )
            others = [k for k in found if k.key_id != incident.key_id]
            others = aws.map(lambda key: keys.with_last_use(aws, key), others)
    except errors.NotFound:
        return KeyFacts(user=incident.user, problem="the key no longer exists in its account")
    except Exception as exc:  # the card still shows what AWS said
        log.warning("incident %s: IAM could not be read (%s)", incident.key_id, type(exc).__name__)
        return KeyFacts(user=incident.user, problem=f"IAM could not be read ({errors_word(exc)})")
    if user != incident.user:
        incidents.name_user(ops.services.store, incident.key_id, user)
    identity = ops.services.config.identity
    this = next((k for k in found if k.key_id == incident.key_id), None)
    return KeyFacts(
        user=user,
        key=replace(this, last_used=use) if this else None,
        other_keys=tuple(others),
        quarantine=tuple(p.name for p in attached if p.arn.startswith(QUARANTINE_PREFIX)),
        owner=Owner(read.tags.get(identity.tag), read.tags.get(identity.email_tag)),
    )


def errors_word(exc: Exception) -> str:
    """A failure in a word or two (an AWS error's code, else its type): never its message."""
    return str(getattr(exc, "code", "") or type(exc).__name__)
