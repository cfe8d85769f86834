"""Which AWS account a call acts in, and on whose behalf: the scope every gateway call runs in.

The scope is set once where work starts (a command, a button, a run of an approved request, a
scheduled step) and read by the gateway for every call under it, so no workflow can forget to
say who asked: an AWS call made for a chat user runs in an assumed-role session whose
``SourceIdentity`` is that user and whose session tags carry the request and its approvers.
CloudTrail then records, for every change, the person in chat who asked for it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

# What STS accepts in SourceIdentity and RoleSessionName: 2-64 of these characters.
_STS_NAME = re.compile(r"[^\w+=,.@-]")
# What STS accepts in a session tag's value: up to 256 of these.
_TAG_VALUE = re.compile(r"[^\w\s.:/=+@-]")
REQUEST_TAG = "iam-bot:request"
APPROVERS_TAG = "iam-bot:approvers"


@dataclass(frozen=True)
class Account:
    """An AWS account the bot acts in; ``role_arn`` None acts with the bot's own credentials
    (a single-account setup with no ``accounts:`` config)."""

    id: str
    name: str
    role_arn: str | None = None

    @property
    def label(self) -> str:
        return f"{self.name} ({self.id})" if self.name != self.id else self.id


@dataclass(frozen=True)
class Actor:
    """The person in chat an AWS call is made for, and the request it serves."""

    user: str
    team: str = ""
    request_id: str = ""
    approvers: tuple[str, ...] = ()

    @property
    def source_identity(self) -> str:
        """``U456@T123``: what CloudTrail shows as the session's source identity."""
        return sts_name(f"{self.user}@{self.team}" if self.team else self.user)

    @property
    def session_name(self) -> str:
        return sts_name(f"iam-bot-{self.request_id or self.user}")

    def session_tags(self) -> list[dict[str, str]]:
        tags = []
        if self.request_id:
            tags.append({"Key": REQUEST_TAG, "Value": _tag_value(self.request_id)})
        if self.approvers:
            tags.append({"Key": APPROVERS_TAG, "Value": _tag_value(" ".join(self.approvers))})
        return tags


def sts_name(text: str) -> str:
    """``text`` as STS accepts it in a source identity or session name."""
    return _STS_NAME.sub("-", text)[:64].ljust(2, "-")


def _tag_value(text: str) -> str:
    return _TAG_VALUE.sub("-", text)[:256]


@dataclass(frozen=True)
class Scope:
    account: Account
    actor: Actor | None


_SCOPE: ContextVar[Scope | None] = ContextVar("iam_bot_scope", default=None)


@contextmanager
def acting(account: Account, actor: Actor | None) -> Iterator[Scope]:
    """Every gateway call inside acts in ``account`` for ``actor``."""
    scope = Scope(account, actor)
    token = _SCOPE.set(scope)
    try:
        yield scope
    finally:
        _SCOPE.reset(token)


def current() -> Scope | None:
    return _SCOPE.get()


def current_account() -> Account | None:
    """The account the current work acts in, when the bot knows several (None: it acts in its
    own account with its own credentials)."""
    scope = _SCOPE.get()
    return scope.account if scope and scope.account.role_arn else None


def current_account_id() -> str:
    """The ID of :func:`current_account`, "" when none: what a log entry names."""
    where = current_account()
    return where.id if where else ""
