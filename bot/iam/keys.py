"""Access keys: list with last use, create, activate/deactivate, delete, and who owns a key ID."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from bot.iam import errors
from bot.iam.aws import Aws
from bot.iam.models import (
    AccessKey,
    CallerIdentity,
    KeyOwner,
    KeyStatus,
    LastUsed,
    NewAccessKey,
    Secret,
)


def _key(d: dict[str, Any], last_used: LastUsed | None = None) -> AccessKey:
    return AccessKey(
        key_id=d["AccessKeyId"],
        user_name=d["UserName"],
        status=KeyStatus(d["Status"]),
        created=d["CreateDate"],
        last_used=last_used,
    )


def _last_used(d: dict[str, Any]) -> LastUsed:
    # IAM answers "N/A" for service and region of a key never used since tracking began.
    def known(value: str | None) -> str | None:
        return None if value in (None, "N/A") else value

    return LastUsed(
        when=d.get("LastUsedDate"),
        service=known(d.get("ServiceName")),
        region=known(d.get("Region")),
    )


def list_access_keys(aws: Aws, user: str) -> list[AccessKey]:
    return [_key(d) for d in aws.items("iam", "ListAccessKeys", "AccessKeyMetadata", UserName=user)]


def last_used(aws: Aws, key_id: str) -> tuple[str, LastUsed]:
    """The owning user and last use of a key of this account."""
    answer = aws.call("iam", "GetAccessKeyLastUsed", AccessKeyId=key_id)
    return answer["UserName"], _last_used(answer.get("AccessKeyLastUsed", {}))


def access_keys_with_last_use(aws: Aws, user: str) -> list[AccessKey]:
    """A user's keys with last use, asking for each key's last use concurrently."""
    return aws.map(lambda key: with_last_use(aws, key), list_access_keys(aws, user))


def with_last_use(aws: Aws, key: AccessKey) -> AccessKey:
    return replace(key, last_used=last_used(aws, key.key_id)[1])


def create_access_key(aws: Aws, user: str) -> NewAccessKey:
    d = aws.call("iam", "CreateAccessKey", UserName=user)["AccessKey"]
    return NewAccessKey(
        key_id=d["AccessKeyId"],
        user_name=d["UserName"],
        created=d["CreateDate"],
        secret=Secret(d["SecretAccessKey"]),
    )


def set_access_key_status(aws: Aws, user: str, key_id: str, status: KeyStatus) -> None:
    aws.call("iam", "UpdateAccessKey", UserName=user, AccessKeyId=key_id, Status=status.value)


def delete_access_key(aws: Aws, user: str, key_id: str) -> None:
    aws.call("iam", "DeleteAccessKey", UserName=user, AccessKeyId=key_id)


def caller_identity(aws: Aws) -> CallerIdentity:
    """The identity the bot's credentials resolve to: what startup checks before serving
    (no credentials fail here, not at a user's first command), and the account keys belong to."""
    answer = aws.call("sts", "GetCallerIdentity")
    return CallerIdentity(arn=answer["Arn"], account=answer["Account"])


def own_account(aws: Aws) -> str:
    return caller_identity(aws).account


def key_account(aws: Aws, key_id: str) -> str:
    """The account an access key belongs to, whichever it is (STS decodes it from the ID)."""
    return str(aws.call("sts", "GetAccessKeyInfo", AccessKeyId=key_id)["Account"])


def key_owner(aws: Aws, key_id: str) -> KeyOwner:
    """Name the user behind a key ID, or the other account it belongs to.

    GetAccessKeyLastUsed names the owner of any key in this account. For anything else STS's
    GetAccessKeyInfo names the owning account, so a leaked key of another account is reported
    as such instead of as an error.
    """
    try:
        user, use = last_used(aws, key_id)
    except (errors.NotFound, errors.AccessDenied) as exc:
        account = key_account(aws, key_id)
        if account == own_account(aws):
            if isinstance(exc, errors.AccessDenied):
                raise
            raise errors.NotFound(
                f"no access key {key_id} in this account", code="NoSuchEntity"
            ) from exc
        return KeyOwner(key_id=key_id, account_id=account, user_name=None)
    return KeyOwner(key_id=key_id, account_id=None, user_name=user, last_used=use)
