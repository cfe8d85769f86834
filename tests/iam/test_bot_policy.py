"""The bot's own IAM policy is exactly what its code calls, and the code keeps to one gateway."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest

from bot.iam.bot_policy import (
    PACKAGE,
    gateway_calls,
    reachable_calls,
    required_actions,
)
from sandbox.aws import Call
from tests.fixtures.project import ROOT, derived_policy, parliament_findings
from tests.fixtures.slack import ONBOARD, Bot, posted

SHIPPED = ROOT / "deploy" / "iam-policy.json"


def _shipped_modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))  # the test peers and the demo are outside the package


def test_shipped_policy_is_the_derived_one() -> None:
    assert json.loads(SHIPPED.read_text()) == derived_policy(), (
        "run: iam-bot policy > deploy/iam-policy.json"
    )


def test_every_action_is_a_real_operation() -> None:
    session = botocore.session.get_session()  # one session: each model is read once
    models: dict[str, list[str]] = {}
    for action in required_actions():
        service, operation = action.split(":")
        if service not in models:
            models[service] = session.get_service_model(service).operation_names
        assert operation in models[service], action


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


def test_parliament_finds_nothing() -> None:
    assert parliament_findings(json.loads(SHIPPED.read_text())) == []


@pytest.mark.parametrize(
    ("action", "resource", "issue"),
    [("iam:ListUserz", "*", "UNKNOWN_ACTION"), ("iam:DeleteUser", "*", "RESOURCE_STAR")],
)
def test_parliament_would_catch_a_sloppy_policy(action: str, resource: str, issue: str) -> None:
    statement = {"Effect": "Allow", "Action": [action], "Resource": resource}
    sloppy = {"Version": "2012-10-17", "Statement": [statement]}
    assert issue in {finding["issue"] for finding in parliament_findings(sloppy)}


# --- least privilege: what commands reach, on what the config names ---------------------------

# Granted once only because helpers that tests called used them: two privilege escalations and
# actions no command needs. (UntagUser is needed again: /iam enable removes the disabled tag.)
NEVER_NEEDED = {
    "iam:PutUserPolicy",
    "iam:PutUserPermissionsBoundary",
    "iam:CreateServiceSpecificCredential",
    "iam:ListUserTags",
    "iam:ListUsers",
}
CHANGE_PASSWORD = "arn:aws:iam::aws:policy/IAMUserChangePassword"
DENY_ALL = "arn:aws:iam::aws:policy/AWSDenyAll"


def _statements(policy: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in policy["Statement"]}


def _as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


def _granted(policy: dict[str, Any]) -> set[str]:
    return {a for s in policy["Statement"] for a in s["Action"]}


def test_policy_grants_only_actions_a_command_reaches() -> None:
    """Each action is a gateway call some command reaches, or one IAM authorises with it."""
    reached = {f"{service}:{operation}" for service, operation in reachable_calls()}
    implied = {"secretsmanager:TagResource", "iam:TagUser"}
    shipped = json.loads(SHIPPED.read_text())
    assert _granted(shipped) - implied <= reached
    assert not NEVER_NEEDED & _granted(shipped)


def test_a_helper_no_command_reaches_grants_nothing(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    files = {
        "__init__.py": "",
        "cli.py": "def main():\n    return 0\n",
        "slack/__init__.py": "",
        "slack/keys.py": (
            "from pkg.iam import users\n"
            "from pkg.iam.reports import Reports\n\n"
            "def handle(aws):\n"
            "    Reports(aws).fetch()\n"
            "    return users.get(aws, 'bob')\n"
        ),
        "iam/__init__.py": "",
        "iam/users.py": (
            "def get(aws, name):\n"
            "    return _get(aws, name)\n\n"
            "def _get(aws, name):\n"
            "    return aws.call('iam', 'GetUser', UserName=name)\n\n"
            "def escalate(aws, name):\n"
            "    aws.call('iam', 'PutUserPolicy', UserName=name)\n"
        ),
        "iam/reports.py": (
            "class Reports:\n"
            "    def __init__(self, aws):\n"
            "        self.aws = aws\n\n"
            "    def fetch(self):\n"
            "        return self.aws.call('iam', 'GetCredentialReport')\n"
        ),
        "iam/unused.py": "def listing(aws):\n    return aws.items('iam', 'ListUsers', 'Users')\n",
    }
    for name, text in files.items():
        (package / name).parent.mkdir(parents=True, exist_ok=True)
        (package / name).write_text(text)
    assert required_actions(package) == ["iam:GetCredentialReport", "iam:GetUser"]


def test_attach_user_policy_only_for_the_policies_onboarding_and_containment_attach() -> None:
    statements = _statements(json.loads(SHIPPED.read_text()))
    attach = statements.pop("IamAttachKnownPolicies")
    assert attach["Action"] == ["iam:AttachUserPolicy"]
    assert attach["Condition"] == {"ArnEquals": {"iam:PolicyARN": [CHANGE_PASSWORD, DENY_ALL]}}
    assert all("iam:AttachUserPolicy" not in s["Action"] for s in statements.values())


CONFIGURED = """
rotation:
  secret_name: "people/{user}/key"
  kms_key_id: arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab
onboarding:
  secret_name: "people/{user}/console"
"""


def test_policy_follows_the_config() -> None:
    default = _statements(derived_policy())
    assert "KmsSecretsKey" not in default  # no key configured: Secrets Manager's own
    assert default["SecretsManagerDeliveredSecrets"]["Resource"] == [
        "arn:aws:secretsmanager:*:*:secret:iam-bot/*/access-key-??????",
        "arn:aws:secretsmanager:*:*:secret:iam-bot/*/console-password-??????",
    ]
    configured = _statements(derived_policy(CONFIGURED))
    assert configured["SecretsManagerDeliveredSecrets"]["Resource"] == [
        "arn:aws:secretsmanager:*:*:secret:people/*/console-??????",
        "arn:aws:secretsmanager:*:*:secret:people/*/key-??????",
    ]
    assert configured["KmsSecretsKey"] == {
        "Sid": "KmsSecretsKey",
        "Effect": "Allow",
        "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
        "Resource": "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "Condition": {"StringLike": {"kms:ViaService": "secretsmanager.*.amazonaws.com"}},
    }
    alias = _statements(derived_policy("rotation: {kms_key_id: alias/iam-bot}"))
    assert alias["KmsSecretsKey"]["Condition"]["ForAnyValue:StringEquals"] == {
        "kms:ResourceAliases": "alias/iam-bot"
    }


def test_parliament_finds_nothing_in_a_configured_policy() -> None:
    # (Not for a key given by alias: parliament's action database predates the
    # kms:ResourceAliases condition key and reports it as unknown.)
    assert parliament_findings(derived_policy(CONFIGURED)) == []


PROTECTED = """
protected_users: [break-glass-admin, Ops-Root, "tag:protected=true", "tag:keep"]
"""


@pytest.mark.parametrize("configured", [CONFIGURED, PROTECTED])
def test_policy_command_follows_iam_bot_config(tmp_path: Path, configured: str) -> None:
    config = tmp_path / "iam-bot.yml"
    config.write_text(configured)
    result = subprocess.run(
        [sys.executable, "-m", "bot", "policy"],
        env={"PATH": "/usr/bin:/bin", "IAM_BOT_CONFIG": str(config)},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == derived_policy(configured)


def _denied_on_user(statement: dict[str, Any], user: str, tags: dict[str, str], call: Call) -> bool:
    """Whether a Deny statement's resource and condition match the user ``user`` (no path)
    with ``tags`` for ``call``: ARNs compared case-sensitively as IAM does, tag keys and (under
    StringEqualsIgnoreCase) values without regard to case; ArnNotEquals on the policy the call
    attaches."""
    arn = f"arn:aws:iam::123456789012:user/{user}"
    if not any(fnmatchcase(arn, r) for r in _as_list(statement["Resource"])):
        return False
    folded = {k.casefold(): v.casefold() for k, v in tags.items()}
    for operator, tests in statement.get("Condition", {}).items():
        for key, value in tests.items():
            if operator == "ArnNotEquals":
                if _context(call, key)[0] in _as_list(value):
                    return False
                continue
            tag = folded.get(key.removeprefix("aws:ResourceTag/").casefold())
            if operator == "Null" and (tag is None) != (value == "true"):
                return False
            if operator == "StringEqualsIgnoreCase" and tag != value.casefold():
                return False
    return True


def _allowed(
    policy: dict[str, Any], call: Call, account: str, tags: dict[str, str] | None = None
) -> bool:
    """Whether ``policy`` allows ``call``: no Deny matches the user it acts on (with ``tags``),
    and an Allow matches its action, the secret it names, the policy it attaches, and each
    condition (the parts of IAM's evaluation this policy uses)."""
    action = f"{call.service}:{call.action}"
    user = call.params.get("UserName")
    denies = [s for s in policy["Statement"] if s["Effect"] == "Deny" and action in s["Action"]]
    if user and any(_denied_on_user(s, user, tags or {}, call) for s in denies):
        return False
    for statement in policy["Statement"]:
        if action not in statement["Action"] or statement["Effect"] != "Allow":
            continue
        if call.service == "secretsmanager":
            name = call.params.get("Name") or call.params.get("SecretId")
            arn = (
                name
                if name.startswith("arn:")
                else (f"arn:aws:secretsmanager:us-east-1:{account}:secret:{name}-AbC123")
            )
            if not any(fnmatchcase(arn, r) for r in _as_list(statement["Resource"])):
                continue
        conditions = statement.get("Condition", {}).items()
        if all(
            _holds(operator, _context(call, key), _as_list(values))
            for operator, pairs in conditions
            for key, values in pairs.items()
        ):
            return True
    return False


def _context(call: Call, key: str) -> list[str]:
    """The values IAM's request context has for condition ``key`` in ``call``; a secret's
    resource tags as it stands now (the bot's tags on a secret are never removed)."""
    tags = {t["Key"]: t["Value"] for t in call.params.get("Tags", [])}
    kind, _, tag = key.partition("/")
    if key == "iam:PolicyARN":
        return [call.params["PolicyArn"]]
    if key == "aws:TagKeys":
        return list(tags)
    if kind == "aws:RequestTag":
        return [tags[tag]] if tag in tags else []
    if kind == "secretsmanager:ResourceTag":
        secret = boto3.client("secretsmanager", region_name="us-east-1").describe_secret(
            SecretId=call.params["SecretId"]
        )
        found = {t["Key"]: t["Value"] for t in secret.get("Tags", [])}
        return [found[tag]] if tag in found else []
    raise AssertionError(f"no context for condition key {key}")


def _holds(operator: str, context: list[str], values: list[str]) -> bool:
    if operator.startswith("ForAllValues:"):
        return all(v in values for v in context)
    assert operator in ("StringEquals", "ArnEquals"), operator
    return len(context) == 1 and context[0] in values


def test_secrets_are_written_only_with_the_bots_mark() -> None:
    """IAM holds the bot to secrets it created: PutSecretValue only on one tagged as the bot's,
    CreateSecret (and the tagging it implies) only with that tag and the bot's own tags."""
    statements = _statements(derived_policy())
    write = statements["SecretsManagerWriteOwnSecrets"]
    assert write["Action"] == ["secretsmanager:PutSecretValue"]
    assert write["Condition"] == {
        "StringEquals": {"secretsmanager:ResourceTag/iam-bot:created-by": "iam-bot"}
    }
    create = statements["SecretsManagerCreateMarkedSecrets"]
    assert create["Action"] == ["secretsmanager:CreateSecret", "secretsmanager:TagResource"]
    assert create["Condition"] == {
        "StringEquals": {"aws:RequestTag/iam-bot:created-by": "iam-bot"},
        "ForAllValues:StringEquals": {"aws:TagKeys": ["iam-bot:created-by", "iam-bot:user"]},
    }
    checks = statements["SecretsManagerDeliveredSecrets"]
    assert {"secretsmanager:DescribeSecret", "secretsmanager:GetResourcePolicy"} <= set(
        checks["Action"]
    )
    assert "Condition" not in checks
    writes = {"secretsmanager:PutSecretValue", "secretsmanager:CreateSecret"}
    assert all(
        not writes & set(s["Action"]) for s in statements.values() if s not in (write, create)
    )


def test_the_policy_refuses_a_write_into_a_secret_the_bot_did_not_mark(aws) -> None:
    """What IAM would decide, by the evaluation above, for calls a bug could make."""
    policy, account = derived_policy(), aws.account_id
    secrets = boto3.client("secretsmanager", region_name="us-east-1")
    planted = secrets.create_secret(Name="iam-bot/dave/access-key", SecretString="x")["ARN"]
    mark = {"Key": "iam-bot:created-by", "Value": "iam-bot"}

    def allowed(action: str, **params: Any) -> bool:
        return _allowed(policy, Call("secretsmanager", action, params, 200), account)

    assert not allowed("PutSecretValue", SecretId=planted)
    assert allowed("DescribeSecret", SecretId=planted)
    secrets.tag_resource(SecretId=planted, Tags=[mark])
    assert allowed("PutSecretValue", SecretId=planted)
    assert allowed("CreateSecret", Name="iam-bot/eve/access-key", Tags=[mark])
    assert not allowed("CreateSecret", Name="iam-bot/eve/access-key", Tags=[])
    other = {"Key": "team", "Value": "x"}
    assert not allowed("CreateSecret", Name="iam-bot/eve/access-key", Tags=[mark, other])


def test_every_call_of_onboard_rotate_and_offboard_is_allowed(make_bot, iam, aws) -> None:
    """The derived policy is enough: every AWS call the bot makes for a configured secret
    template, end to end, is one the policy for that config allows."""
    config = ONBOARD + CONFIGURED
    iam.create_group(GroupName="developers")
    aws.add_aws_managed_policy("IAMUserChangePassword")
    bot: Bot = make_bot(config)
    arranged = len(aws.calls())

    bot.command("onboard dave developers --console --key", user="U0ALICE")
    bot.press(posted(bot, "Onboard dave"), "Approve", user="U0SEC1")
    bot.command("rotate dave", user="U0ALICE")
    bot.press(posted(bot, "Rotate the access key"), "Confirm", user="U0ALICE")
    bot.command("offboard dave left the company", user="U0ALICE")
    bot.press(posted(bot, "Offboard"), "Approve", user="U0SEC1")
    bot.settle()

    calls = aws.calls()[arranged:]
    made = {c.action for c in calls if 200 <= c.status < 300}
    assert {"AttachUserPolicy", "CreateSecret", "PutSecretValue", "DeleteUser"} <= made, made
    policy = derived_policy(config)
    assert [c for c in calls if not _allowed(policy, c, aws.account_id)] == []
    assert {c.params["Name"] for c in calls if c.action == "CreateSecret"} == {
        "people/dave/console",
        "people/dave/key",
    }


# --- protected users: IAM refuses the bot too -------------------------------------------------


def _user_changes_allowed(policy: dict[str, Any]) -> set[str]:
    """Every allowed action on users (their ARN is the resource) that is not a read."""
    return {
        action
        for s in policy["Statement"]
        if s["Effect"] == "Allow" and s["Resource"] == "arn:aws:iam::*:user/*"
        for action in s["Action"]
        if not action.removeprefix("iam:").startswith(("Get", "List"))
    }


def test_protected_users_are_denied_every_change_the_bot_may_make_to_a_user() -> None:
    """But containment's: deactivating a leaked key, and attaching AWSDenyAll (no other
    policy)."""
    policy = derived_policy(PROTECTED)
    denies = {s["Sid"]: s for s in policy["Statement"] if s["Effect"] == "Deny"}
    changes = _user_changes_allowed(policy)
    assert {"iam:DeleteUser", "iam:UpdateAccessKey", "iam:DeleteAccessKey"} <= changes
    assert {"iam:AttachUserPolicy", "iam:DeactivateMFADevice", "iam:UntagUser"} <= changes
    containment = {"iam:UpdateAccessKey", "iam:AttachUserPolicy"}
    scopes = ["DenyProtectedTag1", "DenyProtectedTag2", "DenyProtectedUsers"]
    assert {sid: set(s["Action"]) for sid, s in denies.items()} == {
        **dict.fromkeys(scopes, changes - containment),
        **{f"{sid}Attach": {"iam:AttachUserPolicy"} for sid in scopes},
    }
    for sid in scopes:
        attach = denies[f"{sid}Attach"]
        assert attach["Resource"] == denies[sid]["Resource"]
        assert attach["Condition"]["ArnNotEquals"] == {"iam:PolicyARN": DENY_ALL}
    assert denies["DenyProtectedUsers"]["Resource"] == [
        "arn:aws:iam::*:user/break-glass-admin",
        "arn:aws:iam::*:user/*/break-glass-admin",
        "arn:aws:iam::*:user/Ops-Root",
        "arn:aws:iam::*:user/*/Ops-Root",
    ]
    assert denies["DenyProtectedTag1"]["Condition"] == {
        "StringEqualsIgnoreCase": {"aws:ResourceTag/protected": "true"}
    }
    assert denies["DenyProtectedTag2"]["Condition"] == {"Null": {"aws:ResourceTag/keep": "false"}}
    assert parliament_findings(policy) == []


def test_no_protected_users_no_deny() -> None:
    assert all(s["Effect"] == "Allow" for s in derived_policy()["Statement"])


@pytest.mark.parametrize(
    ("user", "tags", "denied"),
    [
        ("break-glass-admin", {}, True),
        ("Ops-Root", {}, True),
        ("dave", {"Protected": "TRUE"}, True),  # tag keys and values regardless of case
        ("dave", {"keep": "anything"}, True),
        ("dave", {"protected": "false"}, False),
        ("dave", {}, False),
        # IAM compares the name in a Resource case-sensitively: a name is denied only as
        # configured (the bot's own check still refuses any spelling; tags cover every one).
        ("BREAK-GLASS-ADMIN", {}, False),
    ],
)
def test_a_bot_bug_acting_on_a_protected_user_is_refused_by_iam(
    user: str, tags: dict[str, str], denied: bool
) -> None:
    policy = derived_policy(PROTECTED)
    params = {"UserName": user, "PolicyArn": CHANGE_PASSWORD}  # a policy it may attach
    for action in _user_changes_allowed(policy):
        call = Call("iam", action.removeprefix("iam:"), params, 200)
        contains = action == "iam:UpdateAccessKey"  # containment's: a protected user's too
        assert _allowed(policy, call, "123456789012", tags) is (contains or not denied), action
    deny_all = Call("iam", "AttachUserPolicy", {**params, "PolicyArn": DENY_ALL}, 200)
    assert _allowed(policy, deny_all, "123456789012", tags)
