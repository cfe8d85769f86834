"""The names of the approval-gated operations and the rules that belong to each name.

Kept apart from the registry (which imports every workflow) so that the config can check
``approvals.commands`` against these names without importing the workflows.
"""

from __future__ import annotations

import enum


class Operation(enum.StrEnum):
    OFFBOARD = "offboard"
    OFFBOARD_PERSON = "offboard-person"  # a person's IAM users in every account, one request
    ENABLE = "enable"
    ONBOARD = "onboard"
    ROTATE = "rotate"
    DEACTIVATE = "deactivate"
    DELETE_KEY = "delete-key"
    ACCOUNT_ALIAS = "account-alias"
    GRANT = "grant"  # a time-bound group membership, or more time for one
    REVOKE = "revoke"  # a grant ended early

    @property
    def requester_confirms(self) -> bool:
        """Reversible or requester-driven: confirmed by the requester unless config says
        otherwise; everything else needs ``approvals.required`` approvers."""
        return self in (
            Operation.ROTATE,
            Operation.DEACTIVATE,
            Operation.ACCOUNT_ALIAS,
            Operation.REVOKE,
        )

    @property
    def needs_approver(self) -> bool:
        """Deleting a user or a key (and undoing a disable) always needs someone other than
        the requester: config may not lower it to zero."""
        return self in (
            Operation.OFFBOARD,
            Operation.OFFBOARD_PERSON,
            Operation.DELETE_KEY,
            Operation.ENABLE,
            Operation.GRANT,
        )

    @property
    def across_accounts(self) -> bool:
        """Its plan acts in several accounts, each step naming its own: the request's
        ``account`` is only where it was asked."""
        return self is Operation.OFFBOARD_PERSON

    @property
    def permissions(self) -> tuple[str, ...]:
        """Who may ask for it (any one of these permissions), checked again before it runs."""
        return _PERMISSIONS[self]


_PERMISSIONS = {
    Operation.OFFBOARD: ("offboard",),
    Operation.OFFBOARD_PERSON: ("offboard",),
    Operation.ENABLE: ("offboard",),
    Operation.ONBOARD: ("onboard",),
    Operation.ROTATE: ("rotate",),
    Operation.DEACTIVATE: ("deactivate",),
    Operation.DELETE_KEY: ("deactivate", "rotate"),  # a rotation ends by deleting the old key
    Operation.ACCOUNT_ALIAS: ("admin",),
    Operation.GRANT: ("grant",),
    Operation.REVOKE: ("grant",),
}
