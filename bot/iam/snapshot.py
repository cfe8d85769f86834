"""What a user had, stored before an offboarding's first change: shown later, and read to undo
a disable (each credential's status is recorded, so enabling reactivates exactly what was
active).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.iam.inventory import Inventory
from bot.iam.models import KeyStatus, MfaKind
from bot.iam.steps import SWITCHES


@dataclass(frozen=True)
class Switchable:
    """A credential with a status, as the inventory or a snapshot has it; ``service`` only for
    a service-specific credential. ``status`` is "" in snapshots older than per-credential
    statuses: they listed bare IDs of certificates and SSH keys, and service credentials
    without one."""

    id: str
    status: str = ""
    service: str = ""

    @property
    def active(self) -> bool:
        return self.status == KeyStatus.ACTIVE

    def to_dict(self) -> dict[str, str]:
        service = {"service": self.service} if self.service else {}
        return {"id": self.id, **service, "status": self.status}

    @classmethod
    def from_dict(cls, d: dict[str, str] | str) -> Switchable:
        if isinstance(d, str):
            return cls(d)
        return cls(d["id"], d.get("status", ""), d.get("service", ""))


def switchable_of(inv: Inventory) -> dict[str, list[Switchable]]:
    """Every credential of the user that has a status, by its key in a snapshot."""
    return {
        "access_keys": [Switchable(k.key_id, k.status.value) for k in inv.access_keys],
        "signing_certificates": [Switchable(c.cert_id, c.status) for c in inv.signing_certificates],
        "ssh_public_keys": [Switchable(k.key_id, k.status) for k in inv.ssh_public_keys],
        "service_credentials": [
            Switchable(c.cred_id, c.status, c.service) for c in inv.service_credentials
        ],
    }


@dataclass(frozen=True)
class SnapshotUser:
    name: str
    arn: str
    created: datetime
    path: str
    boundary: str | None
    tags: dict[str, str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "arn": self.arn,
            "created": self.created.isoformat(),
            "path": self.path,
            "boundary": self.boundary,
            "tags": self.tags,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SnapshotUser:
        created = datetime.fromisoformat(d["created"])
        return cls(d["name"], d["arn"], created, d["path"], d["boundary"], d["tags"])


@dataclass(frozen=True)
class SnapshotMfa:
    serial: str
    kind: MfaKind


@dataclass(frozen=True)
class Snapshot:
    """What a user had, stored before an offboarding's first change: to show it later
    (``/iam history``) and to undo a disable. IDs, names, statuses and documents; never secrets.

    Stored as :meth:`to_dict`; :meth:`from_dict` also reads the snapshots of earlier versions."""

    user: SnapshotUser
    login_profile: bool
    access_keys: tuple[Switchable, ...]
    signing_certificates: tuple[Switchable, ...]
    ssh_public_keys: tuple[Switchable, ...]
    service_credentials: tuple[Switchable, ...]
    mfa_devices: tuple[SnapshotMfa, ...]
    inline_policies: dict[str, Any]  # name -> policy document
    attached_policies: tuple[str, ...]  # ARNs
    groups: tuple[str, ...]

    def switchable(self) -> dict[str, tuple[Switchable, ...]]:
        """The credentials with a status, by their key in the stored snapshot."""
        return {kind: getattr(self, kind) for kind in SWITCHES}

    def to_dict(self) -> dict[str, Any]:
        return {
            "user": self.user.to_dict(),
            "login_profile": self.login_profile,
            **{kind: [c.to_dict() for c in found] for kind, found in self.switchable().items()},
            "mfa_devices": [{"serial": d.serial, "kind": d.kind.value} for d in self.mfa_devices],
            "inline_policies": self.inline_policies,
            "attached_policies": list(self.attached_policies),
            "groups": list(self.groups),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Snapshot:
        switchable = {
            kind: tuple(Switchable.from_dict(c) for c in d.get(kind, [])) for kind in SWITCHES
        }
        return cls(
            user=SnapshotUser.from_dict(d["user"]),
            login_profile=bool(d.get("login_profile")),
            mfa_devices=tuple(
                SnapshotMfa(m["serial"], MfaKind(m["kind"])) for m in d.get("mfa_devices", [])
            ),
            inline_policies=d.get("inline_policies", {}),
            attached_policies=tuple(d.get("attached_policies", [])),
            groups=tuple(d.get("groups", [])),
            **switchable,
        )


def snapshot(inv: Inventory) -> Snapshot:
    """What the user has now (see :class:`Snapshot`)."""
    user = inv.user
    return Snapshot(
        user=SnapshotUser(
            user.name, user.arn, user.created, user.path, user.boundary_arn, user.tags
        ),
        login_profile=bool(inv.login_profile),
        mfa_devices=tuple(SnapshotMfa(d.serial, d.kind) for d in inv.mfa_devices),
        inline_policies={p.name: p.document for p in inv.inline_policies},
        attached_policies=tuple(p.arn for p in inv.attached_policies),
        groups=tuple(g.name for g in inv.groups),
        **{kind: tuple(found) for kind, found in switchable_of(inv).items()},
    )
