"""One error family for everything the IAM module can fail with.

Callers never see botocore's ``ClientError``: they see one of these, each carrying what a person
needs to act (which entity, which permission the bot lacks) and nothing from AWS's raw payload
beyond its error code and message, which never contain secrets.
"""

from __future__ import annotations


class IamError(Exception):
    """Base of every failure the IAM module reports."""

    def __init__(self, message: str, *, code: str = "", operation: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.operation = operation


class InvalidInput(IamError):
    """The request is malformed before any AWS call is made (bad user name, bad key ID)."""


class NotFound(IamError):
    """The user, key or other entity does not exist."""


class Conflict(IamError):
    """The entity is in a state that forbids the change (e.g. DeleteConflict, already exists)."""


class ForeignSecret(IamError):
    """A secret the bot was about to write a credential into is not one it can vouch for: it
    did not create it, a resource policy lets others read it, or another KMS key encrypts it.
    ``secret`` names it; nothing was written to it. The bot's words, not AWS's (no code)."""

    def __init__(self, secret: str, why: str, remedy: str) -> None:
        super().__init__(f"Secret `{secret}` {why}: the bot wrote nothing to it ({remedy})")
        self.secret = secret


class LimitExceeded(IamError):
    """An IAM quota would be exceeded (two access keys per user, ten groups, ...)."""


class AccessDenied(IamError):
    """The bot's AWS identity lacks a permission; ``action`` names it (``iam:ListUsers``) and
    ``account`` the account it was refused in ("" for the bot's own, with its own credentials),
    so the person told can say both to whoever fixes it."""

    def __init__(
        self, message: str, *, action: str, code: str = "AccessDenied", account: str = ""
    ) -> None:
        super().__init__(message, code=code, operation=action.partition(":")[2])
        self.action = action
        self.account = account


class Throttled(IamError):
    """AWS kept throttling after botocore's retry mode gave up."""


class Unavailable(IamError):
    """AWS could not be reached or answered something unexpected."""
