"""The CloudFormation templates in deploy/ lint clean, pass an infrastructure security scanner
(checkov: every finding fixed or skipped in the template with its reason), and agree with the
code they deploy: the member role (and the central role of a single-account deployment) grants
exactly the derived policy, with the same denies when the member role is given protected users;
the member role's trust demands a source identity (and the Organization, when there is one); the
table is the one dynamo.py makes and checks; and the handler is the module's."""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import re
import subprocess
import sys
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.access import dynamo
from bot.access.backends import open_store
from bot.access.store import Record
from bot.iam.bot_policy import identity_center_policy
from tests.fixtures.project import ROOT, derived_policy, dev_tool, parliament_findings

DEPLOY = ROOT / "deploy"
TEMPLATES = sorted(DEPLOY.glob("*.yaml"))
HANDLER = "bot.lambda_handler.handler"


# --- reading a template -----------------------------------------------------------------------


class _CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short forms (``!Ref x``, ``!GetAtt a.b``, ``!Sub ...``) read
    as their long forms, so a test compares what CloudFormation would see."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


_CfnLoader.add_multi_constructor("!", _intrinsic)


def _template(name: str) -> dict[str, Any]:
    return yaml.load((DEPLOY / name).read_text(), Loader=_CfnLoader)  # a SafeLoader


def _resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {
        name: resource["Properties"]
        for name, resource in template["Resources"].items()
        if resource["Type"] == kind
    }


def _one(template: dict[str, Any], kind: str) -> dict[str, Any]:
    (properties,) = _resources(template, kind).values()
    return properties


def _policies(template: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Every IAM policy document in a template (trust policies included), named for messages."""
    found = []
    for name, resource in template["Resources"].items():
        properties = resource.get("Properties", {})
        if "AssumeRolePolicyDocument" in properties:
            found.append(
                (f"{name} trust", _as_resource_policy(properties["AssumeRolePolicyDocument"]))
            )
        if "PolicyDocument" in properties:
            found.append((name, properties["PolicyDocument"]))
        for policy in properties.get("Policies", []):
            found.append((f"{name} {policy['PolicyName']}", policy["PolicyDocument"]))
    return found


def _as_resource_policy(trust: dict[str, Any]) -> dict[str, Any]:
    """A trust policy is the role's resource policy: each statement acts on the role itself.
    Parliament reads policies with a Resource only, so the role is named, and then it checks
    the actions and that each condition key applies to them."""
    role = "arn:aws:iam::111122223333:role/example"
    return {**trust, "Statement": [{**s, "Resource": role} for s in trust["Statement"]]}


# Example values for what a policy refers to, so parliament reads ARNs as CloudFormation makes them.
_EXAMPLES = {
    "AWS::Partition": "aws",
    "AWS::Region": "eu-west-1",
    "AWS::AccountId": "111122223333",
    "MemberRoleName": "iam-bot-action",
    "TrustedService": "lambda.amazonaws.com",
    "OrgReaderRoleArn": "arn:aws:iam::444455556666:role/iam-bot-org-reader",
    "ExtraActionRoleArns": ["arn:aws:iam::444455556666:role/iam-bot-prod"],
    "CentralRoleArn": "arn:aws:iam::111122223333:role/iam-bot",
    "OrganizationId": "o-abcdefghij",
    "ProtectedUserNames": ["break-glass-admin", "Deploy-Bot"],
    "SlackBotTokenSecretArn": "arn:aws:secretsmanager:eu-west-1:111122223333:secret:bot-AbCdEf",
    "SlackSigningSecretSecretArn": "arn:aws:secretsmanager:eu-west-1:111122223333:secret:sig-AbCdEf",
    "Table.Arn": "arn:aws:dynamodb:eu-west-1:111122223333:table/iam-bot-Table-1",
    "Function.Arn": "arn:aws:lambda:eu-west-1:111122223333:function:iam-bot",
    "LogGroup.Arn": "arn:aws:logs:eu-west-1:111122223333:log-group:/aws/lambda/iam-bot:*",
    "CentralEventBusArn": "arn:aws:events:us-east-1:111122223333:event-bus/default",
    "EventsOrganizationId": "o-abcdefghij",
    "KeyAlarmsQueue.Arn": "arn:aws:sqs:eu-west-1:111122223333:iam-bot-events-iam-bot",
    "KeyAlarms.Arn": "arn:aws:events:eu-west-1:111122223333:rule/iam-bot-KeyAlarms-1",
}
_NO_VALUE = object()
_EVERY_CONDITION_TRUE: dict[str, bool] = defaultdict(lambda: True)


def _resolve(node: Any) -> Any:
    """A template fragment with its intrinsic functions replaced by the example values (the
    true branch of an ``Fn::If``), as a JSON document parliament can read."""
    return _evaluate(node, _EXAMPLES, _EVERY_CONDITION_TRUE)


def _evaluate(node: Any, values: dict[str, Any], conditions: dict[str, bool]) -> Any:
    """``node`` as CloudFormation would make it with these parameter ``values`` and
    ``conditions``: the intrinsic functions the templates' policies use, evaluated."""

    def ev(sub: Any) -> Any:
        return _evaluate(sub, values, conditions)

    if isinstance(node, list):
        return [v for v in map(ev, node) if v is not _NO_VALUE]
    if not isinstance(node, dict):
        return node
    if "Ref" in node:
        return _NO_VALUE if node["Ref"] == "AWS::NoValue" else values[node["Ref"]]
    if "Fn::GetAtt" in node:
        return values[".".join(node["Fn::GetAtt"])]
    if "Fn::If" in node:
        name, true, false = node["Fn::If"]
        return ev(true if conditions[name] else false)
    if "Fn::Sub" in node:
        text, own = node["Fn::Sub"] if isinstance(node["Fn::Sub"], list) else (node["Fn::Sub"], {})
        names = {**values, **ev(own)}
        return re.sub(r"\$\{([^}]+)\}", lambda m: names[m.group(1)], text)
    if "Fn::Join" in node:
        separator, parts = node["Fn::Join"]
        return separator.join(ev(parts))
    if "Fn::Split" in node:
        separator, text = node["Fn::Split"]
        return ev(text).split(separator)
    if "Fn::Equals" in node:
        left, right = ev(node["Fn::Equals"])
        return left == right
    if "Fn::Not" in node:
        (value,) = ev(node["Fn::Not"])
        return not value
    if "Fn::And" in node:
        return all(ev(node["Fn::And"]))
    if set(node) == {"Condition"}:  # a condition named inside another
        return conditions[node["Condition"]]
    return {key: ev(value) for key, value in node.items()}


# --- cfn-lint and parliament ------------------------------------------------------------------


def _cfn_lint(*paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [dev_tool("cfn-lint"), "--", *map(str, paths)],
        capture_output=True,
        text=True,
        check=False,
    )


def _checkov(directory: Path) -> dict[str, Any]:
    """checkov's CloudFormation checks on ``directory``, offline (no download, no version
    check, no Bridgecrew mapping), as JSON. It runs from the venv of its own that the Makefile
    makes inside the dev venv: checkov pins boto3 and packaging below the bot's."""
    exe = Path(sys.executable).parent.parent / "checkov" / "bin" / "checkov"
    if not exe.exists():
        pytest.fail(f"checkov is not installed at {exe} (`make test` installs it)")
    offline = {"BC_SKIP_MAPPING": "TRUE", "CKV_SKIP_PACKAGE_UPDATE_CHECK": "True"}
    result = subprocess.run(
        [str(exe), "-d", str(directory), "--framework", "cloudformation", "--skip-download",
         "--compact", "--quiet", "-o", "json"],
        capture_output=True, text=True, check=False, env={**os.environ, **offline}, timeout=300,
    )  # fmt: skip
    return json.loads(result.stdout)


def test_checkov_finds_nothing_and_every_skip_says_why() -> None:
    report = _checkov(DEPLOY)
    summary = report["summary"]
    assert (summary["failed"], summary["parsing_errors"]) == (0, 0), [
        (f["check_id"], f["resource"]) for f in report["results"]["failed_checks"]
    ]
    assert summary["passed"] >= 60  # it did read every template
    skipped = _checkov_skips()
    assert len(skipped) == summary["skipped"]
    assert all(len(reason) > 60 for reason in skipped.values()), skipped


def _checkov_skips() -> dict[tuple[str, str, str], str]:
    """Every checkov skip in the templates: (template, resource, check) -> its reason."""
    return {
        (path.name, name, skip["id"]): " ".join(skip.get("comment", "").split())
        for path in TEMPLATES
        for name, resource in _template(path.name)["Resources"].items()
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    }


def test_checkov_would_catch_a_skip_removed(tmp_path: Path) -> None:
    text = (DEPLOY / "lambda.yaml").read_text().replace("- id: CKV_AWS_258", "- id: CKV_AWS_0")
    (tmp_path / "lambda.yaml").write_text(text)
    failed = _checkov(tmp_path)["results"]["failed_checks"]
    assert [(f["check_id"], f["resource"]) for f in failed] == [
        ("CKV_AWS_258", "AWS::Lambda::Url.Url")
    ]


def test_the_templates_are_the_expected_six() -> None:
    assert [p.name for p in TEMPLATES] == [
        "central.yaml",
        "ecs.yaml",
        "identity-center-role.yaml",
        "lambda.yaml",
        "member-role.yaml",
        "org-reader-role.yaml",
    ]


def test_cfn_lint_passes_on_every_template() -> None:
    result = _cfn_lint(*TEMPLATES)
    assert result.returncode == 0, result.stdout + result.stderr


def test_cfn_lint_would_catch_a_broken_template(tmp_path: Path) -> None:
    broken = (DEPLOY / "central.yaml").read_text().replace("BillingMode:", "BilingMode:")
    (tmp_path / "central.yaml").write_text(broken)
    result = _cfn_lint(tmp_path / "central.yaml")
    assert result.returncode != 0 and "BilingMode" in result.stdout


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_parliament_finds_nothing_in_any_policy(path: Path) -> None:
    for name, policy in _policies(_template(path.name)):
        assert parliament_findings(_resolve(policy)) == [], f"{path.name}: {name}"


@pytest.mark.parametrize(
    ("template", "policy", "slip", "issue"),
    [
        (
            "central.yaml",
            "Role iam-bot-central",
            {"Action": "iam:DeleteUser", "Resource": "*"},
            "RESOURCE_STAR",
        ),
        ("member-role.yaml", "Role trust", {"Action": "sts:AssumeRoll"}, "UNKNOWN_ACTION"),
    ],
)
def test_parliament_would_catch_a_slip_in_a_template_policy(
    template: str, policy: str, slip: dict[str, str], issue: str
) -> None:
    """What the test above resolves and hands over still gets judged: a sloppy statement
    slipped into a template's policy (or trust) is found."""
    document = dict(_policies(_template(template)))[policy]
    sloppy = {**document, "Statement": [{**document["Statement"][0], **slip}]}
    assert issue in {f["issue"] for f in parliament_findings(_resolve(sloppy))}


# --- the member role: the derived policy, a trust that names who and from where ---------------


def _role(template: str) -> dict[str, Any]:
    """The role a template is for, by its logical name (member-role.yaml also has the role
    EventBridge forwards AWS's alarms with)."""
    return _resources(_template(template), "AWS::IAM::Role")["Role"]


def _member_role() -> dict[str, Any]:
    return _role("member-role.yaml")


def _made(name: str, **parameters: str) -> tuple[dict[str, Any], dict[str, bool]]:
    """Template ``name``'s parameter values (``parameters``, the rest at their defaults) and
    its conditions as CloudFormation would hold them."""
    template = _template(name)
    values: dict[str, Any] = {**_EXAMPLES}
    for key, parameter in template["Parameters"].items():
        value = parameters.get(key, parameter.get("Default", _EXAMPLES.get(key)))
        is_list = parameter["Type"] == "CommaDelimitedList"
        values[key] = value.split(",") if is_list and isinstance(value, str) else value
    conditions: dict[str, bool] = {}
    for key, condition in template["Conditions"].items():  # one may name one above it
        conditions[key] = _evaluate(condition, values, conditions)
    return values, conditions


def _role_policies(name: str, document: dict[str, Any], **parameters: str) -> dict[str, Any]:
    """``document`` with the statements of template ``name``'s role policies on ``Role``
    whose condition holds with these parameters (as :func:`_made` makes them)."""
    values, conditions = _made(name, **parameters)
    for resource in _template(name)["Resources"].values():
        if resource["Type"] == "AWS::IAM::RolePolicy" and conditions[resource["Condition"]]:
            assert resource["Properties"]["RoleName"] == {"Ref": "Role"}
            added = _evaluate(resource["Properties"]["PolicyDocument"], values, conditions)
            document["Statement"] += added["Statement"]
    return document


def _member_policy(**parameters: str) -> dict[str, Any]:
    """What the member role may do, as CloudFormation makes it from these parameters (the rest
    at their defaults): its own policy's statements, then those of the role policies (the
    protected users' denies) whose condition holds, as one document."""
    values, conditions = _made("member-role.yaml", **parameters)
    (policy,) = _member_role()["Policies"]
    document = _evaluate(policy["PolicyDocument"], values, conditions)
    return _role_policies("member-role.yaml", document, **parameters)


def _home_account_iam(**parameters: str) -> dict[str, Any]:
    """What the central role may do in IAM with ActInHomeAccount=true and these parameters: its
    role policies (the derived policy, and the protected users' denies) as one document."""
    empty = {"Version": "2012-10-17", "Statement": []}
    return _role_policies("central.yaml", empty, ActInHomeAccount="true", **parameters)


def _resources_sorted(document: dict[str, Any]) -> dict[str, Any]:
    """Resource lists in order (IAM reads them as sets; the template lists names, then paths)."""
    statements = [
        {**s, "Resource": sorted(s["Resource"])} if isinstance(s["Resource"], list) else s
        for s in document["Statement"]
    ]
    return {**document, "Statement": statements}


def test_member_role_grants_exactly_the_derived_policy() -> None:
    policy = _member_policy()
    derived = derived_policy()
    assert policy == derived, (
        "deploy/member-role.yaml's PolicyDocument must be the derived policy:\n"
        + yaml.safe_dump(derived, sort_keys=False)
    )
    assert json.loads((DEPLOY / "iam-policy.json").read_text()) == policy
    assert "ManagedPolicyArns" not in _member_role()


@pytest.mark.parametrize(
    "protected",
    [
        ["tag:protected=true"],
        ["break-glass-admin"],
        ["tag:protected=true", "break-glass-admin", "Deploy-Bot"],
    ],
    ids=["tag", "one name", "tag and names"],
)
def test_member_role_denies_what_the_derived_policy_denies_protected_users(
    protected: list[str],
) -> None:
    """ProtectTaggedUsers and ProtectedUserNames give the role the Deny statements `iam-bot
    policy` derives for the same protected_users: the same actions, on the same users."""
    names = [entry for entry in protected if not entry.startswith("tag:")]
    policy = _member_policy(
        ProtectedUserNames=",".join(names),
        ProtectTaggedUsers="true" if "tag:protected=true" in protected else "false",
    )
    derived = derived_policy(yaml.safe_dump({"protected_users": protected}))
    assert any(s["Effect"] == "Deny" for s in derived["Statement"])
    assert _resources_sorted(policy) == _resources_sorted(derived)


@pytest.mark.parametrize(
    "protected",
    [
        [],
        ["tag:protected=true"],
        ["break-glass-admin"],
        ["tag:protected=true", "break-glass-admin", "Deploy-Bot"],
    ],
    ids=["none", "tag", "one name", "tag and names"],
)
def test_a_single_account_central_role_denies_what_the_derived_policy_denies(
    protected: list[str],
) -> None:
    """With ActInHomeAccount=true the central role is the one that acts: ProtectTaggedUsers and
    ProtectedUserNames give it the derived policy's denies, as they give the member role."""
    names = [entry for entry in protected if not entry.startswith("tag:")]
    policy = _home_account_iam(
        ProtectedUserNames=",".join(names),
        ProtectTaggedUsers="true" if "tag:protected=true" in protected else "false",
    )
    derived = derived_policy(yaml.safe_dump({"protected_users": protected}))
    assert _resources_sorted(policy) == _resources_sorted(derived)
    for template in ("lambda.yaml", "ecs.yaml"):
        parameters = _central_stack(template)["Parameters"]
        assert parameters["ProtectTaggedUsers"] == {"Ref": "ProtectTaggedUsers"}
        assert parameters["ProtectedUserNames"] == {
            "Fn::Join": [",", {"Ref": "ProtectedUserNames"}]
        }


def test_member_role_default_name_is_the_one_the_bot_assumes() -> None:
    parameters = _template("member-role.yaml")["Parameters"]
    assert parameters["RoleName"]["Default"] == "iam-bot-action"
    assert _member_role()["RoleName"] == {"Ref": "RoleName"}


def _trust(template: str) -> dict[str, Any]:
    (statement,) = _role(template)["AssumeRolePolicyDocument"]["Statement"]
    return statement


@pytest.mark.parametrize("template", ["member-role.yaml", "org-reader-role.yaml"])
def test_only_the_central_role_from_inside_the_organization_may_assume(template: str) -> None:
    trust = _trust(template)
    assert trust["Effect"] == "Allow"
    assert trust["Principal"] == {"AWS": {"Ref": "CentralRoleArn"}}
    assert set(trust["Action"]) == {"sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"}
    in_organization = _resolve(trust["Condition"]["StringEquals"])  # the If's true branch
    assert in_organization == {"aws:PrincipalOrgID": _EXAMPLES["OrganizationId"]}


def test_member_role_needs_no_organization() -> None:
    """Without an Organization (OrganizationId left empty) the trust names the central role
    alone; with one, it also demands the caller be inside it."""
    template = _template("member-role.yaml")
    assert template["Parameters"]["OrganizationId"]["Default"] == ""
    assert re.fullmatch(template["Parameters"]["OrganizationId"]["AllowedPattern"], "")
    assert template["Conditions"]["InOrganization"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "OrganizationId"}, ""]}]
    }
    condition, member, outside = _trust("member-role.yaml")["Condition"]["StringEquals"]["Fn::If"]
    assert condition == "InOrganization"
    assert member == {"aws:PrincipalOrgID": {"Ref": "OrganizationId"}}
    assert outside == {"Ref": "AWS::NoValue"}


def test_member_role_refuses_a_session_without_source_identity() -> None:
    """``Null: false`` on sts:SourceIdentity: the key must be present, so an AssumeRole that
    names nobody matches no Allow and is denied."""
    assert _trust("member-role.yaml")["Condition"]["Null"] == {"sts:SourceIdentity": "false"}


def test_org_reader_can_list_the_organization_only() -> None:
    (policy,) = _one(_template("org-reader-role.yaml"), "AWS::IAM::Role")["Policies"]
    actions = {a for s in policy["PolicyDocument"]["Statement"] for a in s["Action"]}
    assert actions == {"organizations:ListAccounts", "organizations:DescribeOrganization"}


def test_identity_center_role_grants_exactly_the_derived_identity_center_policy() -> None:
    """Only the Identity Center and identity store calls the code can reach, and none of them
    in the role of every account."""
    (policy,) = _role("identity-center-role.yaml")["Policies"]
    assert policy["PolicyDocument"] == identity_center_policy()
    assert not [a for a in derived_policy()["Statement"][0]["Action"] if a.startswith("sso:")]
    member = json.dumps(derived_policy())
    assert "identitystore:" not in member and '"sso:' not in member


def test_identity_center_role_needs_a_source_identity_from_the_central_role() -> None:
    trust = _trust("identity-center-role.yaml")
    assert trust["Principal"] == {"AWS": {"Ref": "CentralRoleArn"}}
    assert set(trust["Action"]) == {"sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"}
    assert trust["Condition"]["Null"] == {"sts:SourceIdentity": "false"}
    assert _resolve(trust["Condition"]["StringEquals"]) == {
        "aws:PrincipalOrgID": _EXAMPLES["OrganizationId"]
    }


# --- the central role: written once, used by both deployments --------------------------------


def _home_account_policy() -> dict[str, Any]:
    return _template("central.yaml")["Resources"]["HomeAccountIam"]


def test_a_single_account_deployment_gives_the_central_role_the_derived_policy() -> None:
    """ActInHomeAccount=true (one account, no `accounts:`): the bot acts with the central role's
    own credentials, so that role holds exactly `iam-bot policy`, and nothing otherwise."""
    resource = _home_account_policy()
    assert resource["Condition"] == "ActsInHomeAccount"
    assert _template("central.yaml")["Conditions"]["ActsInHomeAccount"] == {
        "Fn::Equals": [{"Ref": "ActInHomeAccount"}, "true"]
    }
    assert resource["Properties"]["RoleName"] == {"Ref": "Role"}
    assert resource["Properties"]["PolicyDocument"] == derived_policy()
    for template in ("lambda.yaml", "ecs.yaml"):
        parameters = _central_stack(template)["Parameters"]
        assert parameters["ActInHomeAccount"] == {"Ref": "ActInHomeAccount"}
        assert _template(template)["Parameters"]["ActInHomeAccount"]["Default"] == "false"


def test_per_account_roles_of_the_config_can_be_assumed() -> None:
    """A config's `accounts.list[].role` is another role name: ExtraActionRoleArns lets the
    central role assume it (and only when given)."""
    resource = _template("central.yaml")["Resources"]["ExtraActionRoles"]
    assert resource["Condition"] == "AssumesExtraRoles"
    (statement,) = resource["Properties"]["PolicyDocument"]["Statement"]
    assert _resolve(statement)["Resource"] == _EXAMPLES["ExtraActionRoleArns"]
    for template in ("lambda.yaml", "ecs.yaml"):
        assert _central_stack(template)["Parameters"]["ExtraActionRoleArns"] == {
            "Fn::Join": [",", {"Ref": "ExtraActionRoleArns"}]
        }


def _central_stack(template: str) -> dict[str, Any]:
    return _one(_template(template), "AWS::CloudFormation::Stack")


@pytest.mark.parametrize(
    ("template", "service"),
    [("lambda.yaml", "lambda.amazonaws.com"), ("ecs.yaml", "ecs-tasks.amazonaws.com")],
)
def test_both_deployments_share_the_central_role_and_table(template: str, service: str) -> None:
    stack = _central_stack(template)
    assert stack["TemplateURL"] == "central.yaml"
    assert stack["Parameters"]["TrustedService"] == service
    allowed = _template("central.yaml")["Parameters"]["TrustedService"]["AllowedValues"]
    assert service in allowed
    assert not _resources(_template(template), "AWS::DynamoDB::Table")


def test_central_role_may_assume_the_member_and_listing_roles() -> None:
    role = _one(_template("central.yaml"), "AWS::IAM::Role")
    (policy,) = role["Policies"]
    statements = {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}
    assume = _resolve(statements["AssumeActionAndListingRoles"])
    assert set(assume["Action"]) == {"sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"}
    assert assume["Resource"] == [
        "arn:aws:iam::*:role/iam-bot-action",
        _EXAMPLES["OrgReaderRoleArn"],
    ]
    assert not any(a.startswith("iam:") for s in statements.values() for a in s["Action"])
    # the IAM rights of a single-account deployment are a separate, conditional policy
    assert "Condition" in _home_account_policy()


# --- the table: the one dynamo.py makes and checks --------------------------------------------


def _table_shape(description: dict[str, Any]) -> dict[str, Any]:
    (index,) = description["GlobalSecondaryIndexes"]
    return {
        "KeySchema": description["KeySchema"],
        "AttributeDefinitions": sorted(
            description["AttributeDefinitions"], key=lambda a: a["AttributeName"]
        ),
        "Index": (index["IndexName"], index["KeySchema"], index["Projection"]),
        "BillingMode": description["BillingModeSummary"]["BillingMode"],
    }


def test_template_table_is_the_one_dynamo_creates_and_accepts(aws) -> None:
    table = _one(_template("central.yaml"), "AWS::DynamoDB::Table")
    db = dynamo.client()
    from_code, from_template = (f"iam-bot-{uuid.uuid4().hex[:8]}" for _ in range(2))
    dynamo.create_table(from_code)
    db.create_table(
        TableName=from_template,
        **{
            key: table[key]
            for key in (
                "BillingMode",
                "KeySchema",
                "AttributeDefinitions",
                "GlobalSecondaryIndexes",
            )
        },
    )
    db.update_time_to_live(
        TableName=from_template, TimeToLiveSpecification=table["TimeToLiveSpecification"]
    )
    shapes = [
        _table_shape(db.describe_table(TableName=t)["Table"]) for t in (from_code, from_template)
    ]
    assert shapes[0] == shapes[1]
    ttls = [
        db.describe_time_to_live(TableName=t)["TimeToLiveDescription"]
        for t in (from_code, from_template)
    ]
    assert (
        ttls[1] == ttls[0] == {"TimeToLiveStatus": "ENABLED", "AttributeName": dynamo.TTL_ATTRIBUTE}
    )
    store = open_store(f"dynamodb://{from_template}")  # the bot's own checks accept it
    store.put_if_version(Record("r1", "request", "pending", {}))
    assert [r.id for r in store.list_by_state("request", ["pending"])] == ["r1"]


def test_table_is_kept_and_recoverable() -> None:
    resource = _template("central.yaml")["Resources"]["Table"]
    assert resource["DeletionPolicy"] == resource["UpdateReplacePolicy"] == "Retain"
    properties = resource["Properties"]
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}


# --- Lambda and ECS: what each runs -----------------------------------------------------------


def test_lambda_runs_the_handler_with_its_settings() -> None:
    function = _one(_template("lambda.yaml"), "AWS::Serverless::Function")
    assert function["Handler"] == HANDLER and function["Runtime"] == "python3.11"
    assert set(function["Environment"]["Variables"]) >= {
        "IAM_BOT_STATE",
        "IAM_BOT_CONFIG",
        "SLACK_BOT_TOKEN_SECRET_ARN",
        "SLACK_SIGNING_SECRET_SECRET_ARN",
    }
    assert function["Environment"]["Variables"]["IAM_BOT_STATE"] == {
        "Fn::Sub": "dynamodb://${Central.Outputs.TableName}"
    }


def test_lambda_may_invoke_itself_and_is_ticked_every_minute() -> None:
    template = _template("lambda.yaml")
    own = _one(template, "AWS::IAM::RolePolicy")
    assert own["RoleName"] == {"Fn::GetAtt": ["Central", "Outputs.RoleName"]}
    invoke = [
        s for s in own["PolicyDocument"]["Statement"] if s["Action"] == "lambda:InvokeFunction"
    ]
    assert [s["Resource"] for s in invoke] == [{"Fn::GetAtt": ["Function", "Arn"]}]
    schedule = _one(template, "AWS::Scheduler::Schedule")
    assert schedule["ScheduleExpression"] == "rate(1 minute)"
    assert schedule["Target"]["Arn"] == {"Fn::GetAtt": ["Function", "Arn"]}
    assert json.loads(schedule["Target"]["Input"]) == {"source": "iam-bot.tick"}


def test_lambdas_own_invocations_are_never_retried_late() -> None:
    """A lazy listener's invocation carries Slack's signed request, refused after five
    minutes: Lambda must neither retry it nor run it once that window may be over."""
    function = _one(_template("lambda.yaml"), "AWS::Serverless::Function")
    assert function["EventInvokeConfig"] == {
        "MaximumRetryAttempts": 0,
        "MaximumEventAgeInSeconds": 240,
    }


def test_lambda_handler_is_importable() -> None:
    module, _, name = HANDLER.rpartition(".")
    if importlib.util.find_spec(module) is None:
        pytest.skip(
            f"{module} is not written yet (issue 13, AWS Lambda): lambda.yaml names {HANDLER}"
        )
    assert callable(getattr(importlib.import_module(module), name))


def test_ecs_serves_two_tasks_behind_the_health_check() -> None:
    template = _template("ecs.yaml")
    assert template["Parameters"]["DesiredCount"]["MinValue"] >= 2
    assert template["Parameters"]["DesiredCount"]["Default"] >= 2
    assert (
        _one(template, "AWS::ElasticLoadBalancingV2::TargetGroup")["HealthCheckPath"] == "/healthz"
    )
    route = _one(template, "AWS::ElasticLoadBalancingV2::ListenerRule")
    assert route["Conditions"] == [
        {"Field": "path-pattern", "PathPatternConfig": {"Values": ["/slack/events"]}}
    ]
    default = _one(template, "AWS::ElasticLoadBalancingV2::Listener")["DefaultActions"]
    assert [a["Type"] for a in default] == ["fixed-response"]  # /metrics stays inside the VPC
    (container,) = _one(template, "AWS::ECS::TaskDefinition")["ContainerDefinitions"]
    assert container["EntryPoint"] + container["Command"] == ["iam-bot", "serve"]
    assert container["Image"] == {"Ref": "Image"}
    secrets = {s["Name"]: s["ValueFrom"] for s in container["Secrets"]}
    assert secrets == {
        "SLACK_BOT_TOKEN": {"Ref": "SlackBotTokenSecretArn"},
        "SLACK_SIGNING_SECRET": {"Ref": "SlackSigningSecretSecretArn"},
    }
    environment = {e["Name"] for e in container["Environment"]}
    assert not environment & set(secrets)  # the secrets never sit in plain environment


def test_aws_alarms_about_keys_reach_the_bot_in_both_deployments_and_from_members() -> None:
    """One event pattern (the four sources bot/iam/signals.py reads) in the three rules: the
    Lambda's and the server's fill a queue with a dead-letter queue (Lambda polls the one for
    the function, handing back what the function could not store; the server's URL is in the
    task's environment), a member account's forwards to the home account's bus."""
    lam, ecs, member = (_template(t) for t in ("lambda.yaml", "ecs.yaml", "member-role.yaml"))
    rules = [
        _resources(lam, "AWS::Events::Rule")["KeyAlarms"],
        _resources(ecs, "AWS::Events::Rule")["KeyAlarms"],
        _resources(member, "AWS::Events::Rule")["ForwardKeyAlarms"],
    ]
    assert rules[0]["EventPattern"] == rules[1]["EventPattern"] == rules[2]["EventPattern"]
    sources = {s for case in rules[0]["EventPattern"]["$or"] for s in case["source"]}
    assert sources == {"aws.health", "aws.iam", "aws.guardduty", "aws.trustedadvisor"}
    queued = {"Fn::GetAtt": ["KeyAlarmsQueue", "Arn"]}
    assert rules[0]["Targets"][0]["Arn"] == rules[1]["Targets"][0]["Arn"] == queued
    for template in (lam, ecs):
        queue = _resources(template, "AWS::SQS::Queue")["KeyAlarmsQueue"]
        assert queue["RedrivePolicy"] == {
            "deadLetterTargetArn": {"Fn::GetAtt": ["KeyAlarmsDeadLetters", "Arn"]},
            "maxReceiveCount": 5,
        }
        assert queue["QueueName"]["Fn::Sub"].startswith("iam-bot-events")  # the policy's prefix
        (sends,) = _one(template, "AWS::SQS::QueuePolicy")["PolicyDocument"]["Statement"]
        assert sends["Principal"] == {"Service": "events.amazonaws.com"}
        assert sends["Condition"] == {
            "ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": ["KeyAlarms", "Arn"]}}
        }
    assert not _resources(lam, "AWS::Lambda::Permission").get("KeyAlarmsInvoke")
    poll = _one(lam, "AWS::Lambda::EventSourceMapping")
    assert poll["EventSourceArn"] == queued and poll["FunctionName"] == {"Ref": "Function"}
    assert poll["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    function = _one(lam, "AWS::Serverless::Function")
    visibility = _resources(lam, "AWS::SQS::Queue")["KeyAlarmsQueue"]["VisibilityTimeout"]
    assert visibility >= function["Timeout"]  # else Lambda refuses the mapping
    own = _one(lam, "AWS::IAM::RolePolicy")["PolicyDocument"]["Statement"]
    (reads,) = [s for s in own if s["Resource"] == queued]
    assert set(reads["Action"]) == {
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
    }
    (container,) = _one(ecs, "AWS::ECS::TaskDefinition")["ContainerDefinitions"]
    assert {"Name": "IAM_BOT_EVENTS_QUEUE_URL", "Value": {"Ref": "KeyAlarmsQueue"}} in container[
        "Environment"
    ]
    assert rules[2]["Targets"][0]["Arn"] == {"Ref": "CentralEventBusArn"}
