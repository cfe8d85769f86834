"""What `/iam deactivate`, `/iam rotate`, `/iam onboard` and their follow-up buttons share:
finding the key and its owner, refusing protected users, the buttons a person may press on a
user's keys, running a one-step change through the journal, and creating a key whose secret
goes straight to Secrets Manager."""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.access.approvals import Request
from bot.access.rules import Denied
from bot.access.schedule import DONE, WAITING, Job
from bot.access.store import Store
from bot.iam import errors, keys, names, secrets, users
from bot.iam.aws import Aws
from bot.iam.models import AccessKey, KeyStatus
from bot.iam.steps import Action
from bot.ops.context import Ops, Services, UserError
from bot.ops.followups import FollowUp, KeyRef, Offer, Tone, Viewer, offer
from bot.ops.outcome import Note, NoteKind
from bot.ops.plan import Plan, StepDict

log = logging.getLogger(__name__)


def owned_key(services: Services, key_id: str, command: str) -> tuple[str, AccessKey]:
    """Owner and key behind an ID of this account, for a request of ``command``; refuses
    foreign keys and protected users."""
    whois = f"`/iam whois {key_id}` says how to deal with it."
    try:
        owner = keys.key_owner(services.aws, key_id)
    except errors.NotFound:
        if names.is_temporary_key_id(key_id):
            raise UserError(
                f"`{key_id}` is a temporary key from AWS STS, not an IAM user's: it cannot be "
                f"deactivated. {whois}"
            ) from None
        raise UserError(f"No access key `{key_id}` exists in this account.") from None
    if owner.foreign:
        raise UserError(f"`{key_id}` belongs to AWS account {owner.account_id}, not this one.")
    user = owner.user_name
    try:
        services.require_unprotected(command, user)
    except Denied as exc:
        raise Denied(f"{exc} {whois}") from None
    found = [k for k in keys.list_access_keys(services.aws, user) if k.key_id == key_id]
    if not found:
        raise UserError(f"No access key `{key_id}` exists in this account.")
    return user, found[0]


@dataclass(frozen=True)
class KeyOffers:
    """What a person may press on one user's keys: buttons under each key (by key ID), and
    the one that finishes a rotation left with two active keys. ``protected``: the user is,
    so none is offered, and the reply says why (None: IAM was not asked, nothing being
    offered anyway)."""

    per_key: dict[str, tuple[Offer, ...]]
    finish: Offer | None = None
    protected: bool | None = None


def key_offers(
    services: Services,
    viewer: Viewer,
    user: str,
    found: Sequence[AccessKey],
    *,
    on: Collection[str],
    account: str = "",
) -> KeyOffers:
    """The follow-ups ``viewer`` may press on ``user``'s keys ``found`` in ``account``: the
    next step on each key in ``on`` (one's own keys, the key a whois names), and with two
    active keys, Deactivate on the older, AWS's last step of a rotation. Buttons the viewer
    would be refused on are left out; IAM is asked whether the user is protected only when
    some button is left."""
    per_key = {
        k.key_id: tuple(viewer.pressable(_key_actions(user, k, account), account))
        for k in found
        if k.key_id in on
    }
    shown = {(o.kind, o.value) for offers in per_key.values() for o in offers}
    finish = [
        o
        for o in viewer.pressable(_finish_rotation(user, found, account), account)
        if (o.kind, o.value) not in shown  # the older key's own Deactivate does it already
    ]
    if not finish and not any(per_key.values()):
        return KeyOffers({})
    if services.rules.is_protected(users.get_user(services.aws, user)):
        return KeyOffers({}, protected=True)
    return KeyOffers(per_key, finish[0] if finish else None, protected=False)


def _key_actions(user: str, key: AccessKey, account: str) -> list[Offer]:
    """Incident response one click away: take an active key out of use now, or replace it;
    delete one already out of use."""
    ref = KeyRef(user, key.key_id, account)
    if key.status is not KeyStatus.ACTIVE:
        return [offer("Delete key", FollowUp.DELETE_KEY, ref, Tone.DANGER)]
    return [
        offer("Deactivate now", FollowUp.DEACTIVATE_NOW, ref, Tone.DANGER),
        offer("Rotate", FollowUp.ROTATE_NOW, ref),
    ]


def _finish_rotation(user: str, found: Sequence[AccessKey], account: str) -> list[Offer]:
    """Two active keys are a rotation left half done: deactivate the older one."""
    active = sorted((k for k in found if k.status is KeyStatus.ACTIVE), key=lambda k: k.created)
    if len(active) < 2:
        return []
    older = KeyRef(user, active[0].key_id, account)
    return [
        offer(f"Deactivate older key {older.key_id}", FollowUp.DEACTIVATE_NOW, older, Tone.DANGER)
    ]


@dataclass(frozen=True, kw_only=True)
class KeyPlan(Plan):
    """The plan of a one-key request (deactivate, delete-key). ``origin`` names the request
    that asked for it (a rotation asking to delete its old key), so that it can tell whether
    it already did."""

    key: str
    origin: str = ""

    def to_dict(self) -> dict[str, Any]:
        origin = {"origin": self.origin} if self.origin else {}
        return {"key": self.key, **super().to_dict(), **origin}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> KeyPlan:
        return cls(key=d["key"], origin=d.get("origin", ""), **cls.listed(d))


def key_title(verb: str, key: Callable[[Request], str]) -> Callable[[Request], str]:
    """How a request on one ``key`` (read from its plan) is titled: "Delete the access key
    AKIA… of alice"."""
    return lambda r: f"{verb} the access key {key(r)} of {r.target}"


def key_step(action: Action, key: str, note: str) -> StepDict:
    """The one step of a one-key request, as its message lists it."""
    return {"action": action.value, "target": key, "note": note}


@dataclass(frozen=True)
class DeliveredKey:
    """A new access key whose secret is in Secrets Manager: only its ID and the secret's ARN."""

    key_id: str
    created: datetime
    secret_arn: str


# How long after its intent is journaled a CreateAccessKey can still make a key: far beyond
# botocore's 5 attempts of at most 35 s each with their backoff, plus clock skew between the
# bot's host (the journal's time) and IAM (the key's CreateDate).
CALL_WINDOW = timedelta(minutes=10)
CLOCK_SKEW = timedelta(minutes=1)
CREATING, DELIVERED = "creating", "delivered"


@dataclass(frozen=True)
class _Intent:
    """One journaled CreateAccessKey: when it was about to be sent, and the keys present then."""

    at: datetime
    before: frozenset[str]

    def could_have_made(self, key: AccessKey) -> bool:
        return (
            key.key_id not in self.before
            and self.at - CLOCK_SKEW <= key.created <= self.at + CALL_WINDOW
        )


class _KeyJournal:
    """The journal entries of one key-creating step: its intents and the key it delivered."""

    def __init__(self, store: Store, request_id: str, step_id: str) -> None:
        self.store, self.request_id, self.step_id = store, request_id, step_id
        self.entries = [e for e in store.journal(request_id) if e.step == step_id]

    def intents(self) -> list[_Intent]:
        return [
            _Intent(e.at, frozenset(e.detail["before"]))
            for e in self.entries
            if e.event == CREATING
        ]

    def made(self, key: AccessKey) -> bool:
        """Whether one of this step's CreateAccessKey calls can have made ``key``."""
        return any(intent.could_have_made(key) for intent in self.intents())

    def delivered(self) -> DeliveredKey | None:
        last = next((e for e in reversed(self.entries) if e.event == DELIVERED), None)
        if last is None:
            return None
        d = last.detail
        return DeliveredKey(d["key"], datetime.fromisoformat(d["created"]), d["secret_arn"])

    def intend(self, present: list[AccessKey]) -> None:
        self.store.append_journal(
            self.request_id, self.step_id, CREATING, before=sorted(k.key_id for k in present)
        )
        self.entries = [e for e in self.store.journal(self.request_id) if e.step == self.step_id]

    def deliver(self, key: DeliveredKey) -> None:
        self.store.append_journal(
            self.request_id,
            self.step_id,
            DELIVERED,
            key=key.key_id,
            created=key.created.isoformat(),
            secret_arn=key.secret_arn,
        )


def create_delivered_key(
    ops: Ops, request_id: str, step_id: str, user: str, *, keys_before: Collection[str]
) -> DeliveredKey:
    """Create a key for ``user`` and put it straight into Secrets Manager (``rotation``'s secret
    name and KMS key), as journaled step ``step_id`` of request ``request_id``, so that no active
    key whose secret nobody holds remains, whatever answer is lost or process killed.

    Before each CreateAccessKey the intent is journaled with the user's keys at that moment;
    once the secret is stored, the key is journaled as delivered. IAM's answer can be lost after
    it made the key (the SDK's retry then makes another, or hits the two-key limit), and the
    bot can die with the call in flight. So, before and after creating, and on every resume,
    the user's keys are listed and each is classed:

    - in ``keys_before`` (the request's own snapshot) or the delivered key: kept;
    - not present before an intent, and created between that intent and ``CALL_WINDOW`` after
      it: made by this step's call, its secret held by nobody: deleted;
    - anything else appeared behind the request's back: before creating, that refuses the
      step (nothing is made); after delivery it is left alone.

    What cannot be told apart: a key someone else created for this same user after an intent
    and before this step finished. Access keys carry no tags and CreateAccessKey takes no
    idempotency token, so nothing in IAM says who made it. Such a key is deleted as ours. The
    exposure is short: the step sweeps right after its own call returns, so the window is that
    call's duration, or, after a crash or a failure, until the resume or Retry, and never more
    than ``CALL_WINDOW`` after the intent; within it the user's keys are being replaced by this
    very request; and an active key whose secret the bot cannot vouch for is what this step
    must never leave. A key created later than ``CALL_WINDOW`` after every intent is someone
    else's for sure, and refuses the step, as a key made between the request and the first
    intent always did.

    A secret the bot does not own refuses the step before any key is made. A key whose
    secret could not be stored all the same (Secrets Manager failed, or the secret changed
    hands in between) is deleted at once; if that fails too, the scheduler deletes it
    (:func:`delete_orphan`), without waiting for anyone to press Retry.
    """
    aws = ops.services.aws
    journal = _KeyJournal(ops.services.store, request_id, step_id)
    present = keys.list_access_keys(aws, user)
    delivered = journal.delivered()
    if delivered is None or delivered.key_id not in {k.key_id for k in present}:
        delivered = _create_and_deliver(ops, journal, user, present, keys_before)
    _delete_orphans(aws, user, journal, keys.list_access_keys(aws, user), keys_before, delivered)
    return delivered


def _create_and_deliver(
    ops: Ops,
    journal: _KeyJournal,
    user: str,
    present: list[AccessKey],
    keys_before: Collection[str],
) -> DeliveredKey:
    aws, rotation = ops.services.aws, ops.services.config.rotation
    name = rotation.secret_name.format(user=user)
    for attempt in (1, 2):
        strangers = [
            k.key_id for k in present if k.key_id not in keys_before and not journal.made(k)
        ]
        if strangers:
            raise errors.Conflict(
                f"key {', '.join(strangers)} appeared after the request; nothing was created"
            )
        present = _delete_orphans(aws, user, journal, present, keys_before, None)
        # Refused before a key is made, and after the keys an earlier attempt left are gone
        secrets.require_storable(aws, name, rotation.kms_key_id)
        journal.intend(present)
        try:
            new = keys.create_access_key(aws, user)
            break
        except errors.LimitExceeded:
            if attempt == 2:
                raise
            present = keys.list_access_keys(aws, user)  # a lost answer's key took the room
    token = str(uuid.uuid5(uuid.NAMESPACE_URL, f"iam-bot/{journal.request_id}/{new.key_id}"))
    try:
        arn = secrets.store_access_key(
            aws,
            name,
            new,
            kms_key_id=rotation.kms_key_id,
            token=token,
        )
    except errors.IamError as exc:
        raise _undelivered(ops, journal, user, new.key_id, exc) from exc
    delivered = DeliveredKey(new.key_id, new.created, arn)
    journal.deliver(delivered)
    return delivered


def _undelivered(
    ops: Ops, journal: _KeyJournal, user: str, key_id: str, failure: errors.IamError
) -> errors.IamError:
    """The step's failure once the key whose secret could not be stored is dealt with: deleted
    now, or, when that fails too, handed to the scheduler (:func:`delete_orphan`); the failure
    says which, after why the secret was not stored."""
    try:
        _discard(ops.services.aws, user, key_id)
        fate = f"the new key `{key_id}` was deleted"
    except errors.IamError:
        log.warning("could not delete access key %s of %s yet", key_id, user, exc_info=True)
        data = {"user": user, "key": key_id, "key_step": journal.step_id}
        ops.scheduler.add(ORPHAN, journal.request_id, ops.services.clock(), **data)
        fate = f"the new key `{key_id}` could not be deleted yet: the bot deletes it shortly"
    said = failure.message.rstrip().removesuffix(".")
    return errors.IamError(f"{said}; {fate}.", code=failure.code, operation=failure.operation)


ORPHAN = "delete-orphan-key"  # the scheduled step of a request that deletes its orphan key


def delete_orphan(ops: Ops, job: Job) -> str:
    """Scheduled: delete the key ``job`` names, made by a step whose secret was not stored and
    whose deletion failed then, and say so on the request's message (which the audit channel
    sees too). Run on every tick until it succeeds; the claim on the job makes it once.

    Only while the step's journal still shows the key as made by its call and not delivered:
    a Retry may have deleted it first, or (never by design, but checked) delivered it."""
    services = ops.services
    user, key_id = job.data["user"], job.data["key"]
    journal = _KeyJournal(services.store, job.request_id, job.data["key_step"])
    found = [k for k in keys.list_access_keys(services.aws, user) if k.key_id == key_id]
    delivered = journal.delivered()
    if not found or not journal.made(found[0]) or (delivered and delivered.key_id == key_id):
        return DONE
    try:
        _discard(services.aws, user, key_id)
    except errors.IamError:
        log.warning("access key %s of %s is still to delete", key_id, user, exc_info=True)
        return WAITING  # due already: the next tick tries again
    deleted = f"New key `{key_id}`, whose secret was not stored, deleted."
    ops.note(job.request_id, Note(NoteKind.DELETED, deleted))
    return DONE


def _delete_orphans(
    aws: Aws,
    user: str,
    journal: _KeyJournal,
    present: list[AccessKey],
    keys_before: Collection[str],
    delivered: DeliveredKey | None,
) -> list[AccessKey]:
    """Delete the keys this step's calls made but never delivered; the keys that remain."""
    kept = []
    for key in present:
        ours = key.key_id not in keys_before and journal.made(key)
        if ours and (delivered is None or key.key_id != delivered.key_id):
            _discard(aws, user, key.key_id)
        else:
            kept.append(key)
    return kept


def _discard(aws: Aws, user: str, key_id: str) -> None:
    """Delete a key whose secret nobody holds."""
    log.warning("deleting access key %s of %s: its secret was never stored", key_id, user)
    with contextlib.suppress(errors.NotFound):
        keys.delete_access_key(aws, user, key_id)
