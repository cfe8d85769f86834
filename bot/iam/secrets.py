"""Handing a new credential (access key, console password) to its owner through AWS Secrets
Manager, never through chat.

The secret value only ever travels from IAM's answer (or the bot's password generator) straight
into Secrets Manager; what comes back (and what the bot shows, stores and logs) is the secret's ARN.

Who can read a delivered secret is decided by the IAM policies of its account alone: the bot gives
it no resource policy, only the tag ``OWNER_TAG`` naming the IAM user it is for (which a policy
can match, so each user reads only their own), the tag ``MARKER_TAG`` saying the bot created it,
and, when configured, a customer KMS key (whose ``kms:Decrypt`` a reader then needs too). It
writes a credential only into a secret that is still so: one someone else made, or opened to
others, is refused before anything is written.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from bot.iam import account, credentials, errors
from bot.iam.aws import Aws
from bot.iam.models import NewAccessKey, Secret

OWNER_TAG = "iam-bot:user"  # on every secret the bot delivers: the IAM user it is for
# On every secret the bot creates, and required on every secret it writes (its policy requires
# it too: ``bot_policy.secret_scope``).
MARKER_TAG, MARKER = "iam-bot:created-by", "iam-bot"
DEFAULT_KMS_KEY = "alias/aws/secretsmanager"  # what encrypts a secret created without a key


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
    """Put ``value`` as JSON in secret ``name``; returns the secret's ARN.

    A missing secret is created, marked as the bot's (``MARKER_TAG``). An existing one is
    written only if it is the bot's own as it stands now (see :func:`require_own`), else
    :class:`errors.ForeignSecret`: anyone who may create secrets could otherwise choose who
    reads the next credential. The write names the ARN just checked, so a secret deleted and
    made again under the same name in between is not written either.

    ``Secret`` values are revealed here and nowhere else. ``token`` makes the write idempotent:
    a retry with the same token is the same version. ``description``, ``tags`` and
    ``kms_key_id`` apply when the secret is created.
    """
    plain = {k: v.reveal() if isinstance(v, Secret) else v for k, v in value.items()}
    text = json.dumps(plain)
    found = _described(aws, name)
    if found is None:
        params: dict[str, Any] = {
            "Name": name,
            "SecretString": text,
            "ClientRequestToken": token,
            "Description": description,
            "Tags": [{"Key": k, "Value": v} for k, v in {**tags, MARKER_TAG: MARKER}.items()],
        }
        if kms_key_id:
            params["KmsKeyId"] = kms_key_id
        try:
            return aws.call("secretsmanager", "CreateSecret", **params)["ARN"]
        except errors.Conflict:  # made meanwhile, by a lost answer of ours or by someone else
            found = aws.call("secretsmanager", "DescribeSecret", SecretId=name)
    require_own(aws, found, kms_key_id)
    answer = aws.call(
        "secretsmanager",
        "PutSecretValue",
        SecretId=found["ARN"],
        SecretString=text,
        ClientRequestToken=token,
    )
    return answer["ARN"]


def _described(aws: Aws, name: str) -> dict[str, Any] | None:
    try:
        return aws.call("secretsmanager", "DescribeSecret", SecretId=name)
    except errors.NotFound:
        return None


def require_storable(aws: Aws, name: str, kms_key_id: str | None) -> None:
    """Refuse (:class:`errors.ForeignSecret`) secret ``name`` now, before a credential is
    made for it, if it exists and is not the bot's own as :func:`require_own` says; a
    missing one is made, marked, when the credential is stored. :func:`store_secret` checks
    again as it writes: the secret can change in between."""
    if (found := _described(aws, name)) is not None:
        require_own(aws, found, kms_key_id)


def require_own(aws: Aws, described: Mapping[str, Any], kms_key_id: str | None) -> None:
    """Refuse (:class:`errors.ForeignSecret`) a secret, as DescribeSecret shows it, that the
    bot did not create, that a resource policy opens to others, or that another KMS key than
    the configured one (Secrets Manager's own by default) encrypts."""
    name = described.get("Name") or described["ARN"]
    marks = {t["Key"]: t["Value"] for t in described.get("Tags") or []}
    if marks.get(MARKER_TAG) != MARKER:
        why = f"was not created by iam-bot (no tag {MARKER_TAG})"
        raise errors.ForeignSecret(name, why, _REMAKE)
    policy = aws.call("secretsmanager", "GetResourcePolicy", SecretId=described["ARN"])
    if policy.get("ResourcePolicy"):
        why = "has a resource policy, which can let others read it"
        raise errors.ForeignSecret(name, why, "remove the policy, then retry")
    used = described.get("KmsKeyId") or DEFAULT_KMS_KEY
    if _key_name(used) != _key_name(kms_key_id or DEFAULT_KMS_KEY):
        why = f"is encrypted with KMS key {used}, not the configured one"
        raise errors.ForeignSecret(name, why, _REMAKE)


# A deleted secret keeps its name through its recovery window: the bot could not make it anew.
_REMAKE = "delete it without a recovery window, then retry"


def _key_name(key: str) -> str:
    """A KMS key as its ID or ``alias/...``, whether given by that or by its ARN."""
    if ":alias/" in key:
        return "alias/" + key.split(":alias/", 1)[1]
    return key.rsplit(":key/", 1)[-1]


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
    part without the hyphen and six characters Secrets Manager appends to it (encoded: a user
    name may hold `+`, which a query string reads as a space)."""
    region = region_of(arn)
    name = quote(arn.split(":secret:", 1)[1][: -len("-abcdef")], safe="/")
    return (
        f"https://{region}.console.aws.amazon.com/secretsmanager/secret?name={name}&region={region}"
    )


def read_command(arn: str) -> str:
    """The AWS CLI command that prints a delivered secret, for whoever may read it."""
    return (
        f"aws secretsmanager get-secret-value --secret-id {arn} "
        f"--region {region_of(arn)} --query SecretString --output text"
    )
