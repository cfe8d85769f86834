"""Offboarding: remove (or first disable) an IAM user and everything attached, approval-gated.

Nothing changes before approval. At execution the user is inventoried again: if anything
appeared that the approvers did not see, the request goes back to them with the difference.
A snapshot of what the user had is stored before the first change.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from bot.access.approvals import Gate, Request, State, Target
from bot.access.journal import RunResult, finished_steps, run_journaled
from bot.access.store import Record
from bot.iam import errors
from bot.iam.inventory import Inventory, take_inventory
from bot.iam.models import User
from bot.iam.planning import deactivated_mfa, disable_steps, removal_steps
from bot.iam.snapshot import Snapshot, snapshot
from bot.iam.steps import Action, Step, run_step
from bot.ops.context import Ops, RunReport, Services, UserError
from bot.ops.declared import Declared
from bot.ops.operation import Operation
from bot.ops.outcome import Note, NoteKind, Outcome
from bot.ops.plan import Plan
from bot.wording import counted

COMMAND = Operation.OFFBOARD


class Mode(enum.StrEnum):
    DELETE = "delete"
    DISABLE = "disable"  # the reversible first stage: `/iam enable` undoes it


@dataclass(frozen=True, kw_only=True)
class OffboardPlan(Plan):
    mode: Mode = Mode.DELETE  # requests from before disabling existed have none: deletes

    def to_dict(self) -> dict[str, Any]:
        return {"mode": self.mode.value, **super().to_dict()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> OffboardPlan:
        return cls(mode=Mode(d.get("mode", Mode.DELETE)), **cls.listed(d))


def is_disable(request: Request) -> bool:
    return request.command == COMMAND and OffboardPlan.of(request).mode is Mode.DISABLE


def requests_about(services: Services, user: User, *states: State) -> list[Request]:
    """Requests about this IAM user in ``states``, newest first. Only those in the account of
    the current scope, since it was created: a name can be reused, in another account or
    after a removal, and another user's requests say nothing about this one."""
    return sorted(
        (r for r in services.approvals.history(user.name, *states) if r.created >= user.created),
        key=lambda r: r.created,
        reverse=True,
    )


def saved_snapshot(services: Services, request_id: str) -> Snapshot | None:
    """What the user had before a request changed anything, if it saved a snapshot."""
    record = services.store.get(snapshot_id(request_id))
    return Snapshot.from_dict(record.data) if record else None


def _released_mfa(services: Services, user: User) -> list[str]:
    """Virtual MFA devices this user's disables (done or failed part way) deactivated: IAM
    lists them for nobody now."""
    disables = requests_about(services, user, State.DONE, State.FAILED)
    snapshots = [saved_snapshot(services, r.id) for r in disables if is_disable(r)]
    return deactivated_mfa([s for s in snapshots if s], virtual_only=True)


def plan_steps(services: Services, inv: Inventory, mode: Mode) -> list[Step]:
    """The steps ``mode`` takes for the user as inventoried."""
    if mode is Mode.DISABLE:
        return disable_steps(inv)
    return removal_steps(inv, _released_mfa(services, inv.user))


def _inventory(services: Services, user: str) -> Inventory:
    try:
        return take_inventory(services.aws, user)
    except errors.NotFound:
        raise UserError(f"No IAM user named `{user}`.") from None


def planned(services: Services, user: str, mode: Mode) -> tuple[str, list[Step]]:
    """``user`` as IAM spells it and the steps ``mode`` takes for it, in the current scope;
    a protected user is refused."""
    inv = _inventory(services, user)
    services.require_unprotected(COMMAND, inv.user.name, inv.user)
    return inv.user.name, plan_steps(services, inv, mode)


def open_request(
    ops: Ops,
    user: str,
    reason: str,
    *,
    disable: bool,
    requester: str,
    channel: str,
    request_id: str | None = None,
) -> Request:
    """The plan for removing (or disabling) ``user``, as a request for approval (with the ID
    ``request_id`` when its caller chose it beforehand)."""
    mode = Mode.DISABLE if disable else Mode.DELETE
    name, steps = planned(ops.services, user, mode)
    plan = OffboardPlan(mode=mode, steps=tuple(s.to_dict() for s in steps))
    # the target in IAM's spelling, whatever the case typed
    return ops.ask(
        COMMAND, name, plan, reason, requester=requester, channel=channel, request_id=request_id
    )


SNAPSHOT = "snapshot"


def snapshot_id(request_id: str) -> str:
    return f"{request_id}/snapshot"


def unseen_steps(
    services: Services, journal: str, planned: list[Step], fresh: list[Step]
) -> list[Step]:
    """The ``fresh`` steps that are neither ``planned`` (what the approvers saw) nor finished
    in the ``journal`` of an earlier attempt."""
    known = {s.id for s in planned} | finished_steps(services.store, journal)
    return [s for s in fresh if s.id not in known]


def reopen_if_changed(ops: Ops, request: Request, plan: Plan, fresh: list[Step]) -> bool:
    """Send the request back to its approvers if its ``plan`` now has steps they did not see
    (and no earlier attempt finished); True if it did, and then nothing may run."""
    planned = [Step.from_dict(d) for d in plan.steps]
    unseen = unseen_steps(ops.services, request.id, planned, fresh)
    if not unseen:
        return False
    steps, new = tuple(s.to_dict() for s in fresh), tuple(s.to_dict() for s in unseen)
    reopen(ops, request, replace(plan, steps=steps, unseen=new), [s.id for s in unseen])
    return True


def reopen(ops: Ops, request: Request, replanned: Plan, unseen: list[str]) -> None:
    """Send the request back to its approvers with ``replanned`` (whose ``unseen`` steps the
    message shows as new), saying which steps appeared."""
    why = "appeared after approval: " + ", ".join(unseen)
    reopened = ops.services.approvals.reopen(request.id, replanned.to_dict(), why)
    ops.refresh(reopened.request)
    ops.audit(reopened.request, "re-opened for approval: " + why)


def run_plan(
    ops: Ops,
    request: Request,
    steps: list[Step],
    do: Callable[[Step], str],
    *,
    journal: str = "",
    label: str = "",
) -> RunResult:
    """Run a request's steps journaled (a retry runs only what has not finished), showing
    progress on the request's message after each wave. ``journal``: where the steps are
    journaled (the request's ID unless it has several, one per account); ``label`` heads
    its progress line."""
    total = len(steps)

    def progressed(results: list[Any]) -> None:
        ops.progress(request, f"{label}{len(results)}/{total} steps done.")

    return run_journaled(
        ops.services.store,
        journal or request.id,
        steps,
        do=do,
        fan_out=ops.services.aws.map,
        on_wave_done=progressed,
    )


def run_report(result: RunResult, done_what: str) -> RunReport:
    """The outcome of :func:`run_plan`: the failed step, or ``done_what`` and the counts that
    are not zero (a first run says nothing of steps gone before or finished earlier)."""
    gone = sum(1 for r in result.results if r.status == "gone")
    detail = {
        "steps_run": len(result.results),
        "already_gone": gone,
        "seconds": round(result.seconds, 2),
    }
    if failed := result.failed:
        return RunReport(
            False,
            f"Step {failed.step.action.value} `{failed.step.target}` failed: {failed.aws_said}",
            {**detail, "failed_step": failed.step.id},
        )
    counts = {
        "done": len(result.results) - gone,
        "already gone": gone,
        "finished earlier": result.skipped,
    }
    return RunReport(True, f"{done_what}: {_counted(counts)}, in {result.seconds:.1f} s.", detail)


def _counted(counts: dict[str, int]) -> str:
    """The counts that are not zero, the unit once: "13 steps done, 2 already gone"."""
    shown = [(n, what) for what, n in counts.items() if n]
    if not shown:
        return "nothing to do"
    (n, what), rest = shown[0], shown[1:]
    return ", ".join([f"{counted(n, 'step')} {what}", *(f"{m} {w}" for m, w in rest)])


def current_inventory(
    services: Services, user: str, planned: Sequence[Step] = ()
) -> Inventory | None:
    """The user as it is now, before any change runs (None: already gone). The documents of
    the inline policies ``planned`` to go are read with the lists: one round trip unless the
    user has inline policies the plan does not name."""
    inline = [s.target for s in planned if s.action is Action.DELETE_INLINE_POLICY]
    try:
        return take_inventory(services.aws, user, last_use=False, inline_expected=inline)
    except errors.NotFound:
        return None  # every remaining step will find its target gone


def save_snapshot(services: Services, journal: str, inv: Inventory) -> None:
    """What the user had, kept before the first change: the first attempt's stays (it saw the
    user whole)."""
    record = Record(snapshot_id(journal), SNAPSHOT, "saved", snapshot(inv).to_dict())
    services.store.put_if_version(record)


def remove(
    ops: Ops, request: Request, user: str, steps: list[Step], *, journal: str = "", label: str = ""
) -> RunResult:
    """Run the approved ``steps`` on ``user`` in the current scope, journaled in ``journal``."""
    note = f"disabled by iam-bot request {request.id}"
    aws = ops.services.aws
    return run_plan(
        ops,
        request,
        steps,
        lambda step: run_step(aws, user, step, disabled_note=note),
        journal=journal,
        label=label,
    )


def done_what(user: str, mode: Mode) -> str:
    return f"{user} {'disabled' if mode is Mode.DISABLE else 'removed'}"


def execute(ops: Ops, request: Request) -> RunReport | None:
    """The user read again (its protection judged on that read: see :meth:`Ops.still_allowed`),
    compared with the approved plan, its snapshot saved, then the plan run."""
    services = ops.services
    plan = OffboardPlan.of(request)
    planned = [Step.from_dict(d) for d in plan.steps]
    inv = current_inventory(services, request.target, planned)
    if inv is not None:
        if why := services.protection(request.command, request.target, inv.user):
            return RunReport(False, f"Not run: {why}.")
        if reopen_if_changed(ops, request, plan, plan_steps(services, inv, plan.mode)):
            return None
        save_snapshot(services, request.id, inv)
    result = remove(ops, request, request.target, planned)
    report = run_report(result, done_what(request.target, plan.mode))
    if report.ok:
        _point_to_history(services, request)
    return report


def _point_to_history(services: Services, request: Request) -> None:
    """Say under the request's message where its snapshot is shown: `/iam history` shows the
    summary without this line, which there would point at itself. Once, even if re-run."""
    line = Note(NoteKind.INFO, f"`/iam history {request.target}` shows what was there.")
    if line not in Outcome.of(services.approvals.get(request.id)).notes:
        services.approvals.note(request.id, line=line.to_dict())


DECLARED = Declared(
    COMMAND,
    Gate(("offboard",), confirms=False, floor=1, target=Target.USER_READ_BY_RUN),
    OffboardPlan,
    lambda r: f"{'Disable' if is_disable(r) else 'Offboard'} IAM user {r.target}",
    execute,
    "offboard",
)
