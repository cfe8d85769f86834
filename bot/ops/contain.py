"""Containing a leaked key in one click, and undoing it: `/iam contain`, `/iam uncontain`.

Containment deactivates the key (with ``--all-keys`` the user's other active keys too) and,
with ``--deny-all``, attaches AWS's ``AWSDenyAll`` to the user: sessions already minted from
the key with GetSessionToken carry the user's permissions, evaluated at each request, so only
a deny on the user stops them. It is reversible, so its requester confirms it unless config
asks for approvers. It is the one change the bot makes to a protected user: a protected
user's leaked key must not stay usable because its user is protected (its gate's target
says so: :attr:`Target.LEAKED_KEY`).

Its first step reads what is active before anything changes and records it in the request's
outcome, so a re-run after a crash, and its undo, know exactly what containment switched
off: undoing reactivates those keys and detaches ``AWSDenyAll`` only if containment attached
it. Undoing needs an approver other than the requester, never the key's owner, and is
refused for a protected user (no command gives a protected user access back). A key reported
leaked with `/iam deactivate` stays inactive, as `/iam enable` keeps it (see
:func:`bot.ops.deactivate.reports_about`), and the undo says who reported it.
"""

from __future__ import annotations

import contextlib
import enum
from dataclasses import dataclass
from typing import Any

from bot.access import incidents
from bot.access.approvals import Gate, Request, State, Target, account_here
from bot.iam import errors, keys, policies, users
from bot.iam.models import KeyStatus
from bot.iam.quarantine import DENY_ALL, DENY_ALL_ARN
from bot.iam.steps import Action, Step
from bot.ops.context import Ops, RunReport, UserError
from bot.ops.deactivate import kept_note, reports_about
from bot.ops.declared import Declared, same_key
from bot.ops.followups import FollowUp, KeyRef, Tone, offer
from bot.ops.keys import KeyPlan, key_step, key_title, owned_key
from bot.ops.operation import Operation
from bot.ops.outcome import offering

# Outcome facts of a containment, recorded by its first step before any change.
WAS_ACTIVE = "contained_keys"  # the keys it deactivates (active when it ran)
DENY_ALL_BEFORE = "deny_all_before"  # AWSDenyAll was attached already: its undo leaves it


class ContainStep(enum.StrEnum):
    """A containment's (and its undo's) journaled steps; a value, then the step's target,
    completes "Could not ..."."""

    CHECK = "read what is active for"
    DEACTIVATE = "deactivate access key"
    DENY_ALL = f"attach {DENY_ALL} to"
    REACTIVATE = "reactivate access key"
    ALLOW = f"detach {DENY_ALL} from"


@dataclass(frozen=True, kw_only=True)
class ContainPlan(KeyPlan):
    """``key`` the leaked key; ``keys`` every key to deactivate (it and, with ``--all-keys``,
    the user's other active keys); ``deny_all``: attach ``AWSDenyAll`` to the user."""

    keys: tuple[str, ...] = ()
    deny_all: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "keys": list(self.keys), "deny_all": self.deny_all}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ContainPlan:
        return cls(
            key=d["key"],
            keys=tuple(d.get("keys", ())),
            deny_all=d.get("deny_all", False),
            **cls.listed(d),
        )


@dataclass(frozen=True, kw_only=True)
class UncontainPlan(KeyPlan):
    """Undoing the containment of request ``contain``: reactivate ``keys``, detach
    ``AWSDenyAll`` if ``allow``."""

    contain: str
    keys: tuple[str, ...] = ()
    allow: bool = False

    def to_dict(self) -> dict[str, Any]:
        undo = {"contain": self.contain, "keys": list(self.keys), "allow": self.allow}
        return {**super().to_dict(), **undo}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> UncontainPlan:
        return cls(
            key=d["key"],
            contain=d["contain"],
            keys=tuple(d.get("keys", ())),
            allow=d.get("allow", False),
            **cls.listed(d),
        )


def _deny_all_step(note: str, action: str = "attach managed policy") -> dict[str, Any]:
    return {"action": action, "target": DENY_ALL, "note": note}


# --- containing -----------------------------------------------------------------------------


def open_request(
    ops: Ops,
    key_id: str,
    reason: str,
    *,
    all_keys: bool = False,
    deny_all: bool = False,
    requester: str,
    channel: str,
) -> Request:
    """Containing a leaked key, as a request its requester confirms (unless config asks for
    approvers): refused only when there is nothing left to contain."""
    services = ops.services
    user, _ = owned_key(services, key_id, Operation.CONTAIN)
    found = keys.list_access_keys(services.aws, user)
    others = [k.key_id for k in found if k.key_id != key_id and k.status is KeyStatus.ACTIVE]
    targets = [key_id, *(others if all_keys else ())]
    active = {k.key_id for k in found if k.status is KeyStatus.ACTIVE}
    steps = [
        key_step(Action.DEACTIVATE_ACCESS_KEY, k, "leaked" if k == key_id else "another key")
        for k in targets
        if k in active
    ]
    if deny_all:
        attached = {p.arn for p in policies.list_attached_policies(services.aws, user)}
        if DENY_ALL_ARN not in attached:
            steps.append(_deny_all_step("stops sessions minted from its keys too"))
    if not steps:
        raise UserError(
            f"`{key_id}` of {user} is already inactive"
            f"{' and so are its other keys' if all_keys else ''}"
            f"{f', and {DENY_ALL} is attached' if deny_all else ''}: nothing to contain."
        )
    plan = ContainPlan(key=key_id, keys=tuple(targets), deny_all=deny_all, steps=tuple(steps))
    return ops.ask(Operation.CONTAIN, user, plan, reason, requester=requester, channel=channel)


def execute(ops: Ops, request: Request) -> RunReport:
    """Record what is active, then deactivate those keys and attach ``AWSDenyAll`` (if
    asked and not there yet), each once; then offer the undo, and rotating the key."""
    plan, services, user = ContainPlan.of(request), ops.services, request.target
    steps = [
        Step(ContainStep.CHECK, user, 1),
        *(Step(ContainStep.DEACTIVATE, k, 2) for k in plan.keys),
        *([Step(ContainStep.DENY_ALL, user, 2)] if plan.deny_all else []),
    ]

    def facts() -> dict[str, Any]:
        return services.approvals.get(request.id).outcome

    def do(step: Step) -> None:
        match step.action:
            case ContainStep.CHECK:
                found = keys.list_access_keys(services.aws, user)
                active = [k.key_id for k in found if k.status is KeyStatus.ACTIVE]
                attached = {p.arn for p in policies.list_attached_policies(services.aws, user)}
                before = {
                    WAS_ACTIVE: [k for k in plan.keys if k in active],
                    DENY_ALL_BEFORE: DENY_ALL_ARN in attached,
                }
                services.approvals.note(request.id, **before)
            case ContainStep.DEACTIVATE if step.target in facts()[WAS_ACTIVE]:
                with contextlib.suppress(errors.NotFound):  # deleted since: contained anyway
                    keys.set_access_key_status(services.aws, user, step.target, KeyStatus.INACTIVE)
            case ContainStep.DENY_ALL if not facts()[DENY_ALL_BEFORE]:
                policies.attach_policy(services.aws, user, DENY_ALL_ARN)

    if problem := ops.run_once(request.id, steps, do).problem:
        return RunReport(False, problem)
    incidents.contained(services.store, plan.key, request.requester, request.id, services.clock())
    ref = KeyRef(user, plan.key, request.account)
    buttons = offering(
        offer("Rotate now", FollowUp.ROTATE_NOW, ref, Tone.PRIMARY),
        offer("Undo containment", FollowUp.UNCONTAIN, request.id),
    )
    services.approvals.note(request.id, **buttons)
    return RunReport(True, _contained_words(plan, facts()))


def _contained_words(plan: ContainPlan, facts: dict[str, Any]) -> str:
    """What containment did, as its first step found things."""
    switched = ", ".join(f"`{k}`" for k in facts.get(WAS_ACTIVE, []))
    said = [f"{switched} now inactive" if switched else "its keys were inactive already"]
    if plan.deny_all:
        there = facts.get(DENY_ALL_BEFORE)
        said.append(f"{DENY_ALL} {'was attached already' if there else 'attached'}")
    return f"Contained `{plan.key}`: {'; '.join(said)}."


# --- undoing it -----------------------------------------------------------------------------


def latest_containment(ops: Ops, user: str, key_id: str) -> Request:
    """The newest finished containment of ``key_id`` (of IAM user ``user``) here."""
    here = account_here()
    done = [
        r
        for r in ops.services.approvals.history(user, State.DONE)
        if r.command == Operation.CONTAIN and r.account == here and ContainPlan.of(r).key == key_id
    ]
    if not done:
        raise UserError(f"`{key_id}` has not been contained with `/iam contain`: nothing to undo.")
    return max(done, key=lambda r: r.created)


def open_uncontain(ops: Ops, key_id: str, reason: str, *, requester: str, channel: str) -> Request:
    """`/iam uncontain <key> <reason>`: undo the newest containment of that key."""
    owner = keys.key_owner(ops.services.aws, key_id)
    if owner.foreign or not owner.user_name:
        raise UserError(f"No access key `{key_id}` exists in this account.")
    contained = latest_containment(ops, owner.user_name, key_id)
    return _open_uncontain(ops, contained, reason, requester, channel)


def open_uncontain_of(ops: Ops, contain_id: str, *, requester: str, channel: str) -> Request:
    """Undo containment, pressed on the containment's own message."""
    contained = ops.services.approvals.get(contain_id)
    if contained is None or contained.command != Operation.CONTAIN:
        raise UserError("That containment does not exist (any more).")
    if contained.state is not State.DONE:
        raise UserError("That containment has not finished: there is nothing to undo yet.")
    return _open_uncontain(ops, contained, "", requester, channel)


def _open_uncontain(
    ops: Ops, contained: Request, reason: str, requester: str, channel: str
) -> Request:
    services, user = ops.services, contained.target
    try:
        read = users.get_user(services.aws, user)
    except errors.NotFound:
        raise UserError(f"IAM user `{user}` no longer exists: nothing to undo.") from None
    plan = ContainPlan.of(contained)
    facts = contained.outcome
    reported = {r.key: r for r in reports_about(services, read)}
    switched = [k for k in facts.get(WAS_ACTIVE, []) if k not in reported]
    allow = plan.deny_all and not facts.get(DENY_ALL_BEFORE, False)
    by = f"by {contained.id}"
    steps = [key_step(Action.REACTIVATE_ACCESS_KEY, k, f"contained {by}") for k in switched]
    if allow:
        steps.append(_deny_all_step(f"attached {by}", "detach managed policy"))
    if not steps:
        raise UserError(
            f"Containment `{contained.id}` left nothing to undo that was not reported leaked: "
            "the reported keys stay inactive. Nothing was changed."
        )
    undo = UncontainPlan(
        key=plan.key, contain=contained.id, keys=tuple(switched), allow=allow, steps=tuple(steps)
    )
    kept = [kept_note(reported[key]) for key in facts.get(WAS_ACTIVE, []) if key in reported]
    why = reason or f"undo containment {contained.id}"
    return ops.ask(
        Operation.UNCONTAIN,
        user,
        undo,
        why,
        requester=requester,
        channel=channel,
        notes=kept,
        read=read,
    )


def execute_uncontain(ops: Ops, request: Request) -> RunReport:
    """Reactivate the keys containment deactivated (not one reported leaked since it was
    asked for) and detach ``AWSDenyAll`` if containment attached it."""
    plan, services, user = UncontainPlan.of(request), ops.services, request.target
    try:
        read = users.get_user(services.aws, user)
    except errors.NotFound:
        return RunReport(False, f"IAM user `{user}` no longer exists. Nothing was changed.")
    reported = {r.key: r for r in reports_about(services, read)}
    steps = [
        *(Step(ContainStep.REACTIVATE, k, 1) for k in plan.keys),
        *([Step(ContainStep.ALLOW, user, 1)] if plan.allow else []),
    ]

    def do(step: Step) -> None:
        match step.action:
            case ContainStep.REACTIVATE if step.target in reported:
                ops.note(request.id, kept_note(reported[step.target]))
            case ContainStep.REACTIVATE:
                with contextlib.suppress(errors.NotFound):  # deleted since (rotated): gone
                    keys.set_access_key_status(services.aws, user, step.target, KeyStatus.ACTIVE)
            case ContainStep.ALLOW:
                with contextlib.suppress(errors.NotFound):  # detached since
                    policies.detach_policy(services.aws, user, DENY_ALL_ARN)

    if problem := ops.run_once(request.id, steps, do).problem:
        return RunReport(False, problem)
    back = [k for k in plan.keys if k not in reported]
    said = [f"{', '.join(f'`{k}`' for k in back)} active again"] if back else []
    said += [f"{DENY_ALL} detached"] if plan.allow else []
    return RunReport(True, f"Containment `{plan.contain}` undone: {'; '.join(said) or 'nothing'}.")


DECLARED = (
    Declared(
        Operation.CONTAIN,
        # Reversible and urgent: its requester confirms it. A protected user's key too.
        Gate(("deactivate",), confirms=True, floor=0, target=Target.LEAKED_KEY, same=same_key),
        ContainPlan,
        key_title("Contain", lambda r: KeyPlan.of(r).key),
        execute,
        "contain",
        buttons=(FollowUp.CONTAIN,),
    ),
    Declared(
        Operation.UNCONTAIN,
        # Gives access back: someone else approves, never the key's owner.
        Gate(("deactivate",), confirms=False, floor=1, target=Target.USER, same=same_key),
        UncontainPlan,
        key_title("Undo the containment of", lambda r: KeyPlan.of(r).key),
        execute_uncontain,
        "uncontain",
        buttons=(FollowUp.UNCONTAIN,),
    ),
)
