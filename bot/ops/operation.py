"""The names of the approval-gated operations.

Each name's facts are its declaration's (:mod:`bot.ops.declared`, one in each workflow
module); the operator's rules learn them from :mod:`bot.ops.terms`. The names stand apart so
that the declarations, the plans and the chat layer can name one another's operations without
importing each other's workflows.
"""

from __future__ import annotations

import enum


class Operation(enum.StrEnum):
    OFFBOARD = "offboard"
    OFFBOARD_PERSON = "offboard-person"  # a person's IAM users in every account, one request
    ENABLE = "enable"
    ENABLE_IDENTITY_CENTER = "enable-identity-center"  # what a person-wide disable took there
    ONBOARD = "onboard"
    ROTATE = "rotate"
    DEACTIVATE = "deactivate"
    DELETE_KEY = "delete-key"
    ACCOUNT_ALIAS = "account-alias"
    GRANT = "grant"  # a time-bound group membership, or more time for one
    REVOKE = "revoke"  # a grant ended early
    CONTAIN = "contain"  # a leaked key deactivated, optionally AWSDenyAll attached
    UNCONTAIN = "uncontain"  # a containment undone
    UNQUARANTINE = "unquarantine"  # AWS's quarantine policy detached once the leaked key is gone
