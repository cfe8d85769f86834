"""An operator's first hour: `iam-bot --version`, `iam-bot config check` and the startup check
prove an IAM read in every configured account and name what is missing in one line; the
region is the one the operator set (``AWS_REGION`` or ``AWS_DEFAULT_REGION``) and is named."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest

from sandbox.aws import FaithfulAws
from sandbox.slack_api import FakeSlack
from tests.fixtures.accounts import ROLE, Org, listed_config
from tests.fixtures.serve import cli, serve_env, serve_once, serve_until_up
from tests.fixtures.slack import CONFIG

DENIED = {"code": "AccessDenied", "status": 403, "message": "not authorized to perform this"}


@pytest.fixture
def aws_env(aws: FaithfulAws) -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL": aws.endpoint_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }


def _config(tmp_path: Path, text: str) -> str:
    path = tmp_path / "iam-bot.yml"
    path.write_text(text)
    return str(path)


def test_version() -> None:
    result = cli("--version", env=serve_env())
    assert (result.returncode, result.stdout.strip()) == (0, "iam-bot 0.1.0")


def test_config_check_reads_iam_in_the_one_account(aws_env, tmp_path: Path) -> None:
    config = _config(tmp_path, CONFIG)
    result = cli("config", "check", env=serve_env(**aws_env, IAM_BOT_CONFIG=config))
    assert result.returncode == 0, result.stderr
    first, line = result.stdout.splitlines()
    assert first.startswith(f"config {config}, one account, region us-east-1, as arn:aws:")
    assert line == "ok   this account (the bot's own credentials): IAM read (iam:GetAccountSummary)"


def test_config_check_names_missing_iam_rights_in_one_line(
    aws: FaithfulAws, aws_env, tmp_path: Path
) -> None:
    """The central role of central.yaml with no `accounts:`: every command would be denied."""
    aws.fail("GetAccountSummary", **DENIED)
    result = cli("config", "check", env=serve_env(**aws_env))
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "iam-bot: AWS: cannot read IAM in 1 of 1 account: this account (the bot's own "
        "credentials): iam:GetAccountSummary denied: the bot has no IAM rights here (deploy "
        "central.yaml with ActInHomeAccount=true, or give the bot `accounts:` and member-role.yaml)"
    ]


def _org_without_role_in(aws: FaithfulAws, missing: str) -> Org:
    """The three accounts of an Organization, the bot's role deployed in all but one."""
    ids = {"management": aws.accounts()["management"]}
    ids |= {name: aws.add_account(name) for name in ("staging", "production")}
    for name, account in ids.items():
        if name != missing:
            aws.add_bot_role(account, ROLE)
    return Org(**ids)


def test_config_check_names_the_account_whose_role_refuses(
    aws: FaithfulAws, aws_env, tmp_path: Path
) -> None:
    org = _org_without_role_in(aws, "production")
    config = _config(tmp_path, listed_config(org))
    result = cli("config", "check", env=serve_env(**aws_env, IAM_BOT_CONFIG=config))
    assert result.returncode == 2
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"config {config}, several accounts, region us-east-1")
    role = f"arn:aws:iam::{org.production}:role/iam-bot-action"
    assert lines[1:] == [
        f"ok   management ({org.management}): IAM read (iam:GetAccountSummary)",
        f"ok   staging ({org.staging}): IAM read (iam:GetAccountSummary)",
        f"FAIL production ({org.production}): cannot assume {role} (missing, or its trust "
        "policy refuses the bot: deploy member-role.yaml there)",
    ]
    (line,) = result.stderr.splitlines()
    assert line.startswith(
        f"iam-bot: AWS: cannot read IAM in 1 of 3 accounts: production ({org.production})"
    )
    checks = aws.calls("GetAccountSummary")
    assert {c.account for c in checks} == {org.management, org.staging}
    assert {c.source_identity for c in checks} == {"iam-bot-config-check"}  # never anonymous


def test_startup_names_config_mode_and_region(aws_env, slack: FakeSlack, tmp_path: Path) -> None:
    config = _config(tmp_path, CONFIG)
    env = serve_env(
        **aws_env,
        AWS_REGION="eu-west-1",
        SLACK_API_URL=slack.api_url,
        IAM_BOT_CONFIG=config,
        IAM_BOT_STATE=f"sqlite:///{tmp_path}/s.db",
    )
    (line,) = serve_until_up(env)
    assert f"(HTTP), config {config}, one account, region eu-west-1, as arn:aws:" in line


def test_startup_stops_when_iam_can_be_read_nowhere(
    aws: FaithfulAws, aws_env, slack: FakeSlack, tmp_path: Path
) -> None:
    aws.fail("GetAccountSummary", **DENIED)
    env = serve_env(
        **aws_env, SLACK_API_URL=slack.api_url, IAM_BOT_STATE=f"sqlite:///{tmp_path}/s.db"
    )
    result = serve_once(env)
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith("iam-bot: AWS: cannot read IAM in 1 of 1 account")
    assert "ActInHomeAccount=true" in line
    assert not slack.calls()  # stopped before it asked Slack anything


def test_startup_warns_of_one_account_and_serves_the_others(
    aws: FaithfulAws, aws_env, slack: FakeSlack, tmp_path: Path
) -> None:
    org = _org_without_role_in(aws, "staging")
    env = serve_env(
        **aws_env,
        SLACK_API_URL=slack.api_url,
        IAM_BOT_CONFIG=_config(tmp_path, listed_config(org)),
        IAM_BOT_STATE=f"sqlite:///{tmp_path}/s.db",
    )
    warning, up = serve_until_up(env)
    assert " WARNING iam-bot: AWS: cannot read IAM in 1 of 3 accounts: staging" in warning
    assert "listening on port" in up and "several accounts" in up


@pytest.mark.parametrize("variable", ["AWS_REGION", "AWS_DEFAULT_REGION"])
def test_store_create_makes_the_table_in_the_region_set_and_names_it(
    aws: FaithfulAws, aws_env, variable: str
) -> None:
    env = serve_env(**aws_env)
    env.pop("AWS_DEFAULT_REGION")
    env[variable] = "eu-west-2"
    result = cli("store", "create", "--state", f"dynamodb://made-{variable.lower()}", env=env)
    assert result.returncode == 0, result.stderr
    assert f"created DynamoDB table made-{variable.lower()} in eu-west-2 " in result.stdout

    def tables(region: str) -> list[str]:
        client = boto3.client(
            "dynamodb", endpoint_url=aws.endpoint_url, region_name=region,
            aws_access_key_id="testing", aws_secret_access_key="testing",
        )  # fmt: skip
        return client.list_tables()["TableNames"]

    assert f"made-{variable.lower()}" in tables("eu-west-2")
    assert f"made-{variable.lower()}" not in tables("us-east-1")
