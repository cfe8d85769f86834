"""Enabling a person: undo a person-wide disable (`/iam offboard @person <reason> --disable`)
in every account it disabled a user in.

Each account's part of that disable is, in its account, a disable of one IAM user
(:func:`bot.ops.offboard_person.as_single`), so each is undone by the single-user enable of
that user in that account: one request per account, each with its own plan and approval, about
the person (who never decides them). What the disable took in IAM Identity Center is given
back by one more request (:mod:`bot.ops.enable_identity_center`). The requester needs
`offboard` in every one of those accounts, or nothing is asked.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.access.approvals import AlreadyOpen, Request
from bot.access.rules import Denied
from bot.iam import errors
from bot.iam.sessions import Actor
from bot.ops import enable, enable_identity_center, offboard_person
from bot.ops.context import Ops, UserError


@dataclass(frozen=True)
class Opened:
    """The enable requests opened, and why the other accounts got none (account, why)."""

    requests: tuple[Request, ...]
    skipped: tuple[tuple[str, str], ...]


def has_disable(ops: Ops, person: str) -> bool:
    """Whether a person-wide disable of ``person`` has finished (else ``/iam enable @person``
    means the one IAM user the identity rule links in the account asked)."""
    return offboard_person.latest_disable(ops.services, person) is not None


def open_requests(ops: Ops, person: str, reason: str, *, requester: str, channel: str) -> Opened:
    """An enable request in every account where the newest person-wide disable of ``person``
    disabled a user, as far as there is something to enable there."""
    services = ops.services
    disable = offboard_person.latest_disable(services, person)
    if disable is None:
        raise UserError("No person-wide disable has finished: there is nothing to enable.")
    plan = offboard_person.PersonPlan.of(disable)
    parts, center = plan.parts(), plan.center()
    offboard_person.require_everywhere(services, parts, requester, center)
    actor = Actor(requester, services.team())
    opened: list[Request] = []
    skipped: list[tuple[str, str]] = []
    for part in parts:
        with services.acting(part.account, actor):
            try:
                opened.append(
                    enable.open_request(
                        ops,
                        part.user,
                        reason,
                        requester=requester,
                        channel=channel,
                        subjects=(person,),
                    )
                )
            except (UserError, AlreadyOpen, Denied, errors.IamError) as why:  # that account only
                skipped.append((part.label, str(why)))
    if center is not None:
        try:
            opened.append(
                enable_identity_center.open_request(
                    ops, person, disable, center, reason, requester=requester, channel=channel
                )
            )
        except (UserError, AlreadyOpen, Denied, errors.IamError) as why:
            skipped.append((f"IAM Identity Center in {center.label}", str(why)))
    if not opened:
        raise UserError(
            "Nothing was asked: " + "; ".join(f"in {where}, {why}" for where, why in skipped)
        )
    return Opened(tuple(opened), tuple(skipped))
