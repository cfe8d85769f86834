"""Enabling: undo a disable (`/iam offboard <user> <reason> --disable`), approval-gated.

It works from the snapshot the disable stored before its first change: the access keys,
signing certificates, SSH keys and service-specific credentials that were active then (and
still exist) are reactivated; a user that had a console password gets a new one, reset
required at first sign-in, delivered through Secrets Manager (the old one was deleted and is
not kept anywhere); the disabled tag goes last. MFA devices stay deactivated: IAM enables a
device only with two codes from it, so its owner enrolls it again. An access key reported
(`/iam deactivate <key> <reason>`) since the user was created stays inactive, and the plan
says who reported it, when and why: a leak found after the disable must not be undone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import takewhile
from typing import Any

from bot.access.approvals import Gate, Request, State, Target
from bot.iam import errors, secrets
from bot.iam.inventory import Inventory, take_inventory
from bot.iam.planning import deactivated_mfa, enable_steps
from bot.iam.snapshot import Snapshot
from bot.iam.steps import Action, Step, run_step
from bot.ops import offboard_person
from bot.ops.context import Ops, RunReport, Services, UserError
from bot.ops.deactivate import Report, kept_note, reports_about
from bot.ops.declared import Declared
from bot.ops.offboard import COMMAND as OFFBOARD
from bot.ops.offboard import (
    is_disable,
    reopen_if_changed,
    requests_about,
    run_plan,
    run_report,
    saved_snapshot,
)
from bot.ops.operation import Operation
from bot.ops.outcome import Note, NoteKind, Outcome
from bot.ops.plan import Plan

COMMAND = Operation.ENABLE


@dataclass(frozen=True, kw_only=True)
class EnablePlan(Plan):
    disable_id: str  # the newest disable request it undoes: if another came since, it must not run

    def to_dict(self) -> dict[str, Any]:
        return {"disable": self.disable_id, **super().to_dict()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EnablePlan:
        return cls(disable_id=d["disable"], **cls.listed(d))


def _inventory(services: Services, name: str) -> Inventory:
    """The user as it is now; a clear refusal if it does not exist (or was removed)."""
    try:
        return take_inventory(services.aws, name, last_use=False)
    except errors.NotFound:
        removals = [
            r
            for r in services.approvals.history(name, State.DONE)
            if r.command == OFFBOARD and not is_disable(r)
        ]
        if removals:
            raise UserError(
                f"`{name}` was removed by request `{removals[-1].id}`: a removed user cannot "
                "be enabled. Nothing was changed."
            ) from None
        raise UserError(f"No IAM user named `{name}`.") from None


@dataclass(frozen=True)
class _Undo:
    """The disables an enable undoes: those finished since the user was last enabled (a second
    disable finds the user already switched off), newest first, and their snapshots."""

    disables: list[Request]
    snapshots: list[Snapshot]

    @property
    def latest(self) -> str:
        return self.disables[0].id


def _undo(services: Services, inv: Inventory) -> _Undo:
    name = inv.user.name
    done = requests_about(services, inv.user, State.DONE)
    done = offboard_person.with_parts(services, inv.user, done, State.DONE)
    since_enabled = takewhile(lambda r: r.command != COMMAND, done)
    disables = [r for r in since_enabled if is_disable(r)]
    snapshots = [s for s in (saved_snapshot(services, r.id) for r in disables) if s]
    if not snapshots:
        enabled = any(r.command == COMMAND for r in done)
        raise UserError(
            f"`{name}` has not been disabled with `/iam offboard {name} <reason> --disable`"
            f"{' since it was last enabled' if enabled else ''}: there is nothing to enable. "
            "Nothing was changed."
        )
    return _Undo(disables, snapshots)


def _mfa_note(undo: _Undo) -> Note | None:
    serials = deactivated_mfa(undo.snapshots)
    if not serials:
        return None
    listed = ", ".join(f"`{s}`" for s in serials)
    return Note(
        NoteKind.WARNING,
        f"Not reactivated: MFA device {listed}. IAM enables a device only with two codes "
        "from it, so its owner must enroll it again.",
    )


def _kept_inactive(steps: list[Step], reports: list[Report]) -> tuple[list[Step], list[Report]]:
    """``steps`` without reactivating a key reported since the user was created (the
    disable's snapshot saw it active, but a leak reported since must not be undone), and the
    latest report of each key kept out."""
    latest = {r.key: r for r in reports}

    def reported(step: Step) -> bool:
        return step.action is Action.REACTIVATE_ACCESS_KEY and step.target in latest

    return [s for s in steps if not reported(s)], [latest[s.target] for s in steps if reported(s)]


def open_request(
    ops: Ops,
    name: str,
    reason: str,
    *,
    requester: str,
    channel: str,
    subjects: tuple[str, ...] | None = None,
) -> Request:
    """The plan for undoing ``name``'s disables, as a request for approval (about
    ``subjects``, when the caller knows who the user is: see ``Approvals.open``)."""
    services = ops.services
    inv = _inventory(services, name)
    undo = _undo(services, inv)
    reports = reports_about(services, inv.user)
    steps, kept = _kept_inactive(enable_steps(inv, undo.snapshots), reports)
    if not steps:
        raise UserError(
            f"Everything the disable of `{inv.user.name}` (request `{undo.latest}`) deactivated "
            "is active again, gone or reported leaked: there is nothing to enable. "
            "Nothing was changed."
        )
    plan = EnablePlan(disable_id=undo.latest, steps=tuple(s.to_dict() for s in steps))
    notes = list(filter(None, [_mfa_note(undo), *(kept_note(r) for r in kept)]))
    return ops.ask(
        COMMAND,
        inv.user.name,
        plan,
        reason,
        requester=requester,
        channel=channel,
        notes=notes,
        subjects=subjects,
        read=inv.user,
    )


def _step_runner(ops: Ops, request: Request) -> Callable[[Step], str]:
    """Runs each step; the console password, which needs the bot's config, is done here."""
    services = ops.services
    config = services.config

    def do(step: Step) -> str:
        if step.action is not Action.CREATE_LOGIN_PROFILE:
            return run_step(services.aws, request.target, step)
        arn = secrets.issue_console_password(
            services.aws,
            request.target,
            config.onboarding.secret_name.format(user=request.target),
            kms_key_id=config.rotation.kms_key_id,
        )
        where = "New console password (change required at first sign-in) in Secrets Manager:"
        note = Note(NoteKind.SECRET, where, secret_arn=arn)
        services.approvals.note(request.id, password_secret_arn=arn, line=note.to_dict())
        return "done"

    return do


def _note_once(ops: Ops, request: Request, notes: list[Note]) -> None:
    """Add each of ``notes`` the request's message does not show yet (a retry runs again)."""
    shown = Outcome.of(request).notes
    for note in notes:
        if note not in shown:
            ops.note(request.id, note)


def execute(ops: Ops, request: Request) -> RunReport | None:
    services = ops.services
    try:
        inv = _inventory(services, request.target)
        undo = _undo(services, inv)
    except UserError as exc:
        return RunReport(False, str(exc), {})
    plan = EnablePlan.of(request)
    if undo.latest != plan.disable_id:
        why = "was enabled or disabled again since this was requested"
        return RunReport(False, f"`{request.target}` {why}. Nothing was changed.", {})
    reports = reports_about(services, inv.user)
    fresh, _ = _kept_inactive(enable_steps(inv, undo.snapshots), reports)
    if reopen_if_changed(ops, request, plan, fresh):
        return None
    planned, late = _kept_inactive([Step.from_dict(d) for d in plan.steps], reports)
    _note_once(ops, request, [kept_note(r) for r in late])  # reported after the plan
    result = run_plan(ops, request, planned, _step_runner(ops, request))
    return run_report(result, f"{request.target} enabled")


DECLARED = Declared(
    COMMAND,
    Gate(("offboard",), confirms=False, floor=1, target=Target.USER),
    EnablePlan,
    lambda r: f"Enable IAM user {r.target}",
    execute,
    "enable",
)
