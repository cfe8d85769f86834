"""Deleting an access key: cannot be undone, so it always needs an approver."""

from __future__ import annotations

from bot.access.approvals import Request
from bot.iam.inventory import Action
from bot.ops.context import Ops, RunReport
from bot.ops.keys import open_key_request, run_one_step
from bot.ops.operation import Operation

_STEP = {"action": Action.DELETE_ACCESS_KEY.value, "note": "cannot be undone"}


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
    return open_key_request(
        ops,
        Operation.DELETE_KEY,
        user,
        key,
        requester=requester,
        reason=reason,
        channel=channel,
        steps=[
            {"action": Action.DELETE_ACCESS_KEY.value, "target": key, "note": "cannot be undone"}
        ],
        origin=origin,
    )


def execute(ops: Ops, request: Request) -> RunReport:
    return run_one_step(ops, request, Action.DELETE_ACCESS_KEY, f"`{request.plan['key']}` deleted.")
