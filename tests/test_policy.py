"""The bot's own IAM policy is exactly what its code calls, and the code keeps to one gateway."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
from pathlib import Path

import botocore.session
import pytest

from bot.iam.policy import PACKAGE, gateway_calls, policy_document, required_actions

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "deploy" / "iam-policy.json"


def _shipped_modules() -> list[Path]:
    return [p for p in PACKAGE.rglob("*.py") if "sandbox" not in p.parts and p.name != "demo.py"]


def test_shipped_policy_is_the_derived_one() -> None:
    assert json.loads(SHIPPED.read_text()) == policy_document(), (
        "run: iam-bot policy > deploy/iam-policy.json"
    )


def test_every_action_is_a_real_operation() -> None:
    for action in required_actions():
        service, operation = action.split(":")
        model = botocore.session.get_session().get_service_model(service)
        assert operation in model.operation_names, action


def test_gateway_calls_are_found_in_source() -> None:
    source = 'aws.call("iam", "GetUser", UserName=x)\naws.items("iam", "ListUsers", "Users")'
    assert gateway_calls(source) == [("iam", "GetUser"), ("iam", "ListUsers")]
    assert {"iam:ListAccessKeys", "iam:GetAccessKeyLastUsed", "sts:GetAccessKeyInfo"} <= set(
        required_actions()
    )


def test_no_aws_call_escapes_the_gateway() -> None:
    """Only bot/iam/aws.py touches boto3; everything else names its operation literally."""
    for path in _shipped_modules():
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom) and path.name != "aws.py":
                modules = (
                    [a.name for a in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module or ""]
                )
                assert not any(m.split(".")[0] in ("boto3", "botocore") for m in modules), path
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("call", "pages", "items")
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "aws"
            ):
                literal = [isinstance(a, ast.Constant) for a in node.args[:2]]
                assert literal == [True, True], (
                    f"{path}:{node.lineno} names its operation dynamically"
                )


def _parliament(policy: str) -> list[dict]:
    exe = shutil.which("parliament", path=str(Path(sys.executable).parent)) or shutil.which(
        "parliament"
    )
    if exe is None:
        pytest.fail("parliament is not installed (it is in the dev extra)")
    result = subprocess.run(
        [exe, "--string", policy, "--json"],
        stdin=subprocess.DEVNULL,  # parliament refuses to run when stdin is not a terminal
        capture_output=True,
        text=True,
        check=False,
    )
    assert "usage:" not in result.stderr, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def test_parliament_finds_nothing() -> None:
    assert _parliament(SHIPPED.read_text()) == []


@pytest.mark.parametrize(
    ("action", "resource", "issue"),
    [("iam:ListUserz", "*", "UNKNOWN_ACTION"), ("iam:DeleteUser", "*", "RESOURCE_STAR")],
)
def test_parliament_would_catch_a_sloppy_policy(action: str, resource: str, issue: str) -> None:
    statement = {"Effect": "Allow", "Action": [action], "Resource": resource}
    sloppy = {"Version": "2012-10-17", "Statement": [statement]}
    assert issue in {finding["issue"] for finding in _parliament(json.dumps(sloppy))}
