"""Deleting an access key: cannot be undone, so it always needs an approver."""

from __future__ import annotations

from bot.access.approvals import Request
from bot.iam.steps import Action, Step
from bot.ops.context import Ops, RunReport
from bot.ops.keys import KeyPlan, key_step, open_key_request
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
    return open_key_request(
        ops,
        Operation.DELETE_KEY,
        user,
        KeyPlan(key=key, steps=(step,), origin=origin),
        requester=requester,
        reason=reason,
        channel=channel,
    )


def execute(ops: Ops, request: Request) -> RunReport:
    key = KeyPlan.of(request).key
    step = Step(Action.DELETE_ACCESS_KEY, key, 1)
    return run_one_step(ops, request, step, f"`{key}` deleted.")
