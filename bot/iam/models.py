"""Typed results of the IAM module: what crosses from "talking to IAM" to every other layer."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


def now() -> datetime:
    return datetime.now(UTC)


def age_days(when: datetime, at: datetime | None = None) -> int:
    return max(0, ((at or now()) - when).days)


class Secret:
    """A secret value (secret access key, password) that cannot be logged or rendered by accident.

    ``str``/``repr``/f-strings show a redaction; only :meth:`reveal` gives the value, and the
    only caller that should use it is the code handing the value to its safe destination.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __reduce__(self) -> Any:
        raise TypeError("a Secret is never serialised")


@dataclass(frozen=True)
class User:
    name: str
    user_id: str
    arn: str
    created: datetime
    path: str = "/"
    password_last_used: datetime | None = None
    boundary_arn: str | None = None
    tags: dict[str, str] = field(default_factory=dict)


class KeyStatus(enum.StrEnum):
    ACTIVE = "Active"
    INACTIVE = "Inactive"


@dataclass(frozen=True)
class LastUsed:
    """When and where a key was last used; ``when`` is None if never (since tracking began)."""

    when: datetime | None = None
    service: str | None = None
    region: str | None = None


@dataclass(frozen=True)
class AccessKey:
    key_id: str
    user_name: str
    status: KeyStatus
    created: datetime
    last_used: LastUsed | None = None


@dataclass(frozen=True)
class NewAccessKey:
    key_id: str
    user_name: str
    created: datetime
    secret: Secret = field(repr=False)


@dataclass(frozen=True)
class KeyOwner:
    """Who a key ID belongs to. ``user_name`` is None when the key is another account's."""

    key_id: str
    account_id: str | None
    user_name: str | None
    last_used: LastUsed | None = None

    @property
    def foreign(self) -> bool:
        return self.user_name is None


@dataclass(frozen=True)
class CallerIdentity:
    """Who the bot runs as: its IAM user or assumed-role ARN, and its account."""

    arn: str
    account: str

    @property
    def user_name(self) -> str | None:
        """The IAM user behind the credentials, or None for a role (assumed or instance)."""
        resource = self.arn.split(":", 5)[-1]
        return resource.rsplit("/", 1)[-1] if resource.startswith("user/") else None


@dataclass(frozen=True)
class LoginProfile:
    user_name: str
    created: datetime
    reset_required: bool


@dataclass(frozen=True)
class SigningCertificate:
    cert_id: str
    user_name: str
    status: str
    uploaded: datetime | None


@dataclass(frozen=True)
class SshPublicKey:
    key_id: str
    user_name: str
    status: str
    uploaded: datetime | None


@dataclass(frozen=True)
class ServiceCredential:
    cred_id: str
    user_name: str
    service: str
    service_user_name: str
    status: str
    created: datetime | None
    expires: datetime | None = None


class MfaKind(enum.StrEnum):
    VIRTUAL = "virtual"
    HARDWARE = "hardware"
    FIDO = "fido"

    @property
    def deletable(self) -> bool:
        """Only virtual devices can be deleted; hardware and FIDO ones can only be deactivated."""
        return self is MfaKind.VIRTUAL


@dataclass(frozen=True)
class MfaDevice:
    serial: str
    user_name: str
    enabled: datetime | None

    @property
    def kind(self) -> MfaKind:
        if ":mfa/" in self.serial:
            return MfaKind.VIRTUAL
        if ":u2f/" in self.serial:
            return MfaKind.FIDO
        return MfaKind.HARDWARE


@dataclass(frozen=True)
class Group:
    name: str
    arn: str


@dataclass(frozen=True)
class InlinePolicy:
    name: str
    document: dict[str, Any]


@dataclass(frozen=True)
class ManagedPolicy:
    name: str
    arn: str


@dataclass(frozen=True)
class SamlProvider:
    arn: str
    created: datetime | None
    valid_until: datetime | None


@dataclass(frozen=True)
class PasswordPolicy:
    settings: dict[str, Any]


@dataclass(frozen=True)
class AccountSummary:
    """IAM's account summary map: usage figures and their quotas (``Users``/``UsersQuota``...)."""

    values: dict[str, int]

    def usage(self, name: str) -> tuple[int, int | None]:
        return self.values.get(name, 0), self.values.get(f"{name}Quota")


@dataclass(frozen=True)
class CredentialReport:
    generated: datetime
    rows: list[dict[str, str]]
