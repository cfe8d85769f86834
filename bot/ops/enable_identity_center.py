"""Undoing the Identity Center part of a person-wide disable (`/iam enable @person`): the
direct assignments and group memberships its snapshot holds are given back, approval-gated,
in the instance's account. The person is read again first: what they have again already
(given back by hand) is not given twice. The disable kept the user, so it is still there.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from bot.access.approvals import Gate, Request, Target
from bot.iam import identity_center as ic
from bot.iam.sessions import Actor
from bot.ops import identity_center, offboard
from bot.ops.context import Ops, RunReport, UserError
from bot.ops.declared import Declared
from bot.ops.identity_center import IcPart
from bot.ops.operation import Operation
from bot.ops.plan import Plan

COMMAND = Operation.ENABLE_IDENTITY_CENTER


@dataclass(frozen=True, kw_only=True)
class EnableCenterPlan(Plan):
    disable_id: str  # the person-wide disable it undoes
    identity_center: dict[str, Any]  # the IcPart to give back, as the disable's snapshot holds it

    def to_dict(self) -> dict[str, Any]:
        listed = {"disable": self.disable_id, "identity_center": self.identity_center}
        return {**listed, **super().to_dict()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EnableCenterPlan:
        return cls(disable_id=d["disable"], identity_center=d["identity_center"], **cls.listed(d))

    def part(self) -> IcPart:
        return IcPart.from_dict(self.identity_center)


def open_request(
    ops: Ops,
    person: str,
    disable: Request,
    part: IcPart,
    reason: str,
    *,
    requester: str,
    channel: str,
) -> Request:
    """A request to give back what ``disable`` took from the person in Identity Center: what
    its snapshot of ``part`` holds (a provisioned user kept their groups: only assignments)."""
    services = ops.services
    held = identity_center.snapshot_of(services, disable, part)
    if held.provisioned:
        held = replace(held, person=replace(held.person, groups=()))
    steps = [step for step, _ in identity_center.restoring(services, held)]
    if not steps:
        raise UserError("The disable removed nothing in Identity Center: nothing to give back.")
    plan = EnableCenterPlan(
        disable_id=disable.id,
        identity_center=held.to_dict(),
        steps=identity_center.step_dicts(held, steps),
    )
    with services.acting(held.account, Actor(requester, services.team())):
        return ops.ask(
            COMMAND, person, plan, reason, requester=requester, channel=channel, subjects=(person,)
        )


def title(request: Request) -> str:
    return f"Enable Identity Center user {EnableCenterPlan.of(request).part().person.user_name}"


def execute(ops: Ops, request: Request) -> RunReport:
    """The person read again, then each assignment and membership given back, journaled."""
    services = ops.services
    plan = EnableCenterPlan.of(request)
    part = plan.part()
    person = part.person
    with identity_center.acting(services, identity_center.actor_of(ops, request)):
        now = ic.read(services.aws, part.region, person.instance, person.user_id)
        if now is None:
            return RunReport(False, f"Identity Center has no user {person.user_name} any more.")
        changes = {
            step.id: change for step, change in identity_center.restoring(services, part, now)
        }

        def do(step: Any) -> str:
            changes[step.id]()
            return "done"

        steps = [identity_center.from_dict(s) for s in plan.steps]
        result = offboard.run_plan(ops, request, steps, do)
    return offboard.run_report(result, f"{person.user_name}'s Identity Center access given back")


DECLARED = Declared(
    COMMAND,
    # Its target is a person: what it gives back is what their disable took.
    Gate(("offboard",), confirms=False, floor=1, target=Target.NONE),
    EnableCenterPlan,
    title,
    execute,
    "enable",  # `/iam enable @person`, with the person's IAM users' enables
)
