"""Whose access a finished request changed: the chat user to tell about it.

The IAM user's owner is the chat user linked to it by the identity rule, read in the request's
account. An offboarding may have deleted the user: the snapshot it saved before its first change
still has the user's tags. A person's offboarding names the person itself.
"""

from __future__ import annotations

from bot.access.approvals import Request
from bot.ops.context import Ops
from bot.ops.offboard import saved_snapshot
from bot.ops.operation import Operation


def owner_of(ops: Ops, request: Request) -> str | None:
    """The chat user whose IAM user ``request`` changed; None when nobody is linked to it."""
    if request.command == Operation.OFFBOARD_PERSON:
        return request.target
    services = ops.services
    if snapshot := saved_snapshot(services, request.id):
        return snapshot.user.tags.get(services.config.identity.tag)
    with ops.acting_for(request):
        return services.identity.slack_user_for(request.target)
