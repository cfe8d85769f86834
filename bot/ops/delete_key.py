"""Deleting an access key: cannot be undone, so it always needs an approver."""

from __future__ import annotations

from bot.access.approvals import Gate, Request, Target
from bot.iam.steps import Action, Step
from bot.ops.context import Ops, RunReport
from bot.ops.declared import Declared, same_key
from bot.ops.followups import FollowUp
from bot.ops.keys import KeyPlan, key_step, key_title
from bot.ops.one_step import run_one_step
from bot.ops.operation import Operation


def open_request(
    ops: Ops,
    user: str,
    key: str,
    *,
    requester: str,
    reason: str,
    channel: str,
    origin: str = "",
) -> Request:
    """``origin``: the request asking for it, if any (see :class:`~bot.ops.keys.KeyPlan`)."""
    step = key_step(Action.DELETE_ACCESS_KEY, key, "cannot be undone")
    plan = KeyPlan(key=key, steps=(step,), origin=origin)
    return ops.ask(Operation.DELETE_KEY, user, plan, reason, requester=requester, channel=channel)


def execute(ops: Ops, request: Request) -> RunReport:
    key = KeyPlan.of(request).key
    step = Step(Action.DELETE_ACCESS_KEY, key, 1)
    return run_one_step(ops, request, step, f"`{key}` deleted.")


DECLARED = Declared(
    Operation.DELETE_KEY,
    # Asked by whoever may take a key out of use, or by a rotation, which ends by deleting
    # the old key: its Delete button needs the same.
    Gate(("deactivate", "rotate"), confirms=False, floor=1, target=Target.USER, same=same_key),
    KeyPlan,
    key_title("Delete", lambda r: KeyPlan.of(r).key),
    execute,
    "",
    buttons=(FollowUp.DELETE_KEY,),
)
