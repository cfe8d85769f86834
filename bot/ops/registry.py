"""The one table of approval-gated operations: how each is titled, runs, and what it does later.

Every other layer reads an operation from here: the runner its ``execute``, the scheduler its
later steps, the chat layer its title. Adding an operation is a workflow module and one entry.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from bot.access.approvals import Request
from bot.access.rules import SlackUnavailable
from bot.access.schedule import WAITING, Job
from bot.ops import (
    account_alias,
    deactivate,
    delete_key,
    enable,
    grant,
    offboard,
    offboard_person,
    onboard,
    rotate,
)
from bot.ops.context import Ops, RunReport
from bot.ops.keys import ORPHAN, KeyPlan, delete_orphan
from bot.ops.operation import Operation

log = logging.getLogger(__name__)

Execute = Callable[[Ops, Request], RunReport | None]
LaterStep = Callable[[Ops, Job], str]  # returns the job's next state: done | held | failed


@dataclass(frozen=True)
class Spec:
    operation: Operation
    title: Callable[[Request], str]
    execute: Execute
    later: Mapping[str, LaterStep] = field(default_factory=dict)  # scheduled steps, by name


def _alias_title(request: Request) -> str:
    if account_alias.AliasPlan.of(request).change is account_alias.AliasChange.SET:
        return f"Set the account alias to {request.target}"
    return f"Delete the account alias {request.target}"


def _key_title(verb: str, plan: type[KeyPlan | rotate.RotatePlan]) -> Callable[[Request], str]:
    return lambda r: f"{verb} the access key {plan.of(r).key} of {r.target}"


REGISTRY: Mapping[str, Spec] = {
    spec.operation: spec
    for spec in (
        Spec(
            Operation.OFFBOARD,
            lambda r: f"{'Disable' if offboard.is_disable(r) else 'Offboard'} IAM user {r.target}",
            offboard.execute,
        ),
        Spec(Operation.OFFBOARD_PERSON, offboard_person.title, offboard_person.execute),
        Spec(Operation.ENABLE, lambda r: f"Enable IAM user {r.target}", enable.execute),
        Spec(
            Operation.ONBOARD,
            lambda r: f"Onboard {r.target}",
            onboard.execute,
            {ORPHAN: delete_orphan},
        ),
        Spec(
            Operation.ROTATE,
            _key_title("Rotate", rotate.RotatePlan),
            rotate.execute,
            {
                rotate.RETIRE: rotate.retire_old_key,
                rotate.DELETE: rotate.delete_old_key,
                ORPHAN: delete_orphan,
            },
        ),
        Spec(Operation.DEACTIVATE, _key_title("Deactivate", KeyPlan), deactivate.execute),
        Spec(Operation.DELETE_KEY, _key_title("Delete", KeyPlan), delete_key.execute),
        Spec(Operation.ACCOUNT_ALIAS, _alias_title, account_alias.execute),
        Spec(Operation.GRANT, grant.title, grant.execute, {grant.EXPIRE: grant.expire}),
        Spec(Operation.REVOKE, grant.revoke_title, grant.execute_revoke),
    )
}
assert set(REGISTRY) == set(Operation), "every operation has exactly one entry"


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
