"""Key rotation in AWS's order, with the secret never in chat.

1. Confirm (by the requester unless config asks for approvers).
2. Create the new key and put it straight into Secrets Manager; the message shows only the new
   key ID and the secret's ARN. A key IAM made but whose secret was never stored (an answer
   lost, a crash mid-call) is found and deleted (see ``create_delivered_key``).
3. After the grace period (a scheduled step in the store), check the old key is no longer
   used; if it is, hold and ask ("deactivate anyway" / "extend"); else deactivate it.
4. After a second period, ask for approval to delete it (a key's deletion always needs one).

Every step, from the key's creation to the deletion request, is journaled in the rotation's
journal, and what it makes (a scheduled job, the delete-key request) is looked up before it is
made: a restart re-runs the request or a scheduled job, and each step still happens once.
"""

from __future__ import annotations

import contextlib
import enum
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from bot.access.approvals import AlreadyOpen, Gate, Request, Target, account_here
from bot.access.journal import finished_steps
from bot.access.schedule import DONE, FAILED, HELD, WAITING, Job
from bot.iam import errors, keys, users
from bot.iam.models import AccessKey, KeyStatus, LastUsed
from bot.iam.sessions import current_account
from bot.iam.steps import Action, Step, run_step
from bot.ops import delete_key
from bot.ops.context import Ops, RunReport, UserError
from bot.ops.declared import Declared, same_key
from bot.ops.followups import FollowUp, KeyRef, Offer, Tone, Viewer, offer
from bot.ops.keys import ORPHAN, KeyPlan, create_delivered_key, delete_orphan, key_title
from bot.ops.operation import Operation
from bot.ops.outcome import AT, WHO, Note, NoteKind, Outcome, offering
from bot.ops.plan import Plan
from bot.wording import duration

COMMAND = Operation.ROTATE
RETIRE, DELETE = "retire-old-key", "delete-old-key"
# What a held rotation waits on, as its message and the lists of pending work say it.
HELD_WAITING = "Held: the old key is still in use and stays active until someone decides."


@dataclass(frozen=True, kw_only=True)
class RotatePlan(Plan):
    """``key``: the key to replace; ``keys_before``: the user's keys when it was planned (any
    other key that appears is not the new key's, and the rotation does not touch it)."""

    key: str
    keys_before: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "keys_before": list(self.keys_before), **super().to_dict()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RotatePlan:
        return cls(key=d["key"], keys_before=tuple(d["keys_before"]), **cls.listed(d))


def describe_key(key: AccessKey) -> str:
    use = key.last_used
    used = f"last used {use.when:%Y-%m-%d}" if use and use.when else "never used"
    return f"{key.status.value}, created {key.created:%Y-%m-%d}, {used}"


class TwoKeys(UserError):
    """The user is at IAM's two-key limit: one must go before a new one can be made."""

    def __init__(self, user: str, found: list[AccessKey]) -> None:
        super().__init__(f"{user} already has two keys, IAM's limit.")
        self.user, self.found = user, found

    @property
    def spare(self) -> list[AccessKey]:
        """The keys that can go (inactive or never used); a person picks, never the bot."""
        return [
            k
            for k in self.found
            if k.status is KeyStatus.INACTIVE or not (k.last_used and k.last_used.when)
        ]

    def offers(self, viewer: Viewer) -> list[Offer]:
        """What ``viewer`` may press to make room, in the account the user is in: Delete on
        each spare key, else Deactivate on each key (its deletion is offered once it is done);
        a person picks, never the bot."""
        here = current_account()
        account = here.id if here else ""
        kind, verb = (FollowUp.DELETE_KEY, "Delete")
        if not self.spare:
            kind, verb = (FollowUp.DEACTIVATE_NOW, "Deactivate")
        made = [
            offer(f"{verb} {k.key_id}", kind, KeyRef(self.user, k.key_id, account), Tone.DANGER)
            for k in self.spare or self.found
        ]
        return viewer.pressable(made, account)


def _pick(user: str, found: list[AccessKey], wanted: str | None) -> AccessKey:
    """The key to replace; never guessed, and there must be room for the new one."""
    if len(found) >= 2:
        raise TwoKeys(user, found)
    if not found:
        raise UserError(f"{user} has no access key to rotate.")
    if wanted and found[0].key_id != wanted:
        raise UserError(f"`{wanted}` is not a key of {user}.")
    return found[0]


def open_request(
    ops: Ops, user: str, wanted: str | None, *, requester: str, channel: str, reason: str = ""
) -> Request:
    """``reason``: why, when known (an audit's finding); else it is said to be a rotation."""
    services = ops.services
    try:
        target = users.get_user(services.aws, user)
    except errors.NotFound:
        raise UserError(f"No IAM user named `{user}`.") from None
    # What opening will check, checked before two keys offer buttons for a user nobody may
    # rotate (pressing them would be refused)
    if refused := ops.refusal(COMMAND, user, requester, channel, account_here(), read=target):
        raise refused
    found = keys.access_keys_with_last_use(services.aws, user)
    old = _pick(user, found, wanted)
    rotation = services.config.rotation
    secret = rotation.secret_name.format(user=user)
    grace = f"after {duration(rotation.grace_minutes)}" if rotation.grace_minutes else "right away"
    steps = (
        {
            "action": "create new access key",
            "target": user,
            "note": f"secret stored in Secrets Manager as `{secret}`",
        },
        {
            "action": "deactivate old key",
            "target": old.key_id,
            "note": f"{grace}, once it is no longer used; now {describe_key(old)}",
        },
        {
            "action": "delete old key",
            "target": old.key_id,
            "note": f"{duration(rotation.delete_after_minutes)} after deactivation",
        },
    )
    plan = RotatePlan(key=old.key_id, keys_before=tuple(k.key_id for k in found), steps=steps)
    why = reason or "key rotation"
    return ops.ask(COMMAND, user, plan, why, requester=requester, channel=channel, read=target)


class KeyChange(enum.StrEnum):
    """The rotation's own journaled steps (the key changes themselves are inventory Actions).

    A value, then the step's target, completes "Could not ..." in a failure message."""

    CREATE = "create a new key for"
    NOTE_NEW_KEY = "announce the new key of"
    TELL_OWNER = "tell the owner of"
    SCHEDULE_RETIRE = "schedule the retirement of"
    NOTE_GRACE = "announce the grace period of"
    HOLD = "hold"
    SCHEDULE_DELETE = "schedule the deletion of"
    NOTE_DEACTIVATED = "announce the deactivation of"
    ASK_DELETE = "ask for approval to delete"
    NOTE_DELETE = "announce the deletion request of"


def execute(ops: Ops, request: Request) -> RunReport:
    """Create and deliver the new key, then announce it, tell its owner and schedule the old
    key's retirement: each step journaled, so a re-run after a restart repeats none of them."""
    services = ops.services
    plan = RotatePlan.of(request)
    user, old = request.target, plan.key
    grace = services.config.rotation.grace_minutes
    steps = [
        Step(KeyChange.CREATE, user, 1),
        Step(KeyChange.NOTE_NEW_KEY, user, 2),
        Step(KeyChange.TELL_OWNER, user, 3),
        Step(KeyChange.SCHEDULE_RETIRE, old, 4),
    ]
    if grace:
        steps.append(Step(KeyChange.NOTE_GRACE, old, 5))

    def do(step: Step) -> None:
        match step.action:
            case KeyChange.CREATE:
                new = create_delivered_key(
                    ops, request.id, step.id, user, keys_before=plan.keys_before
                )
                services.approvals.note(
                    request.id,
                    new_key=new.key_id,
                    new_key_created=new.created.isoformat(),
                    secret_arn=new.secret_arn,
                )
            case KeyChange.NOTE_NEW_KEY:
                delivered = Outcome.of(services.approvals.get(request.id))
                line = Note(
                    NoteKind.SECRET,
                    f"New key `{delivered.new_key}`; its secret is in Secrets Manager:",
                    secret_arn=delivered.secret_arn,
                )
                services.approvals.note(request.id, line=line.to_dict())
            case KeyChange.TELL_OWNER:
                _tell_owner(ops, services.approvals.get(request.id))
            case KeyChange.SCHEDULE_RETIRE:
                created = Outcome.of(services.approvals.get(request.id)).new_key_created
                assert created is not None, "the new key was journaled as created"
                due = created + timedelta(minutes=grace)
                ops.scheduler.add_once(
                    RETIRE, request.id, due, old_key=old, new_key_created=created.isoformat()
                )
            case KeyChange.NOTE_GRACE:
                due = _due(ops, RETIRE, request.id)
                _still(ops, request.id, f"Old key `{old}` is checked and deactivated at", due)

    if problem := ops.run_once(request.id, steps, do).problem:
        return RunReport(False, problem, {})
    if not grace:
        ops.scheduler.run_due()  # an incident: retire the old key now, not on the next tick
    return RunReport(True, f"New key for {user} delivered; old key `{old}` is being retired.", {})


def _tell_owner(ops: Ops, request: Request) -> None:
    """DM the key's owner where to find the new secret (never the secret itself)."""
    services = ops.services
    if not services.config.rotation.notify_owner:
        return
    slack_id = services.identity.slack_user_for(request.target)
    if not slack_id:
        return
    delivered = Outcome.of(request)
    ops.dm(
        slack_id,
        (
            f"Your IAM user {request.target} has a new access key `{delivered.new_key}` "
            f"(rotated by {ops.notify.person(request.requester)}). "
            f"Fetch it from Secrets Manager: {ops.secret_link(delivered.secret_arn)}. "
            f"{_old_key_fate(ops, request)}\n"
            f"{ops.notify.reading([delivered.secret_arn], request.target, request.requester)}"
        ),
    )


def _old_key_fate(ops: Ops, request: Request) -> str:
    """What happens to the old key, true when the owner reads it: with no grace period the
    check and deactivation run right after delivery, so it is not "soon" but now."""
    old = RotatePlan.of(request).key
    grace = ops.services.config.rotation.grace_minutes
    if not grace:
        return f"The old key `{old}` is being checked and deactivated now: use the new one."
    created = Outcome.of(request).new_key_created
    assert created is not None, "the new key was journaled as created"
    due = created + timedelta(minutes=grace)
    return (
        f"The old key `{old}` is checked and deactivated at {ops.notify.when(due)}: "
        "switch to the new one before then."
    )


def _still(ops: Ops, request_id: str, what: str, due: datetime) -> None:
    """Say when the old key is checked next, as what the rotation waits on (not as a line of
    its story: once that moment passes, the check has said what came of it instead)."""
    waiting = {"waiting": f"{what} {AT}.", "waiting_until": due.isoformat()}
    ops.refresh(ops.services.approvals.note(request_id, **waiting).request)


def _due(ops: Ops, step: str, request_id: str) -> datetime:
    """When a step an earlier journaled step scheduled is due."""
    job = ops.scheduler.find(step, request_id)
    assert job is not None, f"{step} of {request_id} was journaled as scheduled"
    return job.due


def _old_key_in_use(ops: Ops, job: Job) -> LastUsed | None:
    """When the old key was last used, if that is too close to the new key's creation to be
    sure it is no longer in use (IAM's last-use data lags real use)."""
    rotation = ops.services.config.rotation
    _, use = keys.last_used(ops.services.aws, job.data["old_key"])
    new_created = datetime.fromisoformat(job.data["new_key_created"])
    margin = timedelta(minutes=rotation.last_use_margin_minutes)
    return use if use.when is not None and use.when > new_created - margin else None


def retire_old_key(ops: Ops, job: Job, *, force: bool = False, by: str = "") -> str:
    """Scheduled: deactivate the old key unless it is still in use (then hold and ask).

    Safe to repeat (a job a crash left running is run again): the deactivation, the deletion's
    scheduling and the announcement are journaled steps of the rotation, each done once."""
    services = ops.services
    old, request_id = job.data["old_key"], job.request_id
    deactivate = Step(Action.DEACTIVATE_ACCESS_KEY, old, 1)
    already = deactivate.id in finished_steps(services.store, request_id)
    request = services.approvals.get(request_id)
    live = f"Old key `{old}` is still active."
    if not already and (why := ops.still_allowed(request)):  # the rules, as they stand now
        refused = Note(NoteKind.REFUSED, f"Old key `{old}` not deactivated: {why}")
        ops.note(request_id, refused, waiting=live)
        return FAILED
    if not force and not already and (use := _old_key_in_use(ops, job)):
        return _hold(ops, job, use)
    anyway = f" by {WHO}, although recently used" if force else ""

    def do(step: Step) -> None:
        match step.action:
            case Action.DEACTIVATE_ACCESS_KEY:
                run_step(services.aws, request.target, step)
            case KeyChange.SCHEDULE_DELETE:
                due = services.clock() + timedelta(
                    minutes=services.config.rotation.delete_after_minutes
                )
                ops.scheduler.add_once(DELETE, request_id, due, old_key=old)
            case KeyChange.NOTE_DEACTIVATED:
                due = _due(ops, DELETE, request_id)
                text = f"Old key `{old}` deactivated{anyway}; deletion due {AT}."
                line = Note(NoteKind.DONE, text, who=by if force else "", at=due)
                ops.note(request_id, line, waiting="", **offering())

    steps = [
        deactivate,
        Step(KeyChange.SCHEDULE_DELETE, old, 2),
        Step(KeyChange.NOTE_DEACTIVATED, old, 3),
    ]
    if problem := ops.run_once(request_id, steps, do).problem:
        ref = KeyRef(request.target, old, request.account)
        again = offer("Deactivate now", FollowUp.DEACTIVATE_NOW, ref, Tone.DANGER)
        ops.note(request_id, Note(NoteKind.FAILED, problem), waiting=live, **offering(again))
        return FAILED
    return DONE


def _hold(ops: Ops, job: Job, use: LastUsed) -> str:
    """Hold the job and ask whether to deactivate anyway or wait longer; asked once per due
    time (Extend moves it), however often a crash makes the job run again. The rotation then
    waits on a person: its message says so, `/iam pending` and the Home tab list it (see
    :meth:`Scheduler.held`), and its requester is told, since an edited message pings nobody."""
    rotation = ops.services.config.rotation
    old = job.data["old_key"]

    def ask(_: Step) -> None:
        buttons = offering(
            offer("Deactivate anyway", FollowUp.DEACTIVATE_ANYWAY, job.id, Tone.DANGER),
            offer(f"Extend {duration(rotation.extend_minutes)}", FollowUp.EXTEND, job.id),
        )
        used = Note(
            NoteKind.HELD,
            f"Old key `{old}` was used at {AT} ({use.service or '?'}), too close to the new "
            "key's creation to be sure it is no longer in use",
            at=use.when,
        )
        held = replace(used, text=f"{used.text}. Held.")
        ops.note(job.request_id, held, waiting=HELD_WAITING, **buttons)
        request = ops.services.approvals.get(job.request_id)
        said = used.words(ops.notify.person, ops.notify.when)
        ops.dm(
            request.requester,
            f"Your rotation of {request.target}'s key (request `{request.id}`) is held: {said}. "
            "It stays active until you deactivate it anyway or extend the wait, from the "
            "request's message or `/iam pending`.",
        )

    held = Step(KeyChange.HOLD, f"{old} until {job.due:%Y-%m-%d %H:%M:%S}", 1)
    return HELD if ops.run_once(job.request_id, [held], ask).ok else FAILED


def extend(ops: Ops, job: Job, by: str) -> None:
    """Extend: the held check runs again later, and the rotation says when."""
    minutes = ops.services.config.rotation.extend_minutes
    due = ops.services.clock() + timedelta(minutes=minutes)
    if job.state != HELD or ops.scheduler.move(job, WAITING, due=due) is None:
        raise UserError("That step is no longer waiting for a decision.")
    more = f"{WHO} gave the old key {duration(minutes)} more, until {AT}."
    line = Note(NoteKind.LATER, more, who=by, at=due)
    ops.note(job.request_id, line, buttons=[])
    _still(ops, job.request_id, f"Old key `{job.data['old_key']}` is checked again at", due)


def delete_old_key(ops: Ops, job: Job) -> str:
    """Scheduled: ask for approval to delete the retired key (deleting a key always needs a
    second person), and say so on the rotation's message.

    Safe to repeat: both are journaled steps of the rotation, and the request is looked up
    before it is opened. If either fails, the message says so, with a button to ask again,
    and the job ends failed."""
    request = ops.services.approvals.get(job.request_id)
    old = job.data["old_key"]

    def do(step: Step) -> None:
        match step.action:
            case KeyChange.ASK_DELETE:
                _ask_delete_once(ops, request, old)
            case KeyChange.NOTE_DELETE:
                asked = Note(NoteKind.DELETED, f"Deletion of `{old}` posted for approval.")
                ops.note(request.id, asked)

    steps = [Step(KeyChange.ASK_DELETE, old, 1), Step(KeyChange.NOTE_DELETE, old, 2)]
    if problem := ops.run_once(request.id, steps, do).problem:
        again = offer(
            "Delete key",
            FollowUp.DELETE_KEY,
            KeyRef(request.target, old, request.account),
            Tone.DANGER,
        )
        ops.note(request.id, Note(NoteKind.FAILED, problem), **offering(again))
        return FAILED
    return DONE


def _ask_delete_once(ops: Ops, rotation: Request, old: str) -> None:
    """Open the delete-key request unless this rotation already did (a crash between opening
    it and journaling that must not post a second one), or someone already asked to delete
    the key (one open request per key: theirs stands for this one)."""
    asked = any(
        r.command == Operation.DELETE_KEY and KeyPlan.of(r).origin == rotation.id
        for r in ops.services.approvals.history(rotation.target)
    )
    if asked:
        return
    with contextlib.suppress(AlreadyOpen):
        delete_key.open_request(
            ops,
            rotation.target,
            old,
            requester=rotation.requester,
            reason="end of key rotation",
            channel=rotation.channel,
            origin=rotation.id,
        )


DECLARED = Declared(
    COMMAND,
    # A rotation names the key it replaces: a user has at most one key to rotate, since at
    # two keys a rotation cannot start.
    Gate(("rotate",), confirms=True, floor=0, target=Target.USER, same=same_key),
    RotatePlan,
    key_title("Rotate", lambda r: RotatePlan.of(r).key),
    execute,
    "rotate",
    {RETIRE: retire_old_key, DELETE: delete_old_key, ORPHAN: delete_orphan},
    buttons=(FollowUp.ROTATE_NOW, FollowUp.DEACTIVATE_ANYWAY, FollowUp.EXTEND),
)
