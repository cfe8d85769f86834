"""IAM's own input patterns, checked before anything reaches AWS."""

from __future__ import annotations

from bot.aws_patterns import ACCESS_KEY_ID, GROUP_NAME, USER_NAME
from bot.iam.errors import InvalidInput


def is_access_key_id(text: str) -> bool:
    return ACCESS_KEY_ID.fullmatch(text) is not None


def is_temporary_key_id(text: str) -> bool:
    """An STS key (a role's or a GetSessionToken session's): no IAM user holds it."""
    return text.upper().startswith("ASIA")


def user_name(text: str) -> str:
    if USER_NAME.fullmatch(text) is None:
        raise InvalidInput(
            "an IAM user name is 1-64 characters of letters, digits and + = , . @ _ -"
        )
    return text


def group_name(text: str) -> str:
    if GROUP_NAME.fullmatch(text) is None:
        raise InvalidInput(
            "an IAM group name is 1-128 characters of letters, digits and + = , . @ _ -"
        )
    return text


def access_key_id(text: str) -> str:
    if not is_access_key_id(text):
        raise InvalidInput("an access key ID looks like AKIA followed by 16 capitals or digits")
    return text
