"""Whose access a finished request changed: who to tell about it.

The owner of an IAM user is whoever the identity rule links to it: the chat user in its identity
tag, or else the person whose chat profile has the e-mail in its e-mail tag (the chat layer looks
that up). The tags are read in the request's account; an offboarding may have deleted the user,
so its snapshot, saved before the first change, is read instead. A person's offboarding names
the person.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.access.approvals import Request
from bot.iam import errors, users
from bot.ops.context import Ops
from bot.ops.offboard import saved_snapshot
from bot.ops.operation import Operation


@dataclass(frozen=True)
class Owner:
    chat_user: str | None = None  # linked by the identity tag (or the person offboarded)
    email: str | None = None  # linked by the e-mail tag only


def owner_of(ops: Ops, request: Request) -> Owner:
    """Who owns the IAM user ``request`` changed; nobody (both None) when nobody is linked."""
    if request.command == Operation.OFFBOARD_PERSON:
        return Owner(chat_user=request.target)
    identity = ops.services.config.identity
    tags = _tags(ops, request)
    return Owner(tags.get(identity.tag), tags.get(identity.email_tag))


def _tags(ops: Ops, request: Request) -> dict[str, str]:
    if snapshot := saved_snapshot(ops.services, request.id):
        return snapshot.user.tags
    with ops.acting_for(request):
        try:
            return users.get_user(ops.services.aws, request.target).tags
        except errors.NotFound:
            return {}
