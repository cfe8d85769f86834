"""Demo data: a small, realistic Organization for the demo (``make demo``) and tests that want one.

Everything is created through boto3 against the faithful layer, like any client would, except
what no API can set (key ages and last use, user ages), which is backdated inside moto. Each
person shows one thing the bot should notice: alice's key is old but in use (used
minutes ago: a rotation holds it until someone decides), bob's is new and unused, carol has
everything an offboarding must remove, dave has two active keys (one over 400 days old), and
break-glass-admin is a protected account. That is the management account, the bot's home; two
member accounts, staging and production, have the bot's role too: dave has users in both, and
production's CI user has a key that leaked (used minutes ago).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import NameOID

from sandbox.aws import FaithfulAws

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
#: The role the bot assumes in every account, and the read-only one it lists the Organization with.
BOT_ROLE = "iam-bot-action"
LISTING_ROLE = "iam-bot-org-reader"
MEMBER_ACCOUNTS = ("staging", "production")

_BOUNDARY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": ["s3:*", "ec2:Describe*", "codecommit:*"], "Resource": "*"}
    ],
}


def seed_demo(aws: FaithfulAws) -> dict[str, str]:
    """Fill an empty FaithfulAws with the demo Organization: the management account (users,
    keys, groups, policies) and its members (see :func:`_seed_members`).

    Returns the seeded key IDs by a stable name (``dave.old-key``; a member account's keys
    start with its name: ``production.ci-deployer.key``): IAM makes up new IDs on every run,
    and a demo script needs to name the leaked key it looks up.
    """
    keys = _seed_management(aws)
    keys |= _seed_members(aws)
    _seed_identity_center(aws)
    return keys


IDENTITY_CENTER_ROLE = "iam-bot-identity-center"  # deploy/identity-center-role.yaml's


def _seed_identity_center(aws: FaithfulAws) -> None:
    """IAM Identity Center in the management account: dave signs in there too, with Admin in
    production and ReadOnly in staging of his own, and ReadOnly in production through the
    Engineers group he shares with alice; the bot's Identity Center role."""
    aws.add_bot_role(aws.account_id, IDENTITY_CENTER_ROLE)
    accounts = aws.accounts()
    sso, store = aws.client("sso-admin"), aws.client("identitystore")
    instance = sso.list_instances()["Instances"][0]
    arn, store_id = instance["InstanceArn"], instance["IdentityStoreId"]
    people = {
        name: store.create_user(
            IdentityStoreId=store_id,
            UserName=name,
            DisplayName=name.title(),
            Name={"GivenName": name.title(), "FamilyName": "Example"},
            Emails=[{"Value": f"{name}@example.com", "Type": "work", "Primary": True}],
        )["UserId"]
        for name in ("dave", "alice")
    }
    sets = {
        name: sso.create_permission_set(InstanceArn=arn, Name=name, SessionDuration=hours)[
            "PermissionSet"
        ]["PermissionSetArn"]
        for name, hours in (("Admin", "PT8H"), ("ReadOnly", "PT4H"))
    }
    engineers = store.create_group(IdentityStoreId=store_id, DisplayName="Engineers")["GroupId"]
    for user in people.values():
        store.create_group_membership(
            IdentityStoreId=store_id, GroupId=engineers, MemberId={"UserId": user}
        )
    given = [
        (people["dave"], "USER", "production", "Admin"),
        (people["dave"], "USER", "staging", "ReadOnly"),
        (engineers, "GROUP", "production", "ReadOnly"),
    ]
    for principal, kind, account, permission_set in given:
        sso.create_account_assignment(
            InstanceArn=arn,
            TargetId=accounts[account],
            TargetType="AWS_ACCOUNT",
            PermissionSetArn=sets[permission_set],
            PrincipalType=kind,
            PrincipalId=principal,
        )


def _seed_members(aws: FaithfulAws) -> dict[str, str]:
    """Staging and production, the bot's role in each account (the listing role in the
    management account), dave in both, and production's CI key that leaked."""
    now = datetime.now(UTC)
    accounts = {name: aws.add_account(name) for name in MEMBER_ACCOUNTS}
    for account in (aws.account_id, *accounts.values()):
        aws.add_bot_role(account, BOT_ROLE)
    aws.add_bot_role(aws.account_id, LISTING_ROLE, require_source_identity=False)
    keys: dict[str, str] = {}
    for name, account in accounts.items():
        iam = aws.client("iam", account, faithful=True)
        _user(iam, "dave", {"email": "dave@example.com"})
        aws.backdate_user("dave", now - timedelta(days=500), account_id=account)
        used = (now - timedelta(days=3), "ec2", "eu-west-1")
        keys[f"{name}.dave.key"] = _key(aws, iam, "dave", now - timedelta(days=120), used)
    production = aws.client("iam", accounts["production"], faithful=True)
    _user(production, "ci-deployer", {"purpose": "deploys from CI"})
    aws.backdate_user("ci-deployer", now - timedelta(days=700), account_id=accounts["production"])
    used = (now - timedelta(minutes=5), "s3", "us-east-1")
    keys["production.ci-deployer.key"] = _key(
        aws, production, "ci-deployer", now - timedelta(days=300), used
    )
    return keys


def _seed_management(aws: FaithfulAws) -> dict[str, str]:
    """The bot's home account: each person shows one thing the bot should notice."""
    iam = aws.client("iam", faithful=True)
    now = datetime.now(UTC)

    def days(n: float) -> datetime:
        return now - timedelta(days=n)

    def minutes(n: float) -> datetime:
        return now - timedelta(minutes=n)

    for group in ("developers", "oncall"):
        iam.create_group(GroupName=group)
    read_only = aws.add_aws_managed_policy("ReadOnlyAccess")
    admin = aws.add_aws_managed_policy("AdministratorAccess")
    aws.add_aws_managed_policy("IAMUserChangePassword")  # what `/iam onboard --console` attaches
    boundary = iam.create_policy(
        PolicyName="developer-boundary",
        PolicyDocument=json.dumps(_BOUNDARY),
        Description="Permissions boundary for developers",
    )["Policy"]["Arn"]

    _user(iam, "alice", {"slack-user-id": "U0ALICE", "email": "alice@example.com"})
    aws.backdate_user("alice", days(540))
    keys = {"alice.key": _key(aws, iam, "alice", days(200), (minutes(30), "s3", "us-east-1"))}

    _user(iam, "bob", {"email": "bob@example.com"})
    aws.backdate_user("bob", days(21))
    keys["bob.key"] = _key(aws, iam, "bob", days(20), None)

    _user(iam, "carol", {"slack-user-id": "U0CAROL"})
    aws.backdate_user("carol", days(300), password_last_used=days(2))
    iam.create_login_profile(
        UserName="carol", Password=secrets.token_urlsafe(18), PasswordResetRequired=False
    )
    enable_virtual_mfa(iam, "carol", "carol")
    iam.upload_signing_certificate(UserName="carol", CertificateBody=certificate("carol"))
    iam.upload_ssh_public_key(UserName="carol", SSHPublicKeyBody=ssh_public_key())
    iam.create_service_specific_credential(UserName="carol", ServiceName="codecommit.amazonaws.com")
    for group in ("developers", "oncall"):
        iam.add_user_to_group(GroupName=group, UserName="carol")
    iam.put_user_policy(
        UserName="carol", PolicyName="payments-repo", PolicyDocument=json.dumps(_READ_CODE)
    )
    iam.attach_user_policy(UserName="carol", PolicyArn=read_only)
    iam.put_user_permissions_boundary(UserName="carol", PermissionsBoundary=boundary)
    keys["carol.key"] = _key(aws, iam, "carol", days(80), (days(60), "ec2", "eu-west-1"))

    _user(iam, "dave", None)
    aws.backdate_user("dave", days(800))
    keys["dave.old-key"] = _key(aws, iam, "dave", days(400), (days(1), "iam", "us-east-1"))
    keys["dave.new-key"] = _key(aws, iam, "dave", days(10), None)

    _user(iam, "break-glass-admin", {"purpose": "emergency access"})
    aws.backdate_user("break-glass-admin", days(1000))
    iam.attach_user_policy(UserName="break-glass-admin", PolicyArn=admin)
    keys["break-glass-admin.key"] = _key(
        aws, iam, "break-glass-admin", days(700), (days(330), "iam", "us-east-1")
    )
    return keys


def certificate(common_name: str = "iam-bot-sandbox") -> str:
    """A real self-signed X.509 certificate: moto, like IAM, refuses a malformed one."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def ssh_public_key() -> str:
    public = ed25519.Ed25519PrivateKey.generate().public_key()
    return public.public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    ).decode()


def enable_virtual_mfa(iam: Any, user: str, device_name: str) -> str:
    serial = iam.create_virtual_mfa_device(VirtualMFADeviceName=device_name)["VirtualMFADevice"]
    iam.enable_mfa_device(
        UserName=user,
        SerialNumber=serial["SerialNumber"],
        AuthenticationCode1="123456",
        AuthenticationCode2="654321",
    )
    return serial["SerialNumber"]


@dataclass(frozen=True)
class Attached:
    """What :func:`attach_everything` hung off a user, to look for in plans and snapshots."""

    keys: list[str]
    mfa_serial: str
    managed_policies: list[str]
    groups: list[str]
    inline_policies: list[str]


def attach_everything(
    iam: Any,
    user: str,
    *,
    keys: int = 2,
    certificates: int = 1,
    ssh_keys: int = 1,
    service_credentials: int = 1,
    groups: int = 2,
    managed_policies: int = 1,
    inline_policies: int = 1,
    tags: dict[str, str] | None = None,
) -> Attached:
    """Create ``user`` with one (or more) of everything IAM lets hang off a user.

    Login profile, access keys, a signing certificate, an SSH key, a service-specific
    credential, an enabled virtual MFA device, inline and managed policies, group memberships,
    a permissions boundary and tags: all that DeleteUser waits for, and the two it does not.
    """
    _user(iam, user, tags or {"team": "payments"})
    key_ids = [
        iam.create_access_key(UserName=user)["AccessKey"]["AccessKeyId"] for _ in range(keys)
    ]
    iam.create_login_profile(
        UserName=user, Password=secrets.token_urlsafe(18), PasswordResetRequired=True
    )
    for _ in range(certificates):
        iam.upload_signing_certificate(UserName=user, CertificateBody=certificate(user))
    for _ in range(ssh_keys):
        iam.upload_ssh_public_key(UserName=user, SSHPublicKeyBody=ssh_public_key())
    for _ in range(service_credentials):
        iam.create_service_specific_credential(
            UserName=user, ServiceName="codecommit.amazonaws.com"
        )
    serial = enable_virtual_mfa(iam, user, f"{user}-phone")
    inline = [f"{user}-inline-{i}" for i in range(inline_policies)]
    for name in inline:
        iam.put_user_policy(UserName=user, PolicyName=name, PolicyDocument=json.dumps(_READ_CODE))
    managed = [
        iam.create_policy(PolicyName=f"{user}-managed-{i}", PolicyDocument=json.dumps(_READ_CODE))[
            "Policy"
        ]["Arn"]
        for i in range(managed_policies)
    ]
    for arn in managed:
        iam.attach_user_policy(UserName=user, PolicyArn=arn)
    boundary = iam.create_policy(
        PolicyName=f"{user}-boundary", PolicyDocument=json.dumps(_BOUNDARY)
    )
    iam.put_user_permissions_boundary(UserName=user, PermissionsBoundary=boundary["Policy"]["Arn"])
    group_names = [f"{user}-group-{i}" for i in range(groups)]
    for group in group_names:
        iam.create_group(GroupName=group)
        iam.add_user_to_group(GroupName=group, UserName=user)
    return Attached(key_ids, serial, managed, group_names, inline)


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
