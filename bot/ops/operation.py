"""The names of the approval-gated operations.

Kept apart from the declarations (:mod:`bot.ops.declared`, one in each workflow module) so
that the config can check ``approvals.commands`` against these names without importing the
workflows. Every other fact of an operation is its declaration's: the properties below read
it, for the config, until the config is handed the declarations at startup.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the approvals room imports the config, which imports this
    from bot.access.approvals import Gate


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
    def gate(self) -> Gate:
        """Its declared gate (read when the config is checked: the workflows that declare it
        import the config)."""
        from bot.ops.registry import GATES

        return GATES[self]

    @property
    def requester_confirms(self) -> bool:
        return self.gate.confirms

    @property
    def needs_approver(self) -> bool:
        return self.gate.floor > 0

    @property
    def permissions(self) -> tuple[str, ...]:
        return self.gate.permissions
