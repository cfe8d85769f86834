"""Handing a new access key to its owner through AWS Secrets Manager, never through chat.

The secret value only ever travels from IAM's CreateAccessKey answer straight into Secrets
Manager; what comes back (and what the bot shows, stores and logs) is the secret's ARN.
"""

from __future__ import annotations

import json
from typing import Any

from bot.iam import errors
from bot.iam.aws import Aws
from bot.iam.models import NewAccessKey


def store_access_key(
    aws: Aws, name: str, key: NewAccessKey, *, kms_key_id: str | None, token: str
) -> str:
    """Put the key pair in secret ``name`` (created if missing); returns the secret's ARN.

    ``token`` makes the write idempotent: a retry with the same token is the same version.
    """
    value = json.dumps({"AccessKeyId": key.key_id, "SecretAccessKey": key.secret.reveal()})
    try:
        answer = aws.call(
            "secretsmanager",
            "PutSecretValue",
            SecretId=name,
            SecretString=value,
            ClientRequestToken=token,
        )
    except errors.NotFound:
        params: dict[str, Any] = {
            "Name": name,
            "SecretString": value,
            "ClientRequestToken": token,
            "Description": f"Access key of IAM user {key.user_name}, delivered by iam-bot",
            "Tags": [{"Key": "iam-bot:user", "Value": key.user_name}],
        }
        if kms_key_id:
            params["KmsKeyId"] = kms_key_id
        answer = aws.call("secretsmanager", "CreateSecret", **params)
    return answer["ARN"]


def console_link(arn: str) -> str:
    region = arn.split(":")[3]
    name = arn.split(":secret:", 1)[1]
    return (
        f"https://{region}.console.aws.amazon.com/secretsmanager/secret?name={name}&region={region}"
    )
