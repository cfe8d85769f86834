"""One change of a journaled plan, and how it is carried out against IAM.

A step names its action and its target; the plan that holds it is made elsewhere
(:mod:`bot.iam.planning` for a user's removal, disable and enable; the workflows for the rest).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.iam import credentials, errors, keys, policies, users
from bot.iam.aws import Aws
from bot.iam.models import KeyStatus


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


DISABLED_TAG = "iam-bot:disabled"


@dataclass(frozen=True)
class _Switch:
    """A kind of credential IAM can switch between Active and Inactive: what disabling
    deactivates and enabling reactivates."""

    deactivate: Action
    reactivate: Action
    set_status: Callable[[Aws, str, str, KeyStatus], None]


# By the kind's key in a snapshot.
SWITCHES = {
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
    **{s.deactivate: (s.set_status, KeyStatus.INACTIVE) for s in SWITCHES.values()},
    **{s.reactivate: (s.set_status, KeyStatus.ACTIVE) for s in SWITCHES.values()},
}


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
