"""Demo data: a small, realistic account for ``iam-bot demo`` (and tests that want one).

Everything is created through boto3 against the faithful layer, like any client would, except
what no API can set (key ages and last use, user ages), which is backdated inside moto. Each
person shows one thing the bot should notice: alice's key is old but in use, bob's is new and
unused, carol has everything an offboarding must remove, dave has two active keys (one over
400 days old), and break-glass-admin is a protected account.
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3

from bot.sandbox.aws import FaithfulAws

#: Slack user id -> (display name, e-mail) of the demo's people. The security lead has no IAM
#: user; dave is linked by his e-mail's local part only (no tags).
DEMO_PEOPLE: dict[str, tuple[str, str]] = {
    "U0ALICE": ("alice", "alice@example.com"),
    "U0BOB": ("bob", "bob@example.com"),
    "U0CAROL": ("carol", "carol@example.com"),
    "U0DAVE": ("dave", "dave@example.com"),
    "U0SECLEAD": ("seclead", "seclead@example.com"),
}

_READ_CODE = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": ["codecommit:GitPull", "codecommit:GitPush"],
            "Resource": "arn:aws:codecommit:eu-west-1:123456789012:payments",
        }
    ],
}
_BOUNDARY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": ["s3:*", "ec2:Describe*", "codecommit:*"], "Resource": "*"}
    ],
}


def seed_demo(aws: FaithfulAws) -> None:
    """Fill an empty FaithfulAws with the demo account (users, keys, groups, policies)."""
    iam = _iam(aws)
    now = datetime.now(UTC)

    def days(n: float) -> datetime:
        return now - timedelta(days=n)

    for group in ("developers", "oncall"):
        iam.create_group(GroupName=group)
    read_only = aws.add_aws_managed_policy("ReadOnlyAccess")
    admin = aws.add_aws_managed_policy("AdministratorAccess")
    boundary = iam.create_policy(
        PolicyName="developer-boundary",
        PolicyDocument=json.dumps(_BOUNDARY),
        Description="Permissions boundary for developers",
    )["Policy"]["Arn"]

    _user(iam, "alice", {"slack-user-id": "U0ALICE", "email": "alice@example.com"})
    aws.backdate_user("alice", days(540))
    _key(aws, iam, "alice", days(200), (days(3), "s3", "us-east-1"))

    _user(iam, "bob", {"email": "bob@example.com"})
    aws.backdate_user("bob", days(21))
    _key(aws, iam, "bob", days(20), None)

    _user(iam, "carol", {"slack-user-id": "U0CAROL"})
    aws.backdate_user("carol", days(300), password_last_used=days(2))
    iam.create_login_profile(
        UserName="carol", Password=secrets.token_urlsafe(18), PasswordResetRequired=False
    )
    serial = iam.create_virtual_mfa_device(VirtualMFADeviceName="carol")["VirtualMFADevice"][
        "SerialNumber"
    ]
    iam.enable_mfa_device(
        UserName="carol",
        SerialNumber=serial,
        AuthenticationCode1="123456",
        AuthenticationCode2="654321",
    )
    for group in ("developers", "oncall"):
        iam.add_user_to_group(GroupName=group, UserName="carol")
    iam.put_user_policy(
        UserName="carol", PolicyName="payments-repo", PolicyDocument=json.dumps(_READ_CODE)
    )
    iam.attach_user_policy(UserName="carol", PolicyArn=read_only)
    iam.put_user_permissions_boundary(UserName="carol", PermissionsBoundary=boundary)
    _key(aws, iam, "carol", days(50), (days(60), "ec2", "eu-west-1"))

    _user(iam, "dave", None)
    aws.backdate_user("dave", days(800))
    _key(aws, iam, "dave", days(400), (days(1), "iam", "us-east-1"))
    _key(aws, iam, "dave", days(10), None)

    _user(iam, "break-glass-admin", {"purpose": "emergency access"})
    aws.backdate_user("break-glass-admin", days(1000))
    iam.attach_user_policy(UserName="break-glass-admin", PolicyArn=admin)
    _key(aws, iam, "break-glass-admin", days(700), (days(330), "iam", "us-east-1"))


def _iam(aws: FaithfulAws) -> Any:
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    return session.client("iam", endpoint_url=aws.endpoint_url)


def _user(iam: Any, name: str, tags: dict[str, str] | None) -> None:
    tag_list = [{"Key": k, "Value": v} for k, v in (tags or {}).items()]
    iam.create_user(UserName=name, Tags=tag_list)


def _key(
    aws: FaithfulAws,
    iam: Any,
    user: str,
    created: datetime,
    last_used: tuple[datetime, str, str] | None,
) -> str:
    key_id: str = iam.create_access_key(UserName=user)["AccessKey"]["AccessKeyId"]
    aws.backdate_access_key(key_id, created, last_used)
    return key_id
