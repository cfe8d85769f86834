"""IAM's own input patterns, checked before anything reaches AWS."""

from __future__ import annotations

import re

from bot.iam.errors import InvalidInput

# IAM's documented pattern for user, group and policy names; \w means ASCII here, as in IAM.
USER_NAME = re.compile(r"[\w+=,.@-]{1,64}", re.ASCII)
GROUP_NAME = re.compile(r"[\w+=,.@-]{1,128}", re.ASCII)
# Long-term (AKIA) and temporary (ASIA) access key IDs; IAM allows 16-128 characters in all.
ACCESS_KEY_ID = re.compile(r"A[KS]IA[A-Z0-9]{12,124}")


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
