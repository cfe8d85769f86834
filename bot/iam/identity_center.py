"""A person in IAM Identity Center: their user in the identity store, the permission sets
assigned to them in each account, and the groups through which more come.

Offboarding a person from their IAM users leaves every permission set Identity Center gives
them, so the person-wide offboarding reads this too. Everything here is a read or one change,
through the gateway, in the current scope (the instance's account, for the person who asked);
the instance is the one configured, else the one ``ListInstances`` finds. A group's
assignments are shared with its other members: only the membership is the person's to lose.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from bot.iam import errors
from bot.iam.aws import Aws

_DURATION = re.compile(r"PT(?:(\d+)H)?(?:(\d+)M)?")
DEFAULT_SESSION = "PT1H"  # a permission set's session duration when none was set
# Waits between asks of an assignment creation's or deletion's status: about a minute in all.
POLL_DELAYS = (0.2, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0)


class AssignmentFailed(errors.IamError):
    """Identity Center said FAILED (or never finished) for an assignment's creation or
    deletion: the step fails with what it said, as any refusal of IAM's does."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="AssignmentFailed")


@dataclass(frozen=True)
class Instance:
    arn: str
    store_id: str


@dataclass(frozen=True)
class Assignment:
    """A permission set in an account, given to a user or a group."""

    account: str
    permission_set_arn: str
    permission_set: str  # its name
    session: str = DEFAULT_SESSION  # ISO 8601, as DescribePermissionSet gives it

    @property
    def session_minutes(self) -> int:
        return duration_minutes(self.session)


@dataclass(frozen=True)
class Membership:
    """The person in one group, and what the group is assigned (which stays, for the others)."""

    group_id: str
    group: str  # its display name
    membership_id: str
    assignments: tuple[Assignment, ...] = ()


@dataclass(frozen=True)
class Person:
    """What Identity Center gives a person, read at one time."""

    instance: Instance
    user_id: str
    user_name: str
    provisioned: bool  # by an identity provider (SCIM): ExternalIds present
    direct: tuple[Assignment, ...] = ()
    groups: tuple[Membership, ...] = ()

    @property
    def longest_session_minutes(self) -> int:
        every = [*self.direct, *(a for m in self.groups for a in m.assignments)]
        return max((a.session_minutes for a in every), default=0)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Person:
        return cls(
            instance=Instance(**d["instance"]),
            user_id=d["user_id"],
            user_name=d["user_name"],
            provisioned=d["provisioned"],
            direct=tuple(Assignment(**a) for a in d["direct"]),
            groups=tuple(
                Membership(**{**m, "assignments": tuple(Assignment(**a) for a in m["assignments"])})
                for m in d["groups"]
            ),
        )


def duration_minutes(iso: str) -> int:
    """``PT8H``, ``PT90M``, ``PT1H30M`` in minutes (what permission sets use: 1 to 12 hours)."""
    match = _DURATION.fullmatch(iso or DEFAULT_SESSION)
    if match is None:
        return 0
    hours, minutes = match.groups()
    return int(hours or 0) * 60 + int(minutes or 0)


def instance(aws: Aws, region: str, arn: str | None, store_id: str | None) -> Instance:
    """The instance configured, or the first ``ListInstances`` gives (an organization has one)."""
    if arn and store_id:
        return Instance(arn, store_id)
    for found in aws.items("sso-admin", "ListInstances", "Instances", region=region):
        if arn in (None, found["InstanceArn"]):
            return Instance(found["InstanceArn"], found["IdentityStoreId"])
    raise errors.NotFound("No IAM Identity Center instance", code="NoInstance")


def find(aws: Aws, region: str, where: Instance, email: str) -> Person | None:
    """The identity store's user with ``email``, and everything assigned to them; None: no
    such user."""
    user_id = _user_id(aws, region, where, email)
    return None if user_id is None else read(aws, region, where, user_id)


def read(aws: Aws, region: str, where: Instance, user_id: str) -> Person | None:
    """The user with ``user_id`` and everything assigned to them; None: no such user."""
    try:
        user = aws.call(
            "identitystore",
            "DescribeUser",
            region=region,
            IdentityStoreId=where.store_id,
            UserId=user_id,
        )
    except errors.NotFound:
        return None
    names: dict[str, Assignment] = {}
    direct = _assignments(aws, region, where, user_id, "USER", names)
    groups = tuple(
        Membership(
            m["GroupId"],
            _group_name(aws, region, where, m["GroupId"]),
            m["MembershipId"],
            _assignments(aws, region, where, m["GroupId"], "GROUP", names),
        )
        for m in aws.items(
            "identitystore",
            "ListGroupMembershipsForMember",
            "GroupMemberships",
            region=region,
            IdentityStoreId=where.store_id,
            MemberId={"UserId": user_id},
        )
    )
    name = str(user.get("UserName") or user_id)
    return Person(where, user_id, name, bool(user.get("ExternalIds")), direct, groups)


def _user_id(aws: Aws, region: str, where: Instance, email: str) -> str | None:
    try:
        found = aws.call(
            "identitystore",
            "GetUserId",
            region=region,
            IdentityStoreId=where.store_id,
            AlternateIdentifier={
                "UniqueAttribute": {"AttributePath": "emails.value", "AttributeValue": email}
            },
        )
    except errors.NotFound:
        return None
    return str(found["UserId"])


def _group_name(aws: Aws, region: str, where: Instance, group_id: str) -> str:
    group = aws.call(
        "identitystore",
        "DescribeGroup",
        region=region,
        IdentityStoreId=where.store_id,
        GroupId=group_id,
    )
    return str(group.get("DisplayName") or group_id)


def _assignments(
    aws: Aws, region: str, where: Instance, principal: str, kind: str, named: dict[str, Assignment]
) -> tuple[Assignment, ...]:
    """The principal's own assignments (a user's list also holds those through its groups:
    those are the groups')."""
    return tuple(
        _named(aws, region, where, a["AccountId"], a["PermissionSetArn"], named)
        for a in aws.items(
            "sso-admin",
            "ListAccountAssignmentsForPrincipal",
            "AccountAssignments",
            region=region,
            InstanceArn=where.arn,
            PrincipalId=principal,
            PrincipalType=kind,
        )
        if a.get("PrincipalType", kind) == kind and a.get("PrincipalId", principal) == principal
    )


def _named(
    aws: Aws, region: str, where: Instance, account: str, arn: str, named: dict[str, Assignment]
) -> Assignment:
    """The assignment with its permission set's name and session duration, each set read once."""
    if arn not in named:
        found = aws.call(
            "sso-admin",
            "DescribePermissionSet",
            region=region,
            InstanceArn=where.arn,
            PermissionSetArn=arn,
        )["PermissionSet"]
        named[arn] = Assignment(
            "", arn, found.get("Name", arn), found.get("SessionDuration") or DEFAULT_SESSION
        )
    known = named[arn]
    return Assignment(account, arn, known.permission_set, known.session)


# --- changes ---------------------------------------------------------------------------------


def _assignment(where: Instance, user_id: str, assignment: Assignment) -> dict[str, str]:
    """What names one user's assignment to IAM Identity Center, for deleting or creating it."""
    return {
        "InstanceArn": where.arn,
        "TargetId": assignment.account,
        "TargetType": "AWS_ACCOUNT",
        "PermissionSetArn": assignment.permission_set_arn,
        "PrincipalType": "USER",
        "PrincipalId": user_id,
    }


def delete_assignment(
    aws: Aws,
    region: str,
    where: Instance,
    user_id: str,
    assignment: Assignment,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Remove a user's assignment, and wait until Identity Center says it is gone."""
    started = aws.call(
        "sso-admin",
        "DeleteAccountAssignment",
        region=region,
        **_assignment(where, user_id, assignment),
    )["AccountAssignmentDeletionStatus"]
    _ended(
        started,
        lambda: aws.call(
            "sso-admin",
            "DescribeAccountAssignmentDeletionStatus",
            region=region,
            InstanceArn=where.arn,
            AccountAssignmentDeletionRequestId=started["RequestId"],
        )["AccountAssignmentDeletionStatus"],
        sleep,
    )


def create_assignment(
    aws: Aws,
    region: str,
    where: Instance,
    user_id: str,
    assignment: Assignment,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Give a user an assignment back, and wait until Identity Center says it is there."""
    started = aws.call(
        "sso-admin",
        "CreateAccountAssignment",
        region=region,
        **_assignment(where, user_id, assignment),
    )["AccountAssignmentCreationStatus"]
    _ended(
        started,
        lambda: aws.call(
            "sso-admin",
            "DescribeAccountAssignmentCreationStatus",
            region=region,
            InstanceArn=where.arn,
            AccountAssignmentCreationRequestId=started["RequestId"],
        )["AccountAssignmentCreationStatus"],
        sleep,
    )


def _ended(
    status: dict[str, Any],
    ask: Callable[[], dict[str, Any]],
    sleep: Callable[[float], None],
) -> None:
    """Wait, bounded, for an assignment's creation or deletion, which its call only starts:
    ``status`` is what the call answered, ``ask`` asks it again. :class:`AssignmentFailed`
    unless it ends SUCCEEDED."""
    for delay in POLL_DELAYS:
        if status.get("Status") != "IN_PROGRESS":
            break
        sleep(delay)
        status = ask()
    if status.get("Status") != "SUCCEEDED":
        reason = status.get("FailureReason") or "it did not finish in time"
        raise AssignmentFailed(f"{status.get('Status', 'UNKNOWN')}: {reason}")


def delete_membership(aws: Aws, region: str, where: Instance, membership_id: str) -> None:
    aws.call(
        "identitystore",
        "DeleteGroupMembership",
        region=region,
        IdentityStoreId=where.store_id,
        MembershipId=membership_id,
    )


def create_membership(aws: Aws, region: str, where: Instance, user_id: str, group_id: str) -> None:
    aws.call(
        "identitystore",
        "CreateGroupMembership",
        region=region,
        IdentityStoreId=where.store_id,
        GroupId=group_id,
        MemberId={"UserId": user_id},
    )


def delete_user(aws: Aws, region: str, where: Instance, user_id: str) -> None:
    aws.call(
        "identitystore", "DeleteUser", region=region, IdentityStoreId=where.store_id, UserId=user_id
    )
