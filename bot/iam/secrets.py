"""Handing a new credential (access key, console password) to its owner through AWS Secrets
Manager, never through chat.

The secret value only ever travels from IAM's answer (or the bot's password generator) straight
into Secrets Manager; what comes back (and what the bot shows, stores and logs) is the secret's ARN.

Who can read a delivered secret is decided by the IAM policies of its account alone: the bot gives
it no resource policy, only the tag ``OWNER_TAG`` naming the IAM user it is for (which a policy
can match, so each user reads only their own) and, when configured, a customer KMS key (whose
``kms:Decrypt`` a reader then needs too).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

from bot.iam import account, credentials, errors
from bot.iam.aws import Aws
from bot.iam.models import NewAccessKey, Secret

OWNER_TAG = "iam-bot:user"  # on every secret the bot delivers: the IAM user it is for


def store_secret(
    aws: Aws,
    name: str,
    value: Mapping[str, str | Secret],
    *,
    kms_key_id: str | None,
    token: str,
    description: str,
    tags: Mapping[str, str],
) -> str:
    """Put ``value`` as JSON in secret ``name`` (created if missing); returns the secret's ARN.

    ``Secret`` values are revealed here and nowhere else. ``token`` makes the write idempotent:
    a retry with the same token is the same version. ``description``, ``tags`` and
    ``kms_key_id`` apply when the secret is created.
    """
    plain = {k: v.reveal() if isinstance(v, Secret) else v for k, v in value.items()}
    text = json.dumps(plain)
    try:
        answer = aws.call(
            "secretsmanager",
            "PutSecretValue",
            SecretId=name,
            SecretString=text,
            ClientRequestToken=token,
        )
    except errors.NotFound:
        params: dict[str, Any] = {
            "Name": name,
            "SecretString": text,
            "ClientRequestToken": token,
            "Description": description,
            "Tags": [{"Key": k, "Value": v} for k, v in tags.items()],
        }
        if kms_key_id:
            params["KmsKeyId"] = kms_key_id
        answer = aws.call("secretsmanager", "CreateSecret", **params)
    return answer["ARN"]


def store_access_key(
    aws: Aws, name: str, key: NewAccessKey, *, kms_key_id: str | None, token: str
) -> str:
    """Put the key pair in secret ``name`` (created if missing); returns the secret's ARN."""
    return store_secret(
        aws,
        name,
        {"AccessKeyId": key.key_id, "SecretAccessKey": key.secret},
        kms_key_id=kms_key_id,
        token=token,
        description=f"Access key of IAM user {key.user_name}, delivered by iam-bot",
        tags={OWNER_TAG: key.user_name},
    )


def issue_console_password(
    aws: Aws, user: str, name: str, *, kms_key_id: str | None, console_url: str | None = None
) -> str:
    """Give ``user`` a new console password, reset required at first sign-in, delivered in
    secret ``name``; returns the secret's ARN.

    Into Secrets Manager first, then IAM: if IAM fails, the secret holds a password that opens
    nothing, and the next attempt replaces both. A login profile an earlier attempt created
    (its answer lost) gets the stored password instead.
    """
    password = credentials.generate_password(account.password_policy(aws))
    value: dict[str, str | Secret] = {"UserName": user, "Password": password}
    if console_url:
        value["ConsoleUrl"] = console_url
    arn = store_secret(
        aws,
        name,
        value,
        kms_key_id=kms_key_id,
        token=str(uuid.uuid4()),  # a new password is a new version
        description=f"Console password of IAM user {user}, delivered by iam-bot",
        tags={OWNER_TAG: user},
    )
    try:
        credentials.create_login_profile(aws, user, password, reset_required=True)
    except errors.Conflict as exc:
        if exc.code != "EntityAlreadyExists":
            raise
        credentials.set_password(aws, user, password, reset_required=True)
    return arn


def region_of(arn: str) -> str:
    return arn.split(":")[3]


def account_of(arn: str) -> str:
    return arn.split(":")[4]


def console_link(arn: str) -> str:
    """The secret's page in the AWS console, which finds a secret by its name: the ARN's last
    part without the hyphen and six characters Secrets Manager appends to it."""
    region = region_of(arn)
    name = arn.split(":secret:", 1)[1][: -len("-abcdef")]
    return (
        f"https://{region}.console.aws.amazon.com/secretsmanager/secret?name={name}&region={region}"
    )


def read_command(arn: str) -> str:
    """The AWS CLI command that prints a delivered secret, for whoever may read it."""
    return (
        f"aws secretsmanager get-secret-value --secret-id {arn} "
        f"--region {region_of(arn)} --query SecretString --output text"
    )
