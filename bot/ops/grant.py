"""Time-bound group membership: `/iam grant`, its end, `/iam revoke` and Extend.

A grant is approval-gated: someone other than the requester approves, and never the person
it is about. On approval the user is added to the group and a scheduled step (:data:`EXPIRE`)
removes them at the end; the scheduler claims a step by compare-and-set, so the removal runs
once, across restarts and replicas. A user who was a member before the grant stays one at its
end: the grant did not add them, so its end removes nobody (the plan and the run say so).

`/iam revoke` (or Revoke on the grant's message) ends a grant early: a request its requester
confirms, since it only takes access away. It cancels the scheduled removal and removes now.
Extend asks again: a new grant request naming the one it extends; approved, it moves the
scheduled removal later by the grant's own duration.

A removal that fails is retried by the scheduler, later each time, and said in the audit
channel after ``grants.alert_after_failures`` failures and at every such count after: a
membership that should have ended never stays on silently.
"""

from __future__ import annotations

import contextlib
import enum
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.access.approvals import Gate, Request, Target, account_here
from bot.access.schedule import CANCELLED, DONE, RUNNING, WAITING, Job
from bot.iam import errors, policies, users
from bot.iam.steps import Step
from bot.operator_rules import GRANT_MIN_MINUTES
from bot.ops.context import Ops, RunReport, UserError
from bot.ops.declared import Declared
from bot.ops.followups import FollowUp, Tone, offer
from bot.ops.operation import Operation
from bot.ops.outcome import AT, WHO, Note, NoteKind, offering
from bot.ops.plan import Plan
from bot.wording import duration

log = logging.getLogger(__name__)

EXPIRE = "grant-expire"  # the scheduled removal at a grant's end
MEMBER_BEFORE = "member_before"  # outcome fact: the user was a member when the grant ran
_DURATION = re.compile(r"([0-9]{1,6})([mhd])")
_UNIT_MINUTES = {"m": 1, "h": 60, "d": 24 * 60}
OVER = "That grant is over: ask for a new one with `/iam grant`."
LONGEST_RETRY = timedelta(hours=1)  # a failing removal is tried at least this often


def minutes_of(text: str) -> int:
    """A duration as typed (``30m``, ``4h``, ``2d``) in minutes; its bounds are the config's,
    checked when the grant is asked for (:func:`open_request`)."""
    found = _DURATION.fullmatch(text.strip().lower())
    if found is None:
        raise UserError(
            "A duration is a whole number of minutes, hours or days: `30m`, `4h` or `2d`."
        )
    return int(found.group(1)) * _UNIT_MINUTES[found.group(2)]


@dataclass(frozen=True, kw_only=True)
class GrantPlan(Plan):
    """``group`` as IAM spells it; ``minutes`` the grant's length (or, with ``extends``, how
    much longer the grant of that request lasts); ``policies`` what the group gives, as the
    approvers saw it; ``member_before``: already a member when asked."""

    group: str
    minutes: int
    policies: tuple[str, ...] = ()
    member_before: bool = False
    extends: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "minutes": self.minutes,
            "policies": list(self.policies),
            "member_before": self.member_before,
            "extends": self.extends,
            **super().to_dict(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> GrantPlan:
        return cls(
            group=d["group"],
            minutes=d["minutes"],
            policies=tuple(d.get("policies", ())),
            member_before=d.get("member_before", False),
            extends=d.get("extends", ""),
            **cls.listed(d),
        )


@dataclass(frozen=True, kw_only=True)
class RevokePlan(Plan):
    """Ending the grant of request ``grant`` (membership of ``group``) now."""

    group: str
    grant: str

    def to_dict(self) -> dict[str, Any]:
        return {"group": self.group, "grant": self.grant, **super().to_dict()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RevokePlan:
        return cls(group=d["group"], grant=d["grant"], **cls.listed(d))


def title(request: Request) -> str:
    plan = GrantPlan.of(request)
    if plan.extends:
        return (
            f"Keep IAM user {request.target} in group {plan.group} {duration(plan.minutes)} longer"
        )
    return f"Add IAM user {request.target} to group {plan.group} for {duration(plan.minutes)}"


def revoke_title(request: Request) -> str:
    return f"End IAM user {request.target}'s grant of group {RevokePlan.of(request).group}"


# --- asking ------------------------------------------------------------------------------


def open_request(
    ops: Ops, user: str, group: str, minutes: int, reason: str, *, requester: str, channel: str
) -> Request:
    """Ask for ``user`` in ``group`` for ``minutes``: within the bounds, a user that exists
    and is not protected, a group that exists, and no grant of it to them still running."""
    _require_within(ops, minutes)
    services = ops.services
    try:
        read = users.get_user(services.aws, user)
    except errors.NotFound:
        raise UserError(f"No IAM user named `{user}`.") from None
    try:
        group = policies.get_group(services.aws, group).name
    except errors.NotFound:
        raise UserError(f"No IAM group named `{group}` in this account.") from None
    if running := active_grant(ops, user, group):
        raise UserError(
            f"{user} is already in {group} by a grant until {ops.notify.when(_end(ops, running))}: "
            "press Extend on its message for more time."
        )
    member = _is_member(ops, user, group)
    given = policies.group_policy_names(services.aws, group)
    plan = GrantPlan(
        group=group,
        minutes=minutes,
        policies=tuple(given),
        member_before=member,
        steps=_grant_steps(group, minutes, given, member),
    )
    return ops.ask(
        Operation.GRANT, user, plan, reason, requester=requester, channel=channel, read=read
    )


def _grant_steps(
    group: str, minutes: int, given: list[str], member: bool
) -> tuple[dict[str, Any], ...]:
    gives = f"its policies: {', '.join(given)}" if given else "no managed policy attached"
    if member:
        note = f"already a member, so nothing changes and its end removes nobody; {gives}"
        return ({"action": "add to group", "target": group, "note": note},)
    return (
        {"action": "add to group", "target": group, "note": gives},
        {
            "action": "remove from group",
            "target": group,
            "note": f"{duration(minutes)} after approval",
        },
    )


def _require_within(ops: Ops, minutes: int) -> None:
    most = ops.services.config.grants.max_minutes
    if not GRANT_MIN_MINUTES <= minutes <= most:
        raise UserError(
            f"A grant lasts from {duration(GRANT_MIN_MINUTES)} to {duration(most)}; "
            f"{duration(minutes)} is outside that."
        )


def open_extension(ops: Ops, grant_id: str, *, requester: str, channel: str) -> Request:
    """Ask for the grant of request ``grant_id`` to last its own duration longer, from its
    present end, still within the longest grant from now."""
    grant = _running(ops, grant_id)
    plan = GrantPlan.of(grant)
    end = _end(ops, grant) + timedelta(minutes=plan.minutes)
    _require_within(ops, max(GRANT_MIN_MINUTES, _minutes_until(ops, end)))
    step = {
        "action": "keep in group",
        "target": plan.group,
        "note": f"{duration(plan.minutes)} longer than its present end, once approved",
    }
    extension = GrantPlan(
        group=plan.group,
        minutes=plan.minutes,
        policies=plan.policies,
        extends=grant.id,
        steps=(step,),
    )
    reason = f"more time for grant {grant.id}"
    return ops.ask(
        Operation.GRANT, grant.target, extension, reason, requester=requester, channel=channel
    )


def open_revoke(
    ops: Ops, user: str, group: str, *, requester: str, channel: str, reason: str = ""
) -> Request:
    """Ask to end the running grant of ``group`` to ``user`` now (its requester confirms)."""
    grant = active_grant(ops, user, group)
    if grant is None:
        raise UserError(f"No grant of group `{group}` to `{user}` is running here: nothing to end.")
    return _revoke(ops, grant, requester, channel, reason)


def open_revoke_of(ops: Ops, grant_id: str, *, requester: str, channel: str) -> Request:
    """Revoke, pressed on the grant's own message."""
    return _revoke(ops, _running(ops, grant_id), requester, channel, "")


def _revoke(ops: Ops, grant: Request, requester: str, channel: str, reason: str) -> Request:
    group = GrantPlan.of(grant).group
    step = {"action": "remove from group", "target": group, "note": f"now, ending {grant.id}"}
    plan = RevokePlan(group=group, grant=grant.id, steps=(step,))
    why = reason or "grant ended early"
    return ops.ask(Operation.REVOKE, grant.target, plan, why, requester=requester, channel=channel)


# --- what is running ----------------------------------------------------------------------


def active_grants(ops: Ops) -> list[Request]:
    """Grants whose removal is still to come (a failing one included: the user is still a
    member), in every account, the soonest end first."""
    jobs = {j.request_id: j for j in ops.scheduler.to_come(EXPIRE)}
    found = ops.services.approvals.some(jobs)
    return sorted(found, key=lambda r: jobs[r.id].due)


def active_grant(ops: Ops, user: str, group: str) -> Request | None:
    """The running grant of ``group`` to ``user`` in the account of the current scope."""
    here, name, group = account_here(), user.casefold(), group.casefold()
    return next(
        (
            r
            for r in active_grants(ops)
            if r.account == here
            and r.target.casefold() == name
            and GrantPlan.of(r).group.casefold() == group
        ),
        None,
    )


def ends(ops: Ops, grant: Request) -> datetime | None:
    """When a running grant ends (its scheduled removal); None once it is over."""
    job = ops.scheduler.find(EXPIRE, grant.id)
    return job.due if job and job.state in (WAITING, RUNNING) else None


def _end(ops: Ops, grant: Request) -> datetime:
    end = ends(ops, grant)
    if end is None:
        raise UserError(OVER)
    return end


def _running(ops: Ops, grant_id: str) -> Request:
    grant = ops.services.approvals.get(grant_id)
    if grant is None or grant.command != Operation.GRANT or ends(ops, grant) is None:
        raise UserError(OVER)
    return grant


def _minutes_until(ops: Ops, moment: datetime) -> int:
    return int((moment - ops.services.clock()).total_seconds() // 60)


def _is_member(ops: Ops, user: str, group: str) -> bool:
    found = policies.list_groups_for_user(ops.services.aws, user)
    return any(g.name.casefold() == group.casefold() for g in found)


# --- running ------------------------------------------------------------------------------


class GrantStep(enum.StrEnum):
    """A grant's journaled steps; a value, then the step's target, completes "Could not ..."."""

    CHECK = "check the membership of"
    ADD = "add the user to"
    SCHEDULE = "schedule the removal from"
    SHOW = "show the end of"
    EXTEND = "move the end of"
    CANCEL = "cancel the scheduled removal from"
    REMOVE = "remove the user from"
    TELL = "say the end of"


def execute(ops: Ops, request: Request) -> RunReport:
    """Add the user (unless a member already, which is recorded first, so a re-run after the
    add does not take the user for a member from before), schedule the removal, and show the
    end with Revoke and Extend."""
    plan = GrantPlan.of(request)
    if plan.extends:
        return _execute_extension(ops, request, plan)
    services, user, group = ops.services, request.target, plan.group
    steps = [
        Step(GrantStep.CHECK, group, 1),
        Step(GrantStep.ADD, group, 2),
        Step(GrantStep.SCHEDULE, group, 3),
        Step(GrantStep.SHOW, group, 4),
    ]

    def member_before() -> bool:
        return bool(services.approvals.get(request.id).outcome.get(MEMBER_BEFORE))

    def do(step: Step) -> None:
        match step.action:
            case GrantStep.CHECK:
                services.approvals.note(request.id, **{MEMBER_BEFORE: _is_member(ops, user, group)})
            case GrantStep.ADD if not member_before():
                policies.add_user_to_group(services.aws, user, group)
            case GrantStep.SCHEDULE if not member_before():
                due = services.clock() + timedelta(minutes=plan.minutes)
                ops.scheduler.add_once(EXPIRE, request.id, due, user=user, group=group)
            case GrantStep.SHOW if not member_before():
                _show_end(ops, request.id, user, group)

    if problem := ops.run_once(request.id, steps, do).problem:
        return RunReport(False, problem)
    if member_before():
        return RunReport(
            True,
            f"{user} was already a member of {group}: nothing changed, and the end of this "
            "grant removes nobody.",
        )
    return RunReport(True, f"{user} added to {group} for {duration(plan.minutes)}.")


def _show_end(ops: Ops, grant_id: str, user: str, group: str) -> None:
    """The grant's message says when it ends and offers Revoke and Extend."""
    end = _end(ops, ops.services.approvals.get(grant_id))
    buttons = offering(
        offer("Revoke", FollowUp.REVOKE_GRANT, grant_id, Tone.DANGER),
        offer("Extend", FollowUp.EXTEND_GRANT, grant_id),
    )
    waiting = {
        "waiting": f"In {group} until {AT}: removed then, unless revoked or extended.",
        "waiting_until": end.isoformat(),
    }
    ops.refresh(ops.services.approvals.note(grant_id, **waiting, **buttons).request)


def _execute_extension(ops: Ops, request: Request, plan: GrantPlan) -> RunReport:
    """Move the grant's scheduled removal later; refused once that grant is over."""
    grant_id, user, group = plan.extends, request.target, plan.group

    def do(step: Step) -> None:
        match step.action:
            case GrantStep.EXTEND:
                _move_end(ops, grant_id, plan.minutes)
            case GrantStep.TELL:
                end = _end(ops, ops.services.approvals.get(grant_id))
                said = f"Extended by request {request.id}: {user} stays until {AT}."
                ops.note(grant_id, Note(NoteKind.LATER, said, at=end))
                _show_end(ops, grant_id, user, group)

    steps = [Step(GrantStep.EXTEND, grant_id, 1), Step(GrantStep.TELL, grant_id, 2)]
    if problem := ops.run_once(request.id, steps, do).problem:
        return RunReport(False, problem)
    return RunReport(True, f"{user} stays in {group} {duration(plan.minutes)} longer.")


def _move_end(ops: Ops, grant_id: str, minutes: int) -> None:
    """The removal, still waiting, is due ``minutes`` later (compare-and-set: a removal
    already under way or done cannot be moved, and says so)."""
    while True:
        job = ops.scheduler.find(EXPIRE, grant_id)
        if job is None or job.state != WAITING:
            raise errors.Conflict("the grant ended before the extension was approved")
        if ops.scheduler.move(job, WAITING, due=job.due + timedelta(minutes=minutes)):
            return


def execute_revoke(ops: Ops, request: Request) -> RunReport:
    """Cancel the scheduled removal, remove now, and say so on the grant's message."""
    plan, services, user = RevokePlan.of(request), ops.services, request.target

    def do(step: Step) -> None:
        match step.action:
            case GrantStep.CANCEL:
                _cancel_end(ops, plan.grant)
            case GrantStep.REMOVE:
                with contextlib.suppress(errors.NotFound):  # no longer a member: ended already
                    policies.remove_user_from_group(services.aws, user, plan.group)
            case GrantStep.TELL:
                said = f"Revoked by {WHO} (request {request.id}): {user} removed from {plan.group}."
                note = Note(NoteKind.DONE, said, who=request.requester)
                ops.note(plan.grant, note, waiting="", **offering())

    steps = [
        Step(GrantStep.CANCEL, plan.group, 1),
        Step(GrantStep.REMOVE, plan.group, 2),
        Step(GrantStep.TELL, plan.group, 3),
    ]
    if problem := ops.run_once(request.id, steps, do).problem:
        return RunReport(False, problem)
    return RunReport(True, f"{user} removed from {plan.group}; the grant ended early.")


def _cancel_end(ops: Ops, grant_id: str) -> None:
    """The scheduled removal will not run (one already under way removes the user too)."""
    while (job := ops.scheduler.find(EXPIRE, grant_id)) and job.state == WAITING:
        if ops.scheduler.move(job, CANCELLED):
            return


# --- the end --------------------------------------------------------------------------------


def expire(ops: Ops, job: Job) -> str:
    """Scheduled: remove the user from the group at the grant's end, and say so. A failure
    is retried later (the job waits again, its next try further off each time) and alerted
    once ``grants.alert_after_failures`` tries failed, and every as many tries after."""
    user, group = job.data["user"], job.data["group"]
    try:
        with contextlib.suppress(errors.NotFound):  # no longer a member: nothing left to end
            policies.remove_user_from_group(ops.services.aws, user, group)
    except errors.IamError as exc:
        return _failed(ops, job, exc)
    over = Note(NoteKind.DONE, f"Grant over: {user} removed from {group}.")
    ops.note(job.request_id, over, waiting="", **offering())
    grant = ops.services.approvals.get(job.request_id)
    if grant is not None:
        where = f" in AWS account {grant.account_name or grant.account}" if grant.account else ""
        said = f"Your grant of group {group}{where} is over: IAM user {user} was removed from it."
        for person in grant.subjects:  # told at its start, by the owner's DM
            ops.dm(person, said)
    return DONE


def _failed(ops: Ops, job: Job, failure: errors.IamError) -> str:
    services = ops.services
    failures = int(job.data.get("failures", 0)) + 1
    pause = min(LONGEST_RETRY, timedelta(minutes=2 ** min(failures - 1, 6)))
    retry = services.clock() + pause
    log.warning("removal of grant %s failed (%d tries): %s", job.request_id, failures, failure)
    ops.scheduler.move(job, job.state, due=retry, failures=failures)
    every = services.config.grants.alert_after_failures
    if failures % every == 0:
        user, group = job.data["user"], job.data["group"]
        said = failure.message.rstrip().removesuffix(".")
        text = (
            f"Could not remove {user} from {group} at the grant's end "
            f"({failures} tries; AWS said {said}). The bot tries again at {AT}."
        )
        ops.note(job.request_id, Note(NoteKind.FAILED, text, at=retry))
    return WAITING


def _same_group(plan: Mapping[str, Any]) -> str:
    """Two grants (or revokes) for one user are the same when they name the same group."""
    return str(plan["group"])


DECLARED = (
    Declared(
        Operation.GRANT,
        Gate(("grant",), confirms=False, floor=1, target=Target.USER, same=_same_group),
        GrantPlan,
        title,
        execute,
        "grant",
        {EXPIRE: expire},
        buttons=(FollowUp.EXTEND_GRANT,),
    ),
    Declared(
        Operation.REVOKE,
        # It only takes access away: its requester confirms it.
        Gate(("grant",), confirms=True, floor=0, target=Target.USER, same=_same_group),
        RevokePlan,
        revoke_title,
        execute_revoke,
        "revoke",
        buttons=(FollowUp.REVOKE_GRANT,),
    ),
)
