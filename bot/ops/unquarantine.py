"""Recovering from AWS's quarantine: `/iam unquarantine <user> <reason>` detaches the
compromised-key quarantine policy AWS attached, once the leaked key is gone (approval needed).

The rule, checkable from IAM and the bot's own records: IAM does not say when a managed
policy was attached, so the bot takes the newest moment it knew of a leak of the user's keys
(a containment, a deactivation, or a report of a key already inactive, since the user was
created) and refuses while the user still has a key created before it: such a key may be the
one that leaked. Rotating through the bot deletes the old key and makes one after that
moment, which then allows it. With no such record, every key the user has counts as one
from before (contain or report the leaked key first, or delete it).
"""

from __future__ import annotations

import contextlib
import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.access.approvals import Gate, Request, State, Target, account_here
from bot.iam import errors, keys, policies, users
from bot.iam.models import AccessKey, User
from bot.iam.quarantine import quarantine_version
from bot.iam.steps import Step
from bot.ops.context import Ops, RunReport, Services, UserError
from bot.ops.deactivate import reports_about
from bot.ops.declared import Declared
from bot.ops.followups import FollowUp
from bot.ops.operation import Operation
from bot.ops.plan import Plan

COMMAND = Operation.UNQUARANTINE


class UnquarantineStep(enum.StrEnum):
    """Its one journaled step; a value, then the policy, completes "Could not ..."."""

    DETACH = "detach AWS's quarantine policy"


@dataclass(frozen=True, kw_only=True)
class UnquarantinePlan(Plan):
    """``policies``: the quarantine policies (ARNs) the user carried when it was asked."""

    policies: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"policies": list(self.policies), **super().to_dict()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> UnquarantinePlan:
        return cls(policies=tuple(d["policies"]), **cls.listed(d))


def leak_known(services: Services, user: User) -> datetime | None:
    """The newest moment the bot knew of a leak of ``user``'s keys here: its containments,
    deactivations and reports since the user was created; None when it knows of none."""
    here, name = account_here(), user.name.casefold()
    contained = [
        r.created
        for r in services.approvals.history(user.name, State.DONE)
        if r.command == Operation.CONTAIN
        and r.account == here
        and r.target.casefold() == name
        and r.created >= user.created
    ]
    reported = [r.at for r in reports_about(services, user)]
    return max([*contained, *reported], default=None)


def from_before(services: Services, user: User) -> list[AccessKey]:
    """The keys of ``user`` that may be the one that leaked: created before the leak was
    known (every key, when no leak is known)."""
    known = leak_known(services, user)
    found = keys.list_access_keys(services.aws, user.name)
    # IAM gives a key's creation to the second: one made in the same second as the leak was
    # known cannot be told apart from one made before, so it counts as before.
    return [k for k in found if known is None or k.created <= known]


def _blocked(services: Services, user: User) -> str | None:
    """Why the quarantine must stay: a key that may be the leaked one is still there."""
    if not (left := from_before(services, user)):
        return None
    listed = ", ".join(f"`{k.key_id}`" for k in left)
    return (
        f"{user.name} still has {listed}, created before the leak was known: it may be the "
        "key that leaked. Rotate it (`/iam rotate`) or delete it first."
    )


def _carried(services: Services, user: str) -> list[str]:
    attached = policies.list_attached_policies(services.aws, user)
    return [p.arn for p in attached if quarantine_version(p.arn)]


def open_request(ops: Ops, name: str, reason: str, *, requester: str, channel: str) -> Request:
    """Detaching the quarantine of ``name``, as a request for approval: only when it carries
    one and no key from before the leak is left."""
    services = ops.services
    try:
        user = users.get_user(services.aws, name)
    except errors.NotFound:
        raise UserError(f"No IAM user named `{name}`.") from None
    carried = _carried(services, user.name)
    if not carried:
        raise UserError(f"{user.name} carries no AWS quarantine policy: nothing to detach.")
    if why := _blocked(services, user):
        raise UserError(f"{why} Nothing was changed.")
    steps = tuple(
        {"action": "detach managed policy", "target": arn.rpartition("/")[2], "note": "AWS's"}
        for arn in carried
    )
    plan = UnquarantinePlan(policies=tuple(carried), steps=steps)
    return ops.ask(
        COMMAND, user.name, plan, reason, requester=requester, channel=channel, read=user
    )


def execute(ops: Ops, request: Request) -> RunReport:
    """Check the rule again (a leak may have been reported since), then detach each."""
    services, name = ops.services, request.target
    try:
        user = users.get_user(services.aws, name)
    except errors.NotFound:
        return RunReport(False, f"IAM user `{name}` no longer exists. Nothing was changed.")
    if why := _blocked(services, user):
        return RunReport(False, f"{why} Nothing was changed.")
    plan = UnquarantinePlan.of(request)

    def do(step: Step) -> None:
        with contextlib.suppress(errors.NotFound):  # detached since
            policies.detach_policy(services.aws, name, step.target)

    steps = [Step(UnquarantineStep.DETACH, arn, 1) for arn in plan.policies]
    if problem := ops.run_once(request.id, steps, do).problem:
        return RunReport(False, problem)
    gone = ", ".join(arn.rpartition("/")[2] for arn in plan.policies)
    return RunReport(True, f"{gone} detached from {name}: AWS's quarantine is over.")


DECLARED = Declared(
    COMMAND,
    # Gives access back: someone else approves, never the user's owner; not a protected user.
    Gate(("deactivate",), confirms=False, floor=1, target=Target.USER),
    UnquarantinePlan,
    lambda r: f"Detach AWS's quarantine policy from IAM user {r.target}",
    execute,
    "unquarantine",
    buttons=(FollowUp.UNQUARANTINE,),
)
