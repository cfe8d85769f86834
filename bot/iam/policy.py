"""The bot's own least-privilege IAM policy, derived from the code that calls AWS.

Every AWS request in the package goes through ``Aws.call/pages/items`` with literal service and
operation names, so reading the source gives exactly the actions the bot can use. The shipped
``deploy/iam-policy.json`` is tested to equal this, so the two can never drift apart.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

PACKAGE = Path(__file__).resolve().parent.parent
_GATEWAY_METHODS = {"call", "pages", "items"}
# The sandbox is the demo's and tests' own fake AWS, never run against a real account.
_NOT_SHIPPED = {"sandbox"}


def _literal(node: ast.expr) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def gateway_calls(source: str) -> list[tuple[str, str]]:
    """(service, operation) of every gateway call in a module's source."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if node.func.attr not in _GATEWAY_METHODS or len(node.args) < 2:
            continue
        service, operation = _literal(node.args[0]), _literal(node.args[1])
        if service and operation:
            found.append((service, operation))
    return found


def _modules() -> list[Path]:
    return [
        path
        for path in sorted(PACKAGE.rglob("*.py"))
        if not _NOT_SHIPPED.intersection(path.relative_to(PACKAGE).parts)
    ]


def required_actions() -> list[str]:
    actions = {
        f"{service}:{operation}"
        for path in _modules()
        for service, operation in gateway_calls(path.read_text(encoding="utf-8"))
    }
    return sorted(actions.union(*(_IMPLIED.get(a, ()) for a in actions)))


# IAM actions scoped to a resource other than the user they act on; IAM actions with no
# resource at all (account-wide reads and settings). Every other IAM action acts on a user.
_ON_GROUP = {"AddUserToGroup", "RemoveUserFromGroup", "GetGroup"}
_ON_MFA = {"DeleteVirtualMFADevice"}
_ACCOUNT_WIDE = {
    "CreateAccountAlias",
    "DeleteAccountAlias",
    "GenerateCredentialReport",
    "GetAccountAuthorizationDetails",
    "GetAccountPasswordPolicy",
    "GetAccountSummary",
    "GetCredentialReport",
    "ListAccountAliases",
    "ListSAMLProviders",
    "ListUsers",
}


def _secrets_resource() -> str | tuple[str, ...]:
    """Only the secrets the bot names: each default template (``rotation.secret_name``,
    ``onboarding.secret_name``) up to ``{user}``. An operator who changes a template changes
    this resource in the same way."""
    from bot.config import Onboarding, Rotation

    prefixes = sorted(
        {t.split("{user}", 1)[0] for t in (Rotation().secret_name, Onboarding().secret_name)}
    )
    found = tuple(f"arn:aws:secretsmanager:*:*:secret:{p}*" for p in prefixes)
    return found[0] if len(found) == 1 else found


# Actions IAM authorises in addition to the one called, for parameters the bot passes: tags
# given to CreateSecret need secretsmanager:TagResource (CreateUser's need iam:TagUser, which
# the bot also calls directly).
_IMPLIED = {
    "secretsmanager:CreateSecret": ("secretsmanager:TagResource",),
    "iam:CreateUser": ("iam:TagUser",),
}


def _scope(action: str) -> tuple[str, str | tuple[str, ...]]:
    """(statement id, resource) for one action: each action on the narrowest resource it takes."""
    service, _, operation = action.partition(":")
    if service == "secretsmanager":
        return "SecretsManagerDeliveredKeys", _secrets_resource()
    if service != "iam" or operation in _ACCOUNT_WIDE:
        return f"{service.capitalize()}AccountWide", "*"
    if operation in _ON_GROUP:
        return "IamGroups", "arn:aws:iam::*:group/*"
    if operation in _ON_MFA:
        return "IamMfaDevices", "arn:aws:iam::*:mfa/*"
    return "IamUsers", "arn:aws:iam::*:user/*"


def policy_document() -> dict[str, Any]:
    statements: dict[tuple[str, str | tuple[str, ...]], list[str]] = {}
    for action in required_actions():
        statements.setdefault(_scope(action), []).append(action)
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": sid,
                "Effect": "Allow",
                "Action": actions,
                "Resource": list(resource) if isinstance(resource, tuple) else resource,
            }
            for (sid, resource), actions in sorted(statements.items(), key=lambda kv: kv[0][0])
        ],
    }


def policy_json() -> str:
    return json.dumps(policy_document(), indent=2) + "\n"
