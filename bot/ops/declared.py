"""An approval-gated operation as one unit: everything the rest of the bot needs to know of it,
declared once, beside its code, in its own workflow module (as Cloud Custodian's actions
declare their permissions).

Each workflow module declares ``DECLARED = Declared(...)``; :mod:`bot.ops.registry` collects
them and refuses, at import, a declaration with a piece missing. Everything else reads them:
the approvals room its :class:`~bot.access.approvals.Gate`, the runner its ``execute``, the
scheduler its ``later`` steps, the chat layer its title, its command's permission and the
permission of its buttons.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from bot.access.approvals import Gate, Request
from bot.access.schedule import Job
from bot.ops.context import Ops, RunReport
from bot.ops.followups import FollowUp
from bot.ops.operation import Operation
from bot.ops.plan import Plan

Execute = Callable[[Ops, Request], RunReport | None]
LaterStep = Callable[[Ops, Job], str]  # returns the job's next state: done | held | failed


def same_key(plan: Mapping[str, object]) -> str:
    """Two requests on one user's keys are the same when they name the same key."""
    return str(plan.get("key") or "")


@dataclass(frozen=True)
class Declared:
    """One operation. ``gate``: who may ask, who must agree, on what (see
    :class:`~bot.access.approvals.Gate`); ``plan``: its plan's type; ``title``: how a request
    is named; ``execute``: runs an approved request (None: it re-opened it for approval);
    ``asked_by``: the `/iam` subcommand that asks for it ("": only its buttons, or another
    operation, do); ``later``: its scheduled steps, by name; ``buttons``: the follow-ups that
    open or steer it, which need its ``gate.permissions``; ``across_accounts``: its plan acts
    in several accounts, each step naming its own (the request's ``account`` is only where it
    was asked)."""

    name: Operation
    gate: Gate
    plan: type[Plan]
    title: Callable[[Request], str]
    execute: Execute
    asked_by: str
    later: Mapping[str, LaterStep] = field(default_factory=dict)
    buttons: tuple[FollowUp, ...] = ()
    across_accounts: bool = False

    @property
    def permissions(self) -> tuple[str, ...]:
        """Who may ask for it: any one of these."""
        return self.gate.permissions
