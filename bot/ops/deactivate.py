"""Deactivating a key: the fast path for a leaked key.

Deactivation is reversible and speed matters, so by default only the requester confirms. Once
done, the message offers to rotate the user's key now or to delete the leaked one (that
deletion is approval-gated like any other).
"""

from __future__ import annotations

from bot.access.approvals import Request
from bot.iam.inventory import Action
from bot.ops.context import Ops, RunReport, UserError
from bot.ops.followups import FollowUp, KeyRef, offer
from bot.ops.keys import KeyPlan, key_step, open_key_request, owned_key, run_one_step
from bot.ops.operation import Operation
from bot.ops.outcome import offering

COMMAND = Operation.DEACTIVATE


def open_request(ops: Ops, key_id: str, reason: str, *, requester: str, channel: str) -> Request:
    """Deactivating a (leaked) key, as a request its requester confirms."""
    user, key = owned_key(ops.services, key_id)
    if key.status.value == "Inactive":
        raise UserError(f"`{key_id}` of {user} is already inactive.")
    step = key_step(Action.DEACTIVATE_ACCESS_KEY, key_id, "reversible")
    return open_key_request(
        ops,
        COMMAND,
        user,
        KeyPlan(key=key_id, steps=(step,)),
        requester=requester,
        reason=reason,
        channel=channel,
    )


def execute(ops: Ops, request: Request) -> RunReport:
    key = KeyPlan.of(request).key
    report = run_one_step(ops, request, Action.DEACTIVATE_ACCESS_KEY, f"`{key}` is now inactive.")
    if report.ok:
        ref = KeyRef(request.target, key, request.account)
        buttons = offering(
            offer("Rotate now", FollowUp.ROTATE_NOW, ref, "primary"),
            offer("Delete key", FollowUp.DELETE_KEY, ref, "danger"),
        )
        ops.services.approvals.note(request.id, **buttons)
    return report
