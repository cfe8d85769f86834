"""Everything attached to a user, and the steps that remove, disable or re-enable it.

IAM refuses DeleteUser while anything below is attached, but the attachments do not depend on
each other: they can all go at once. So removal takes the same few round trips however much
there is: list everything (concurrently), remove everything (concurrently), then delete the
user. The one chain, a virtual MFA device deactivated before it can be deleted, fits the same
shape: deactivation (which is what DeleteUser waits for) goes with everything else, and the
device's deletion goes with DeleteUser.

Disabling deactivates every credential that has a status and deletes the console password;
the snapshot taken before it records each status, so enabling reactivates exactly what was
active (MFA aside: only its owner can enable a device again).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.iam import credentials, errors, keys, policies, users
from bot.iam.aws import Aws
from bot.iam.models import (
    AccessKey,
    Group,
    InlinePolicy,
    KeyStatus,
    LoginProfile,
    ManagedPolicy,
    MfaDevice,
    MfaKind,
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


class Action(enum.StrEnum):
    DELETE_LOGIN_PROFILE = "delete login profile"
    DELETE_ACCESS_KEY = "delete access key"
    DEACTIVATE_ACCESS_KEY = "deactivate access key"
    REACTIVATE_ACCESS_KEY = "reactivate access key"
    DELETE_SIGNING_CERTIFICATE = "delete signing certificate"
    DEACTIVATE_SIGNING_CERTIFICATE = "deactivate signing certificate"
    REACTIVATE_SIGNING_CERTIFICATE = "reactivate signing certificate"
    DELETE_SSH_KEY = "delete SSH public key"
    DEACTIVATE_SSH_KEY = "deactivate SSH public key"
    REACTIVATE_SSH_KEY = "reactivate SSH public key"
    DELETE_SERVICE_CREDENTIAL = "delete service-specific credential"
    DEACTIVATE_SERVICE_CREDENTIAL = "deactivate service-specific credential"
    REACTIVATE_SERVICE_CREDENTIAL = "reactivate service-specific credential"
    DEACTIVATE_MFA = "deactivate MFA device"
    DELETE_VIRTUAL_MFA = "delete virtual MFA device"
    DELETE_INLINE_POLICY = "delete inline policy"
    DETACH_POLICY = "detach managed policy"
    REMOVE_FROM_GROUP = "remove from group"
    # Plans approved before removal stopped planning it still run it. DeleteUser does not wait
    # for a boundary (IAM's documented prerequisites do not name it), and removing it first
    # would widen the user's permissions while its policies are being taken away.
    DELETE_BOUNDARY = "remove permissions boundary"
    TAG_DISABLED = "tag as disabled"
    REMOVE_TAG = "remove tag"
    CREATE_LOGIN_PROFILE = "create console password"
    DELETE_USER = "delete user"


@dataclass(frozen=True)
class Step:
    """One change of a journaled plan (removal here, creation for onboarding: any action enum).

    ``id`` is stable across plans and attempts, so a journal and a re-plan can be compared."""

    action: enum.StrEnum
    target: str
    wave: int
    note: str = ""

    @property
    def id(self) -> str:
        return f"{self.action.name.lower()}:{self.target}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action.value,
            "target": self.target,
            "wave": self.wave,
            "note": self.note,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any], actions: type[enum.StrEnum] = Action) -> Step:
        return cls(actions(d["action"]), d["target"], d["wave"], d.get("note", ""))


def _mfa_steps(device: MfaDevice) -> list[Step]:
    if device.kind.deletable:
        return [
            Step(Action.DEACTIVATE_MFA, device.serial, 1, "virtual device"),
            Step(Action.DELETE_VIRTUAL_MFA, device.serial, 2),
        ]
    note = f"{device.kind.value} device: deactivated only, it cannot be deleted"
    return [Step(Action.DEACTIVATE_MFA, device.serial, 1, note)]


def removal_steps(inv: Inventory, released_mfa: Sequence[str] = ()) -> list[Step]:
    """Every attachment in wave 1 (all at once), then the user (and MFA devices) in wave 2.

    ``released_mfa``: virtual MFA devices an earlier disable deactivated. IAM no longer lists
    them for the user, but they still exist, and nobody else would ever delete them."""
    steps = []
    if inv.login_profile:
        steps.append(Step(Action.DELETE_LOGIN_PROFILE, inv.user.name, 1))
    for key in inv.access_keys:
        last = key.last_used.when if key.last_used else None
        note = (
            f"{key.status.value}, last used {last:%Y-%m-%d}"
            if last
            else f"{key.status.value}, never used"
        )
        steps.append(Step(Action.DELETE_ACCESS_KEY, key.key_id, 1, note))
    steps += [
        Step(Action.DELETE_SIGNING_CERTIFICATE, c.cert_id, 1) for c in inv.signing_certificates
    ]
    steps += [Step(Action.DELETE_SSH_KEY, k.key_id, 1) for k in inv.ssh_public_keys]
    steps += [
        Step(Action.DELETE_SERVICE_CREDENTIAL, c.cred_id, 1, c.service)
        for c in inv.service_credentials
    ]
    steps += [step for device in inv.mfa_devices for step in _mfa_steps(device)]
    listed = {d.serial for d in inv.mfa_devices}
    steps += [
        Step(Action.DELETE_VIRTUAL_MFA, serial, 1, "deactivated by an earlier disable")
        for serial in released_mfa
        if serial not in listed
    ]
    steps += [Step(Action.DELETE_INLINE_POLICY, p.name, 1) for p in inv.inline_policies]
    steps += [
        Step(Action.DETACH_POLICY, p.arn, 1, "the policy itself is kept")
        for p in inv.attached_policies
    ]
    steps += [Step(Action.REMOVE_FROM_GROUP, g.name, 1, "the group is kept") for g in inv.groups]
    kept = "tags and permissions boundary" if inv.user.boundary_arn else "tags"
    steps.append(Step(Action.DELETE_USER, inv.user.name, 2, f"{kept} go with it"))
    return steps


DISABLED_TAG = "iam-bot:disabled"


@dataclass(frozen=True)
class _Switch:
    """A kind of credential IAM can switch between Active and Inactive: what disabling
    deactivates and enabling reactivates."""

    deactivate: Action
    reactivate: Action
    set_status: Callable[[Aws, str, str, KeyStatus], None]


# By the kind's key in a snapshot.
_SWITCHES = {
    "access_keys": _Switch(
        Action.DEACTIVATE_ACCESS_KEY, Action.REACTIVATE_ACCESS_KEY, keys.set_access_key_status
    ),
    "signing_certificates": _Switch(
        Action.DEACTIVATE_SIGNING_CERTIFICATE,
        Action.REACTIVATE_SIGNING_CERTIFICATE,
        credentials.set_signing_certificate_status,
    ),
    "ssh_public_keys": _Switch(
        Action.DEACTIVATE_SSH_KEY, Action.REACTIVATE_SSH_KEY, credentials.set_ssh_public_key_status
    ),
    "service_credentials": _Switch(
        Action.DEACTIVATE_SERVICE_CREDENTIAL,
        Action.REACTIVATE_SERVICE_CREDENTIAL,
        credentials.set_service_credential_status,
    ),
}
_SET_STATUS = {
    **{s.deactivate: (s.set_status, KeyStatus.INACTIVE) for s in _SWITCHES.values()},
    **{s.reactivate: (s.set_status, KeyStatus.ACTIVE) for s in _SWITCHES.values()},
}


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


def _switchable(inv: Inventory) -> dict[str, list[Switchable]]:
    """Every credential of the user that has a status, by its key in a snapshot."""
    return {
        "access_keys": [Switchable(k.key_id, k.status.value) for k in inv.access_keys],
        "signing_certificates": [Switchable(c.cert_id, c.status) for c in inv.signing_certificates],
        "ssh_public_keys": [Switchable(k.key_id, k.status) for k in inv.ssh_public_keys],
        "service_credentials": [
            Switchable(c.cred_id, c.status, c.service) for c in inv.service_credentials
        ],
    }


def disable_steps(inv: Inventory) -> list[Step]:
    """The reversible first stage of offboarding: every credential with a status deactivated,
    every MFA device deactivated; nothing is deleted but the console password."""
    steps = []
    if inv.login_profile:
        steps.append(
            Step(Action.DELETE_LOGIN_PROFILE, inv.user.name, 1, "the password cannot be restored")
        )
    steps += [
        Step(_SWITCHES[kind].deactivate, item.id, 1, item.service)
        for kind, items in _switchable(inv).items()
        for item in items
        if item.active
    ]
    steps += [
        Step(Action.DEACTIVATE_MFA, d.serial, 1, f"{d.kind.value} device") for d in inv.mfa_devices
    ]
    steps.append(Step(Action.TAG_DISABLED, inv.user.name, 1))
    return steps


def _active_before(before: Sequence[Snapshot], kind: str) -> set[str]:
    """IDs of ``kind`` any of the snapshots records as Active (see :class:`Switchable` for the
    older snapshots: the disables of those days left such credentials active, so there is
    nothing of theirs to reactivate)."""
    return {c.id for snap in before for c in snap.switchable()[kind] if c.active}


def enable_steps(inv: Inventory, before: Sequence[Snapshot]) -> list[Step]:
    """Undo the disables whose snapshots (taken before each) are ``before``: reactivate what
    was active then (and still exists, inactive), give back a console password if there was
    one, then remove the disabled tag. Several snapshots, because a second disable sees a
    user the first one already switched off. MFA devices are left to their owners (see
    :func:`deactivated_mfa`)."""
    steps = [
        Step(_SWITCHES[kind].reactivate, item.id, 1, item.service)
        for kind, items in _switchable(inv).items()
        for item in items
        if not item.active and item.id in _active_before(before, kind)
    ]
    if any(snap.login_profile for snap in before) and not inv.login_profile:
        note = "reset required at first sign-in; the password goes to Secrets Manager"
        steps.append(Step(Action.CREATE_LOGIN_PROFILE, inv.user.name, 1, note))
    if DISABLED_TAG in inv.user.tags:
        steps.append(Step(Action.REMOVE_TAG, DISABLED_TAG, 2, "after everything else"))
    return steps


def deactivated_mfa(before: Sequence[Snapshot], *, virtual_only: bool = False) -> list[str]:
    """Serials of the MFA devices disables deactivated, from the snapshots taken before them."""
    serials = (
        d.serial
        for snap in before
        for d in snap.mfa_devices
        if not virtual_only or d.kind.deletable
    )
    return list(dict.fromkeys(serials))


def run_step(aws: Aws, user: str, step: Step, *, disabled_note: str = "") -> str:
    """Carry out one step. Returns "done", or "gone" when its target had already gone."""
    try:
        _run(aws, user, step, disabled_note)
    except errors.NotFound:
        return "gone"
    return "done"


def _run(aws: Aws, user: str, step: Step, disabled_note: str) -> None:
    target = step.target
    if step.action in _SET_STATUS:
        set_status, status = _SET_STATUS[Action(step.action)]
        set_status(aws, user, target, status)
        return
    match step.action:
        case Action.DELETE_LOGIN_PROFILE:
            credentials.delete_login_profile(aws, user)
        case Action.DELETE_ACCESS_KEY:
            keys.delete_access_key(aws, user, target)
        case Action.DELETE_SIGNING_CERTIFICATE:
            credentials.delete_signing_certificate(aws, user, target)
        case Action.DELETE_SSH_KEY:
            credentials.delete_ssh_public_key(aws, user, target)
        case Action.DELETE_SERVICE_CREDENTIAL:
            credentials.delete_service_credential(aws, user, target)
        case Action.DELETE_VIRTUAL_MFA:
            credentials.delete_virtual_mfa_device(aws, target)
        case Action.DEACTIVATE_MFA:
            credentials.deactivate_mfa_device(aws, user, target)
        case Action.DELETE_INLINE_POLICY:
            policies.delete_inline_policy(aws, user, target)
        case Action.DETACH_POLICY:
            policies.detach_policy(aws, user, target)
        case Action.REMOVE_FROM_GROUP:
            policies.remove_user_from_group(aws, user, target)
        case Action.DELETE_BOUNDARY:
            users.delete_permissions_boundary(aws, user)
        case Action.TAG_DISABLED:
            users.tag_user(aws, user, {DISABLED_TAG: disabled_note or "true"})
        case Action.REMOVE_TAG:
            users.untag_user(aws, user, [target])
        case Action.DELETE_USER:
            users.delete_user(aws, user)
        case _:
            raise ValueError(f"{step.action!r} is not a step run_step carries out")


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
        return {kind: getattr(self, kind) for kind in _SWITCHES}

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
            kind: tuple(Switchable.from_dict(c) for c in d.get(kind, [])) for kind in _SWITCHES
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
        **{kind: tuple(found) for kind, found in _switchable(inv).items()},
    )
