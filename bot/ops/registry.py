"""Every approval-gated operation, collected from the declaration in its own module.

Every other layer reads an operation from here: the approvals room its gate, the runner its
``execute``, the scheduler its later steps, the chat layer its title, its command's
permission and its buttons'. Adding an operation is a workflow module declaring ``DECLARED``
(see :class:`~bot.ops.declared.Declared`; a tuple when it holds several), its name in
:class:`~bot.ops.operation.Operation`, and the module in :data:`MODULES`. A declaration with a
piece missing fails here, at import.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from types import ModuleType

from bot.access.approvals import Gate
from bot.access.rules import SlackUnavailable
from bot.access.schedule import WAITING, Job
from bot.ops import (
    account_alias,
    contain,
    deactivate,
    delete_key,
    enable,
    enable_identity_center,
    grant,
    offboard,
    offboard_person,
    onboard,
    rotate,
    unquarantine,
)
from bot.ops.context import Ops
from bot.ops.declared import Declared, LaterStep
from bot.ops.followups import FollowUp
from bot.ops.operation import Operation
from bot.ops.plan import Plan

log = logging.getLogger(__name__)

MODULES: tuple[ModuleType, ...] = (
    offboard,
    offboard_person,
    enable,
    enable_identity_center,
    onboard,
    rotate,
    deactivate,
    delete_key,
    account_alias,
    grant,
    contain,
    unquarantine,
)


def _missing(d: Declared) -> list[str]:
    """The pieces of ``d`` that are absent or of the wrong kind."""
    gate = d.gate
    checks = {
        "a name of Operation": isinstance(d.name, Operation),
        "who may ask (gate.permissions)": bool(gate.permissions)
        and all(isinstance(p, str) and p for p in gate.permissions),
        "a floor of 0 or 1 approvers (gate.floor; 0 if its requester confirms)": gate.floor
        in ((0,) if gate.confirms else (0, 1)),
        "what makes two requests the same (gate.same)": callable(gate.same),
        "a plan type (a Plan)": isinstance(d.plan, type) and issubclass(d.plan, Plan),
        "a title": callable(d.title),
        "an executor": callable(d.execute),
        "a way to be asked (asked_by, or buttons)": bool(d.asked_by or d.buttons),
        "callable later steps": all(callable(step) for step in d.later.values()),
        "follow-ups (FollowUp kinds)": all(isinstance(b, FollowUp) for b in d.buttons),
    }
    return [piece for piece, present in checks.items() if not present]


def _listed(names: Iterable[str]) -> str:
    return ", ".join(sorted(str(n) for n in names))


def collect(declarations: Iterable[Declared]) -> Mapping[str, Declared]:
    """The declarations by name; TypeError naming what is missing: a piece of one, an
    operation declared by none or twice, a follow-up kind no operation (or two) declares."""
    by_name: dict[str, Declared] = {}
    for d in declarations:
        if missing := _missing(d):
            raise TypeError(f"operation '{d.name}' lacks {', '.join(missing)}")
        if d.name in by_name:
            raise TypeError(f"operation '{d.name}' is declared twice")
        by_name[d.name] = d
    if undeclared := set(Operation) - set(by_name):
        raise TypeError(f"operations without a declaration: {_listed(undeclared)}")
    claims = [kind for d in by_name.values() for kind in d.buttons]
    if unclaimed := set(FollowUp) - set(claims):
        raise TypeError(f"follow-ups that no operation declares: {_listed(unclaimed)}")
    if twice := {k for k in claims if claims.count(k) > 1}:
        raise TypeError(f"follow-ups declared by two operations: {_listed(twice)}")
    return by_name


def _declarations(module: ModuleType) -> tuple[Declared, ...]:
    """A module's ``DECLARED``: one operation, or a tuple of the operations it holds (a grant
    and its revoke)."""
    declared = getattr(module, "DECLARED", None)
    found = declared if isinstance(declared, tuple) else (declared,)
    if not found or not all(isinstance(d, Declared) for d in found):
        raise TypeError(f"{module.__name__} declares no DECLARED = Declared(...)")
    return found


REGISTRY: Mapping[str, Declared] = collect(d for m in MODULES for d in _declarations(m))
GATES: Mapping[str, Gate] = {name: d.gate for name, d in REGISTRY.items()}
# What pressing each follow-up needs: the permissions of the operation it opens or steers.
BUTTONS: Mapping[FollowUp, tuple[str, ...]] = {
    kind: d.permissions for d in REGISTRY.values() for kind in d.buttons
}


def schedule_all(ops: Ops) -> None:
    """Give the scheduler every operation's later steps, each run where its request acts and
    for whoever asked for it; a step that cannot be signed or checked yet (chat did not say
    the workspace, or who is in a group) waits for the next pass instead of failing."""

    def scoped(step: LaterStep) -> Callable[[Job], str]:
        def run(job: Job) -> str:
            request = ops.services.approvals.get(job.request_id)
            if request is None:
                return step(ops, job)
            try:
                with ops.acting_for(request):
                    return step(ops, job)
            except SlackUnavailable as unanswered:  # the team, or who is in a group
                log.warning("step %s of %s waits for Slack: %s", job.step, job.id, unanswered)
                return WAITING

        return run

    for spec in REGISTRY.values():
        for name, step in spec.later.items():
            ops.scheduler.handlers[name] = scoped(step)
