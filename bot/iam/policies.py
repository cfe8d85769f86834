"""What a user is allowed to do: inline policies, attached managed policies and groups."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

from bot.iam.aws import Aws
from bot.iam.models import Group, InlinePolicy, ManagedPolicy

# AWS's managed policy that lets a user change their own password: a new console user needs it
# to set the password they must reset. The only policy the bot ever attaches.
CHANGE_PASSWORD = "IAMUserChangePassword"
CHANGE_PASSWORD_ARN = f"arn:aws:iam::aws:policy/{CHANGE_PASSWORD}"


def _document(doc: str | dict[str, Any]) -> dict[str, Any]:
    # botocore decodes policy documents; a raw answer is URL-encoded JSON.
    return doc if isinstance(doc, dict) else json.loads(unquote(doc))


def list_inline_policy_names(aws: Aws, user: str) -> list[str]:
    return list(aws.items("iam", "ListUserPolicies", "PolicyNames", UserName=user))


def get_inline_policy(aws: Aws, user: str, name: str) -> InlinePolicy:
    d = aws.call("iam", "GetUserPolicy", UserName=user, PolicyName=name)
    return InlinePolicy(name=d["PolicyName"], document=_document(d["PolicyDocument"]))


def delete_inline_policy(aws: Aws, user: str, name: str) -> None:
    aws.call("iam", "DeleteUserPolicy", UserName=user, PolicyName=name)


def list_attached_policies(aws: Aws, user: str) -> list[ManagedPolicy]:
    items = aws.items("iam", "ListAttachedUserPolicies", "AttachedPolicies", UserName=user)
    return [ManagedPolicy(d["PolicyName"], d["PolicyArn"]) for d in items]


def attach_policy(aws: Aws, user: str, policy_arn: str) -> None:
    aws.call("iam", "AttachUserPolicy", UserName=user, PolicyArn=policy_arn)


def detach_policy(aws: Aws, user: str, policy_arn: str) -> None:
    """Detach only: a managed policy may serve others, so the bot never deletes one."""
    aws.call("iam", "DetachUserPolicy", UserName=user, PolicyArn=policy_arn)


def list_groups_for_user(aws: Aws, user: str) -> list[Group]:
    items = aws.items("iam", "ListGroupsForUser", "Groups", UserName=user)
    return [Group(d["GroupName"], d["Arn"]) for d in items]


def get_group(aws: Aws, name: str) -> Group:
    d = aws.call("iam", "GetGroup", GroupName=name, MaxItems=1)["Group"]
    return Group(d["GroupName"], d["Arn"])


def group_policy_names(aws: Aws, group: str) -> list[str]:
    """The managed policies attached to ``group``, by name: what a membership gives."""
    items = aws.items("iam", "ListAttachedGroupPolicies", "AttachedPolicies", GroupName=group)
    return [d["PolicyName"] for d in items]


def add_user_to_group(aws: Aws, user: str, group: str) -> None:
    aws.call("iam", "AddUserToGroup", UserName=user, GroupName=group)


def remove_user_from_group(aws: Aws, user: str, group: str) -> None:
    """Remove the membership only; the group and its other members stay."""
    aws.call("iam", "RemoveUserFromGroup", UserName=user, GroupName=group)
