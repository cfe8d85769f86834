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
    return sorted(actions)


def policy_document() -> dict[str, Any]:
    by_service: dict[str, list[str]] = {}
    for action in required_actions():
        by_service.setdefault(action.partition(":")[0], []).append(action)
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": f"IamBot{service.capitalize()}",
                "Effect": "Allow",
                "Action": actions,
                "Resource": "*",
            }
            for service, actions in sorted(by_service.items())
        ],
    }


def policy_json() -> str:
    return json.dumps(policy_document(), indent=2) + "\n"
