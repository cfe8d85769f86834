"""IAM users: read (one, or all with tags), create, tag and untag, delete, drop a permissions
boundary."""

from __future__ import annotations

from typing import Any

from bot.iam.aws import Aws
from bot.iam.models import User


def _tags(items: list[dict[str, str]] | None) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in items or []}


def _user(d: dict[str, Any]) -> User:
    boundary = d.get("PermissionsBoundary") or {}
    return User(
        name=d["UserName"],
        user_id=d["UserId"],
        arn=d["Arn"],
        created=d["CreateDate"],
        path=d.get("Path", "/"),
        password_last_used=d.get("PasswordLastUsed"),
        boundary_arn=boundary.get("PermissionsBoundaryArn"),
        tags=_tags(d.get("Tags")),
    )


def users_with_tags(aws: Aws) -> list[User]:
    """Every user with its tags in one paged call, instead of a ListUserTags per user."""
    details = aws.items("iam", "GetAccountAuthorizationDetails", "UserDetailList", Filter=["User"])
    return [_user(d) for d in details]


def get_user(aws: Aws, name: str) -> User:
    return _user(aws.call("iam", "GetUser", UserName=name)["User"])


def create_user(aws: Aws, name: str, tags: dict[str, str] | None = None) -> User:
    params: dict[str, Any] = {"UserName": name}
    if tags:
        params["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
    return _user(aws.call("iam", "CreateUser", **params)["User"])


def delete_user(aws: Aws, name: str) -> None:
    aws.call("iam", "DeleteUser", UserName=name)


def tag_user(aws: Aws, name: str, tags: dict[str, str]) -> None:
    aws.call(
        "iam", "TagUser", UserName=name, Tags=[{"Key": k, "Value": v} for k, v in tags.items()]
    )


def untag_user(aws: Aws, name: str, keys: list[str]) -> None:
    aws.call("iam", "UntagUser", UserName=name, TagKeys=keys)


def delete_permissions_boundary(aws: Aws, name: str) -> None:
    aws.call("iam", "DeleteUserPermissionsBoundary", UserName=name)
