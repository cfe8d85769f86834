"""Everything attached to a user, listed in two round trips at most.

IAM refuses DeleteUser while anything attached is still there, but the attachments do not
depend on each other: they are listed at once, as they are removed at once
(:mod:`bot.iam.planning`).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from bot.iam import credentials, errors, keys, policies, users
from bot.iam.aws import Aws
from bot.iam.models import (
    AccessKey,
    Group,
    InlinePolicy,
    LoginProfile,
    ManagedPolicy,
    MfaDevice,
    ServiceCredential,
    SigningCertificate,
    SshPublicKey,
    User,
)


@dataclass(frozen=True)
class Inventory:
    user: User
    login_profile: LoginProfile | None
    access_keys: list[AccessKey]
    signing_certificates: list[SigningCertificate]
    ssh_public_keys: list[SshPublicKey]
    service_credentials: list[ServiceCredential]
    mfa_devices: list[MfaDevice]
    inline_policies: list[InlinePolicy]
    attached_policies: list[ManagedPolicy]
    groups: list[Group]


def take_inventory(
    aws: Aws, user_name: str, *, last_use: bool = True, inline_expected: Collection[str] = ()
) -> Inventory:
    """Everything attached to a user in two round trips: the user and every list at once, then
    every per-item detail (inline policy documents, and key last use unless ``last_use`` is
    False) at once. NotFound if the user does not exist.

    ``inline_expected``: inline policies the caller expects (an approved plan's): their
    documents are read with the lists, so when the lists hold no other and ``last_use`` is
    False the inventory takes one round trip. A name no longer listed is left out, as is its
    document; one the caller did not expect is read in the second round trip."""
    expected = list(dict.fromkeys(inline_expected))
    listed = aws.run_all(
        lambda: users.get_user(aws, user_name),
        lambda: credentials.get_login_profile(aws, user_name),
        lambda: keys.list_access_keys(aws, user_name),
        lambda: credentials.list_signing_certificates(aws, user_name),
        lambda: credentials.list_ssh_public_keys(aws, user_name),
        lambda: credentials.list_service_credentials(aws, user_name),
        lambda: credentials.list_mfa_devices(aws, user_name),
        lambda: policies.list_inline_policy_names(aws, user_name),
        lambda: policies.list_attached_policies(aws, user_name),
        lambda: policies.list_groups_for_user(aws, user_name),
        *(lambda name=name: _inline_if_any(aws, user_name, name) for name in expected),
    )
    (
        user,
        login_profile,
        access_keys,
        certificates,
        ssh_keys,
        service_credentials,
        mfa_devices,
        inline_names,
        attached,
        groups,
    ) = listed[:10]
    read = {name: doc for name, doc in zip(expected, listed[10:], strict=True) if doc}
    unread = [name for name in inline_names if name not in read]
    timed = access_keys if last_use else []
    details = aws.run_all(
        *(lambda key=key: keys.with_last_use(aws, key) for key in timed),
        *(lambda name=name: policies.get_inline_policy(aws, user_name, name) for name in unread),
    )
    read.update(zip(unread, details[len(timed) :], strict=True))
    return Inventory(
        user,
        login_profile,
        details[: len(timed)] if last_use else access_keys,
        certificates,
        ssh_keys,
        service_credentials,
        mfa_devices,
        [read[name] for name in inline_names],
        attached,
        groups,
    )


def _inline_if_any(aws: Aws, user_name: str, name: str) -> InlinePolicy | None:
    """The inline policy ``name`` of the user, None if it has none of that name."""
    try:
        return policies.get_inline_policy(aws, user_name, name)
    except errors.NotFound:
        return None
