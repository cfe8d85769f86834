"""The record of every call that reached the faithful layer (``sandbox/aws.py``), as CloudTrail
would keep it: service, action, parameters with their secrets redacted, the answer's status and
error, the account and session it acted in, and what CloudTrail shows beside (access key,
region, time, user agent, source IP: ``X-Forwarded-For``, else loopback). :class:`RecordsCalls`
is FaithfulAws's reading of it (``calls``, ``count``, ``age_calls``)."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from moto.core import DEFAULT_ACCOUNT_ID

from sandbox.aws_accounts import Session

MUTATING_PREFIXES = (
    "Create", "Delete", "Update", "Put", "Attach", "Detach", "Add", "Remove", "Deactivate",
    "Enable", "Reset", "Upload", "Tag", "Untag",
)  # fmt: skip
# Request parameters whose values are secrets (lower case; any name containing "password" too).
_SECRET_PARAMS = {
    "secretstring", "secretbinary", "privatekey", "authenticationcode1", "authenticationcode2",
    "tokencode", "samlassertion", "webidentitytoken", "secretaccesskey", "servicecredentialsecret",
}  # fmt: skip
REDACTED = "<redacted>"


def is_mutating(action: str) -> bool:
    """Whether an API action changes state, judged by its verb (CreateUser, TagUser, ...)."""
    return action.startswith(MUTATING_PREFIXES)


@dataclass(frozen=True)
class Call:
    """One request that reached the proxy, in arrival order.

    ``params`` are the API parameters (query fields or JSON body) with secret values replaced
    by ``REDACTED``. ``status`` is the HTTP status answered, 0 while the call is still in
    flight (e.g. held at a gate); ``error`` the error code of a failed call. ``account`` is
    the account the call acted in, ``source_identity`` and ``session_tags`` what STS attached
    to the assumed-role session that signed it (CloudTrail shows both).
    """

    service: str
    action: str
    params: dict[str, Any]
    status: int
    error: str | None = None
    account: str = DEFAULT_ACCOUNT_ID
    source_identity: str | None = None
    session_tags: dict[str, str] = field(default_factory=dict)
    # What CloudTrail also shows (sandbox/cloudtrail.py): who signed, when, where, with what.
    principal: str = ""
    access_key: str = ""
    region: str = ""
    at: datetime = field(default_factory=lambda: datetime.now(UTC))
    user_agent: str = ""
    source_ip: str = "127.0.0.1"

    @property
    def mutating(self) -> bool:
        return is_mutating(self.action)


@dataclass
class Entry:
    service: str
    action: str
    params: dict[str, Any]
    session: Session
    access_key: str
    region: str
    at: datetime
    user_agent: str
    source_ip: str
    status: int = 0
    error: str | None = None

    def call(self) -> Call:
        return Call(
            self.service,
            self.action,
            dict(self.params),
            self.status,
            self.error,
            self.session.account_id,
            self.session.source_identity,
            dict(self.session.session_tags),
            self.session.principal,
            self.access_key,
            self.region,
            self.at,
            self.user_agent,
            self.source_ip,
        )


def redact(params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` with the value of every secret-bearing parameter replaced."""
    out: dict[str, Any] = {}
    for name, value in params.items():
        if _is_secret(name):
            out[name] = REDACTED
        elif isinstance(value, Mapping):
            out[name] = redact(value)
        elif isinstance(value, list):
            out[name] = [redact(v) if isinstance(v, Mapping) else v for v in value]
        else:
            out[name] = value
    return out


def _is_secret(name: str) -> bool:
    leaf = name.rsplit(".", 1)[-1].lower()
    return ("password" in leaf and not leaf.endswith("required")) or leaf in _SECRET_PARAMS


class RecordsCalls:
    """FaithfulAws's record of calls: every request appends an :class:`Entry` (see ``_handle``)."""

    _lock: threading.Lock
    _entries: list[Entry]

    def calls(self, action: str | None = None, *, account: str | None = None) -> list[Call]:
        """Every request that reached the proxy (of ``action``, acting in ``account``, if
        given), in arrival order."""
        with self._lock:
            return [
                e.call()
                for e in self._entries
                if (action is None or e.action == action)
                and (account is None or e.session.account_id == account)
            ]

    def count(
        self, action: str | None = None, *, ok_only: bool = True, account: str | None = None
    ) -> int:
        """How many calls (of ``action``, in ``account``) succeeded (2xx); with
        ``ok_only=False``, all of them."""
        calls = self.calls(action, account=account)
        return sum(1 for c in calls if not ok_only or 200 <= c.status < 300)

    def age_calls(self, access_key: str, by: timedelta) -> None:
        """Make the calls recorded so far that ``access_key`` signed ``by`` older (CloudTrail's
        90 days, without waiting them)."""
        with self._lock:
            for entry in self._entries:
                if entry.access_key == access_key:
                    entry.at -= by
