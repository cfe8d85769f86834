"""The faithful layer across the accounts of an Organization, and STS's AssumeRole rules.

moto lets an assumed role's credentials act in the role's account but checks nothing when the
role is assumed and forgets SourceIdentity and session tags; the proxy checks as STS does and
records who acted where. Everything goes through ordinary boto3 clients at ``endpoint_url``.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from sandbox.aws import FaithfulAws

ASKER = "U456@T123"
TAGS = {"request": "R-42", "approvers": "U1+U2"}
_NO_RETRY = Config(retries={"mode": "standard", "total_max_attempts": 1})


_BOTO = boto3.session.Session(region_name="us-east-1")  # one session: its models load once


def _client(aws: FaithfulAws, service: str, creds: dict[str, str] | None = None) -> Any:
    """A client at the proxy: with ``creds`` (an assumed role's), else dummy credentials."""
    keys = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    if creds is not None:
        keys = {
            "aws_access_key_id": creds["AccessKeyId"],
            "aws_secret_access_key": creds["SecretAccessKey"],
            "aws_session_token": creds["SessionToken"],
        }
    return _BOTO.client(service, endpoint_url=aws.endpoint_url, config=_NO_RETRY, **keys)


def _assume(sts: Any, role_arn: str, **extra: Any) -> dict[str, Any]:
    return sts.assume_role(RoleArn=role_arn, RoleSessionName="iam-bot", **extra)


def _code(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = exc.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


@pytest.fixture
def staging(aws: FaithfulAws) -> str:
    """A member account with the bot's role in it, requiring a source identity."""
    account = aws.add_account("staging")
    aws.add_bot_role(account)
    return account


def _member_iam(aws: FaithfulAws, account: str, identity: str = ASKER) -> Any:
    """IAM at the proxy as the bot's role in ``account``, on behalf of ``identity``."""
    role = f"arn:aws:iam::{account}:role/iam-bot-action"
    tags = [{"Key": k, "Value": v} for k, v in TAGS.items()]
    creds = _assume(_client(aws, "sts"), role, SourceIdentity=identity, Tags=tags)
    return _client(aws, "iam", creds["Credentials"])


def test_accounts_are_named_and_the_management_account_is_the_default(
    aws: FaithfulAws, staging: str
) -> None:
    production = aws.add_account("production")
    assert aws.accounts() == {
        "management": aws.account_id,
        "staging": staging,
        "production": production,
    }
    listed = aws.client("organizations").list_accounts()["Accounts"]
    assert {staging, production} <= {a["Id"] for a in listed}


def test_a_user_made_in_a_member_account_is_recorded_there_with_who_asked(
    aws: FaithfulAws, staging: str
) -> None:
    _member_iam(aws, staging).create_user(UserName="eve")

    management = [u["UserName"] for u in _client(aws, "iam").list_users()["Users"]]
    assert "eve" not in management
    assert aws.client("iam", staging).get_user(UserName="eve")["User"]["UserName"] == "eve"
    [created] = aws.calls("CreateUser")
    assert (created.account, created.source_identity, created.session_tags) == (
        staging,
        ASKER,
        TAGS,
    )
    assert aws.count("CreateUser", account=staging) == 1
    assert aws.count("CreateUser", account=aws.account_id) == 0


def test_a_member_accounts_key_is_not_visible_through_the_management_account(
    aws: FaithfulAws, staging: str
) -> None:
    member = aws.client("iam", staging)
    member.create_user(UserName="leaky")
    key_id = member.create_access_key(UserName="leaky")["AccessKey"]["AccessKeyId"]

    with pytest.raises(ClientError) as denied:
        _client(aws, "iam").get_access_key_last_used(AccessKeyId=key_id)
    assert _code(denied) == ("AccessDenied", 403)
    assert _member_iam(aws, staging).get_access_key_last_used(AccessKeyId=key_id)["UserName"] == (
        "leaky"
    )
    assert _client(aws, "sts").get_access_key_info(AccessKeyId=key_id)["Account"] == staging


def test_a_role_requiring_a_source_identity_is_assumed_only_with_one(
    aws: FaithfulAws, staging: str
) -> None:
    sts = _client(aws, "sts")
    role = f"arn:aws:iam::{staging}:role/iam-bot-action"

    with pytest.raises(ClientError) as denied:
        _assume(sts, role)
    assert _code(denied) == ("AccessDenied", 403)
    assumed = _assume(sts, role, SourceIdentity=ASKER)
    assert assumed["SourceIdentity"] == ASKER
    session_key = assumed["Credentials"]["AccessKeyId"]
    assert sts.get_access_key_info(AccessKeyId=session_key)["Account"] == staging


def test_a_role_not_requiring_one_is_assumed_without(aws: FaithfulAws) -> None:
    account = aws.add_account("sandbox")
    role = aws.add_bot_role(account, "open", require_source_identity=False)
    creds = _assume(_client(aws, "sts"), role)["Credentials"]
    _client(aws, "iam", creds).create_user(UserName="quiet")
    [created] = aws.calls("CreateUser")
    assert (created.account, created.source_identity, created.session_tags) == (account, None, {})


@pytest.mark.parametrize("identity", ["U456 T123", "a" * 65, "aws:U456", "U456#T123"])
def test_an_invalid_source_identity_is_a_validation_error(
    aws: FaithfulAws, staging: str, identity: str
) -> None:
    with pytest.raises(ClientError) as invalid:
        _member_iam(aws, staging, identity)
    assert _code(invalid) == ("ValidationError", 400)


@pytest.mark.parametrize(
    "tags",
    [
        [{"Key": f"k{n}", "Value": "v"} for n in range(51)],
        [{"Key": "k" * 129, "Value": "v"}],
        [{"Key": "k", "Value": "v" * 257}],
    ],
)
def test_session_tags_are_limited(aws: FaithfulAws, staging: str, tags: list[Any]) -> None:
    role = f"arn:aws:iam::{staging}:role/iam-bot-action"
    with pytest.raises(ClientError) as invalid:
        _assume(_client(aws, "sts"), role, SourceIdentity=ASKER, Tags=tags)
    assert _code(invalid) == ("ValidationError", 400)


def test_a_role_that_does_not_exist_or_does_not_trust_the_caller_is_denied(
    aws: FaithfulAws, staging: str
) -> None:
    sts = _client(aws, "sts")
    other = aws.add_account("other")
    aws.client("iam", other).create_role(
        RoleName="closed",
        AssumeRolePolicyDocument=(
            '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", '
            '"Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "sts:AssumeRole"}]}'
        ),
    )
    for role in (f"arn:aws:iam::{staging}:role/missing", f"arn:aws:iam::{other}:role/closed"):
        with pytest.raises(ClientError) as denied:
            _assume(sts, role, SourceIdentity=ASKER)
        assert _code(denied) == ("AccessDenied", 403)


def test_a_chained_session_keeps_its_source_identity(aws: FaithfulAws, staging: str) -> None:
    production = aws.add_account("production")
    aws.client("iam", production).create_role(
        RoleName="next",
        AssumeRolePolicyDocument=(
            '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": '
            f'{{"AWS": "arn:aws:iam::{staging}:root"}}, "Action": ["sts:AssumeRole", '
            '"sts:SetSourceIdentity"], "Condition": {"Null": {"sts:SourceIdentity": "false"}}}]}'
        ),
    )
    role = f"arn:aws:iam::{staging}:role/iam-bot-action"
    first = _assume(_client(aws, "sts"), role, SourceIdentity=ASKER)["Credentials"]
    chained = _client(aws, "sts", first)
    second = f"arn:aws:iam::{production}:role/next"

    with pytest.raises(ClientError) as denied:
        _assume(chained, second, SourceIdentity="U999@T123")
    assert _code(denied) == ("AccessDenied", 403)
    creds = _assume(chained, second)["Credentials"]
    _client(aws, "iam", creds).create_user(UserName="chained")
    [created] = aws.calls("CreateUser")
    assert (created.account, created.source_identity) == (production, ASKER)


def test_delete_user_conflicts_in_a_member_account(aws: FaithfulAws, staging: str) -> None:
    iam = _member_iam(aws, staging)
    iam.create_user(UserName="holder")
    iam.create_access_key(UserName="holder")

    with pytest.raises(ClientError) as conflict:
        iam.delete_user(UserName="holder")
    assert _code(conflict) == ("DeleteConflict", 409)
    assert aws.client("iam", staging).get_user(UserName="holder")["User"]["UserName"] == "holder"


def test_the_credential_report_has_each_accounts_own_root(aws: FaithfulAws, staging: str) -> None:
    aws.root_of(staging).mfa_active = False
    for iam, account, mfa in ((_member_iam(aws, staging), staging, "false"),
                              (_client(aws, "iam"), aws.account_id, "true")):  # fmt: skip
        iam.generate_credential_report()
        lines = iam.get_credential_report()["Content"].decode().splitlines()
        root = dict(zip(lines[0].split(","), lines[1].split(","), strict=True))
        assert (root["arn"], root["mfa_active"]) == (f"arn:aws:iam::{account}:root", mfa)


def test_reset_forgets_accounts_and_what_the_proxy_kept_for_them(
    aws: FaithfulAws, staging: str
) -> None:
    faithful = aws.client("iam", staging, faithful=True)
    faithful.create_user(UserName="coder")
    faithful.create_service_specific_credential(
        UserName="coder", ServiceName="codecommit.amazonaws.com"
    )

    aws.reset()

    assert aws.accounts() == {"management": aws.account_id}
    again = aws.client("iam", staging, faithful=True)  # the same account ID, made anew
    again.create_user(UserName="coder")
    listed = again.list_service_specific_credentials(UserName="coder")
    assert listed["ServiceSpecificCredentials"] == []
