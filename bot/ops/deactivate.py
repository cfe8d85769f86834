"""Deactivating a key: the fast path for a leaked key.

Deactivation is reversible and speed matters, so by default only the requester confirms. Once
done, the message offers to rotate the user's key now or to delete the leaked one (that
deletion is approval-gated like any other).

A key reported that is already inactive (a disable switched it off) needs no change, but the
report is recorded all the same: `/iam enable` undoing that disable keeps every key reported
since the user was created inactive (see :func:`reports_about`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from bot.access.approvals import Gate, Request, State, Target, account_here
from bot.access.store import Record
from bot.iam.models import User
from bot.iam.steps import Action, Step
from bot.ops.context import Ops, RunReport, Services, UserError
from bot.ops.declared import Declared, same_key
from bot.ops.followups import FollowUp, KeyRef, Tone, offer
from bot.ops.keys import KeyPlan, key_step, key_title, owned_key
from bot.ops.one_step import run_one_step
from bot.ops.operation import Operation
from bot.ops.outcome import AT, WHO, Note, NoteKind, offering

COMMAND = Operation.DEACTIVATE
REPORT = "key-report"  # the store's kind of a report about a key that was already inactive


@dataclass(frozen=True)
class Report:
    """Someone reported ``key`` of ``user`` in ``account`` (leaked, as a rule): who, when, why."""

    key: str
    user: str
    account: str
    who: str
    at: datetime
    reason: str

    def to_record(self) -> Record:
        data = {
            "key": self.key,
            "user": self.user,
            "account": self.account,
            "who": self.who,
            "at": self.at.isoformat(),
            "reason": self.reason,
        }
        return Record(uuid.uuid4().hex[:12], REPORT, "recorded", data)

    @classmethod
    def from_record(cls, record: Record) -> Report:
        d = record.data
        at = datetime.fromisoformat(d["at"])
        return cls(d["key"], d["user"], d["account"], d["who"], at, d["reason"])

    @classmethod
    def of_request(cls, request: Request) -> Report:
        """A deactivation request as the report it is."""
        key, reason = KeyPlan.of(request).key, request.reason
        return cls(key, request.target, request.account, request.requester, request.created, reason)


def kept_note(report: Report) -> Note:
    """Why a key a change would give back stays inactive: who reported it leaked, when, and
    their words (an enable, an undone containment)."""
    given = "" if report.reason.strip() else " (no reason given)"
    return Note(
        NoteKind.KEPT,
        f"Kept inactive: access key `{report.key}`, reported leaked by {WHO} ({AT}){given}",
        said=report.reason.strip() and report.reason,
        who=report.who,
        at=report.at,
    )


def reports_about(services: Services, user: User) -> list[Report]:
    """The keys of this IAM user reported in the account of the current scope since it was
    created, oldest first: those reported already inactive, and those a deactivation switched
    off (it may have been confirmed after a disable had switched them off already)."""
    here, name = account_here(), user.name.casefold()
    records = services.store.list_by_state(REPORT, ["recorded"])
    recorded = [Report.from_record(r) for r in records]
    done = services.approvals.history(user.name, State.DONE)
    deactivated = [Report.of_request(r) for r in done if r.command == COMMAND]
    return sorted(
        (
            r
            for r in (*recorded, *deactivated)
            if r.account == here and r.user.casefold() == name and r.at >= user.created
        ),
        key=lambda r: r.at,
    )


def open_request(ops: Ops, key_id: str, reason: str, *, requester: str, channel: str) -> Request:
    """Deactivating a (leaked) key, as a request its requester confirms; a key already
    inactive is only reported (:class:`UserError` says so)."""
    services = ops.services
    user, key = owned_key(services, key_id, COMMAND)
    if key.status.value == "Inactive":
        report = Report(key_id, user, account_here(), requester, services.clock(), reason)
        services.store.put_if_version(report.to_record())
        raise UserError(
            f"`{key_id}` of {user} is already inactive: nothing to change. Your report is "
            f"recorded: `/iam enable {user}` will keep this key inactive."
        )
    step = key_step(Action.DEACTIVATE_ACCESS_KEY, key_id, "reversible")
    plan = KeyPlan(key=key_id, steps=(step,))
    return ops.ask(COMMAND, user, plan, reason, requester=requester, channel=channel)


def execute(ops: Ops, request: Request) -> RunReport:
    key = KeyPlan.of(request).key
    step = Step(Action.DEACTIVATE_ACCESS_KEY, key, 1)
    report = run_one_step(ops, request, step, f"`{key}` is now inactive.")
    if report.ok:
        ref = KeyRef(request.target, key, request.account)
        buttons = offering(
            offer("Rotate now", FollowUp.ROTATE_NOW, ref, Tone.PRIMARY),
            offer("Delete key", FollowUp.DELETE_KEY, ref, Tone.DANGER),
        )
        ops.services.approvals.note(request.id, **buttons)
    return report


DECLARED = Declared(
    COMMAND,
    Gate(("deactivate",), confirms=True, floor=0, target=Target.USER, same=same_key),
    KeyPlan,
    key_title("Deactivate", lambda r: KeyPlan.of(r).key),
    execute,
    "deactivate",
    buttons=(FollowUp.DEACTIVATE_NOW,),
)
