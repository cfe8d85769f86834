"""The accounts of an AWS Organization, as ``organizations:ListAccounts`` gives them."""

from __future__ import annotations

from dataclasses import dataclass

from bot.iam.aws import Aws


@dataclass(frozen=True)
class OrgAccount:
    id: str
    name: str
    email: str


def list_accounts(aws: Aws) -> list[OrgAccount]:
    """Every active account of the Organization (suspended and closing ones cannot be acted
    in). Called in the scope of the Organization's read-only listing role."""
    return [
        OrgAccount(a["Id"], a.get("Name", a["Id"]), a.get("Email", ""))
        for a in aws.items("organizations", "ListAccounts", "Accounts")
        if a.get("Status", "ACTIVE") == "ACTIVE"
    ]
