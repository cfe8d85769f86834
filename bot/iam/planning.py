"""The steps that remove, disable or re-enable everything attached to a user.

Removal takes the same few round trips however much there is: remove every attachment at
once, then delete the user. The one chain, a virtual MFA device deactivated before it can be
deleted, fits the same shape: deactivation (which is what DeleteUser waits for) goes with
everything else, and the device's deletion goes with DeleteUser.

Disabling deactivates every credential that has a status and deletes the console password;
the snapshot taken before it (:mod:`bot.iam.snapshot`) records each status, so enabling
reactivates exactly what was active (MFA aside: only its owner can enable a device again).
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.iam.inventory import Inventory
from bot.iam.models import MfaDevice
from bot.iam.snapshot import Snapshot, switchable_of
from bot.iam.steps import DISABLED_TAG, SWITCHES, Action, Step


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


def disable_steps(inv: Inventory) -> list[Step]:
    """The reversible first stage of offboarding: every credential with a status deactivated,
    every MFA device deactivated; nothing is deleted but the console password."""
    steps = []
    if inv.login_profile:
        steps.append(
            Step(Action.DELETE_LOGIN_PROFILE, inv.user.name, 1, "the password cannot be restored")
        )
    steps += [
        Step(SWITCHES[kind].deactivate, item.id, 1, item.service)
        for kind, items in switchable_of(inv).items()
        for item in items
        if item.active
    ]
    steps += [
        Step(Action.DEACTIVATE_MFA, d.serial, 1, f"{d.kind.value} device") for d in inv.mfa_devices
    ]
    steps.append(Step(Action.TAG_DISABLED, inv.user.name, 1))
    return steps


def _active_before(before: Sequence[Snapshot], kind: str) -> set[str]:
    """IDs of ``kind`` any of the snapshots records as Active (see
    :class:`~bot.iam.snapshot.Switchable` for the older snapshots: the disables of those days
    left such credentials active, so there is nothing of theirs to reactivate)."""
    return {c.id for snap in before for c in snap.switchable()[kind] if c.active}


def enable_steps(inv: Inventory, before: Sequence[Snapshot]) -> list[Step]:
    """Undo the disables whose snapshots (taken before each) are ``before``: reactivate what
    was active then (and still exists, inactive), give back a console password if there was
    one, then remove the disabled tag. Several snapshots, because a second disable sees a
    user the first one already switched off. MFA devices are left to their owners (see
    :func:`deactivated_mfa`)."""
    steps = [
        Step(SWITCHES[kind].reactivate, item.id, 1, item.service)
        for kind, items in switchable_of(inv).items()
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
