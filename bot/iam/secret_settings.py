"""Slack's secrets read from AWS Secrets Manager or SSM Parameter Store, once, at start.

A function's environment is readable by anyone who may read its configuration, so on AWS Lambda
the environment says only where each secret lives: ``SLACK_BOT_TOKEN_SECRET_ARN`` (a Secrets
Manager secret's ARN or name) or ``SLACK_BOT_TOKEN_SSM_PARAMETER`` (a SecureString parameter's
name), and the same for ``SLACK_SIGNING_SECRET`` and ``SLACK_APP_TOKEN``. A secret's string is
the value itself, or a JSON object holding it under the variable's name (so one secret can hold
both of Slack's). What is read fills the variable in a copy of the environment, and
:func:`bot.process_settings.load_settings` then checks it like any other value.

A reference that cannot be read (missing, denied, empty) stops the start with one line naming
the setting and the reference, never a value.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from bot.config_error import ConfigError
from bot.iam import errors
from bot.iam.aws import Aws

SECRETS = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN")
SECRET_ARN = "_SECRET_ARN"
SSM_PARAMETER = "_SSM_PARAMETER"


def resolve_secrets(env: Mapping[str, str], aws: Aws) -> dict[str, str]:
    """``env`` with every Slack secret given by reference read from AWS (no AWS call when none
    is)."""
    resolved = dict(env)
    for name in SECRETS:
        given = [
            (suffix, env[name + suffix].strip())
            for suffix in (SECRET_ARN, SSM_PARAMETER)
            if env.get(name + suffix, "").strip()
        ]
        if not given:
            continue
        if len(given) > 1 or env.get(name, "").strip():
            choices = f"{name}, {name}{SECRET_ARN} or {name}{SSM_PARAMETER}"
            raise ConfigError(f"{name}: set only one of {choices}")
        suffix, reference = given[0]
        resolved[name] = _read(aws, name, suffix, reference)
    return resolved


def _read(aws: Aws, name: str, suffix: str, reference: str) -> str:
    setting = name + suffix
    try:
        if suffix == SECRET_ARN:
            text = aws.call("secretsmanager", "GetSecretValue", SecretId=reference)
            value = _named(text.get("SecretString") or "", name)
        else:
            answer = aws.call("ssm", "GetParameter", Name=reference, WithDecryption=True)
            value = answer["Parameter"].get("Value", "")
    except errors.IamError as exc:
        raise ConfigError(f"{setting}: cannot read {reference} ({exc.code or 'error'})") from None
    if not value.strip():
        raise ConfigError(f"{setting}: {reference} holds no text for {name}")
    return value.strip()


def _named(text: str, name: str) -> str:
    """The secret's string, or its ``name`` field when it is a JSON object."""
    try:
        parsed = json.loads(text)
    except ValueError:
        return text
    if isinstance(parsed, dict):
        value = parsed.get(name)
        return value if isinstance(value, str) else ""
    return text
