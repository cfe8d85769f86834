"""AWS's own alarms about a user's access key, read from the EventBridge events that carry them.

Four sources say a key leaked or is misused, each in its own shape (AWS's documented ones):

- AWS Health (``aws.health``, "AWS Health Event", service ``RISK``): the key in
  ``affectedEntities[].entityValue``; an organizational view names ``affectedAccount``.
- CloudTrail (``AWS API Call via CloudTrail``): AWS attaching an ``AWSCompromisedKeyQuarantine``
  policy to a user. It names the user, not the key: the workflow records it on each of the
  user's active keys (:mod:`bot.ops.incidents`).
- GuardDuty (``GuardDuty Finding``) about an ``AccessKey`` at or above a severity floor.
- Trusted Advisor's "Exposed Access Keys" check.

Each becomes a :class:`Signal` with the source's own ID (what makes a second delivery of the
same event a duplicate); anything else is :class:`Ignored`, with why. Pure functions: no AWS
call, so a replica, a Lambda invocation and a test read an event the same way. Text from an
event is kept as AWS wrote it (the chat layer escapes what it shows).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from bot.aws_patterns import ACCESS_KEY_ID
from bot.iam.names import is_temporary_key_id

QUARANTINE_PREFIX = "arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantine"
HEALTH_CODES = frozenset(
    {
        "AWS_RISK_CREDENTIALS_EXPOSED",
        "AWS_RISK_CREDENTIALS_EXPOSURE_SUSPECTED",
        "AWS_RISK_CREDENTIALS_COMPROMISED",
        "AWS_RISK_CREDENTIALS_COMPROMISE_SUSPECTED",
        "AWS_RISK_IAM_QUARANTINE",
    }
)
EXPOSED_KEYS_CHECK = "Exposed Access Keys"
_SUMMARY_CHARS = 500  # what AWS wrote, cut: a card shows every signal


class Source(enum.StrEnum):
    HEALTH = "health"
    QUARANTINE = "cloudtrail-quarantine"
    GUARDDUTY = "guardduty"
    TRUSTED_ADVISOR = "trusted-advisor"


class Ignored(Exception):
    """An event that says nothing about a user's access key: dropped, counted by ``reason``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Signal:
    """One alarm about one key (or, for a quarantine policy, one user: ``key_id`` "")."""

    source: Source
    source_id: str  # Health communicationId, CloudTrail eventID, finding id, TA check:resource
    account: str
    key_id: str
    user: str  # "" when the source does not name one
    kind: str  # the event type, finding type or policy attached
    at: datetime
    summary: str  # what AWS said, in its words
    severity: float | None = None  # GuardDuty's only

    def on_key(self, key_id: str) -> Signal:
        """The same signal, about one of the user's keys."""
        return Signal(
            self.source, self.source_id, self.account, key_id, self.user, self.kind, self.at,
            self.summary, self.severity,
        )  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source.value,
            "source_id": self.source_id,
            "account": self.account,
            "key_id": self.key_id,
            "user": self.user,
            "kind": self.kind,
            "at": self.at.isoformat(),
            "summary": self.summary,
            "severity": self.severity,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Signal:
        return cls(
            Source(d["source"]), str(d["source_id"]), str(d["account"]), str(d["key_id"]),
            str(d["user"]), str(d["kind"]), datetime.fromisoformat(d["at"]), str(d["summary"]),
            d.get("severity"),
        )  # fmt: skip


def signals_of(event: Mapping[str, Any], *, min_guardduty_severity: float) -> list[Signal]:
    """The signals in one EventBridge event, or :class:`Ignored`."""
    source, detail = event.get("source"), event.get("detail")
    if not isinstance(detail, Mapping):
        raise Ignored("no detail")
    if source == "aws.health":
        return _health(event, detail)
    if source == "aws.iam" or event.get("detail-type") == "AWS API Call via CloudTrail":
        return _quarantine(event, detail)
    if source == "aws.guardduty":
        return _guardduty(event, detail, min_guardduty_severity)
    if source == "aws.trustedadvisor":
        return _trusted_advisor(event, detail)
    raise Ignored(f"source {str(source)[:40]!r}")


def _text(value: Any) -> str:
    return str(value or "")[:_SUMMARY_CHARS]


def _when(value: Any, event: Mapping[str, Any]) -> datetime:
    """An event's time as AWS wrote it (ISO 8601, or Health's RFC 2822 "Sat, 05 Jun 2021
    09:00:00 GMT"), else the envelope's, else now."""
    for raw in (value, event.get("time")):
        if isinstance(raw, str):
            try:
                parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
            except ValueError:
                try:
                    parsed = parsedate_to_datetime(raw)
                except (TypeError, ValueError):
                    continue
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return datetime.now(UTC)


def _key(value: Any) -> str | None:
    """A long-term key ID, or None (not a key; or a temporary ``ASIA`` key no user holds)."""
    text = str(value or "")
    if ACCESS_KEY_ID.fullmatch(text) is None or is_temporary_key_id(text):
        return None
    return text


def _health(event: Mapping[str, Any], detail: Mapping[str, Any]) -> list[Signal]:
    code = str(detail.get("eventTypeCode", ""))
    if detail.get("service") != "RISK" or code not in HEALTH_CODES:
        raise Ignored(f"health event {code[:60]!r}")
    account = str(detail.get("affectedAccount") or event.get("account", ""))
    descriptions = detail.get("eventDescription") or [{}]
    summary = _text(descriptions[0].get("latestDescription")) or code
    entities = detail.get("affectedEntities") or []
    keys = [k for e in entities if isinstance(e, Mapping) and (k := _key(e.get("entityValue")))]
    if not keys:
        raise Ignored("health event names no access key")
    source_id = str(detail.get("communicationId") or event.get("id", ""))
    at = _when(detail.get("startTime"), event)
    return [Signal(Source.HEALTH, source_id, account, k, "", code, at, summary) for k in keys]


def _quarantine(event: Mapping[str, Any], detail: Mapping[str, Any]) -> list[Signal]:
    params = detail.get("requestParameters") or {}
    policy = str(params.get("policyArn", ""))
    attached = detail.get("eventName") == "AttachUserPolicy" and not detail.get("errorCode")
    if not attached or not policy.startswith(QUARANTINE_PREFIX) or not params.get("userName"):
        raise Ignored(f"cloudtrail {str(detail.get('eventName'))[:40]!r}")
    user, name = str(params["userName"]), policy.rsplit("/", 1)[-1]
    account = str(detail.get("recipientAccountId") or event.get("account", ""))
    summary = f"AWS attached {name} to {user}"
    at = _when(detail.get("eventTime"), event)
    source_id = str(detail.get("eventID") or event.get("id", ""))
    return [Signal(Source.QUARANTINE, source_id, account, "", user, name, at, summary)]


def _guardduty(event: Mapping[str, Any], detail: Mapping[str, Any], floor: float) -> list[Signal]:
    resource = detail.get("resource") or {}
    if resource.get("resourceType") != "AccessKey":
        raise Ignored("guardduty finding not about an access key")
    key_details = resource.get("accessKeyDetails") or {}
    key = _key(key_details.get("accessKeyId"))
    if key is None:
        raise Ignored("guardduty finding about a temporary key")
    try:
        severity = float(detail.get("severity", 0))
    except (TypeError, ValueError):
        severity = 0.0
    if severity < floor:
        raise Ignored("guardduty finding below the severity floor")
    account = str(detail.get("accountId") or event.get("account", ""))
    summary = _text(detail.get("title") or detail.get("description")) or str(detail.get("type"))
    return [
        Signal(
            Source.GUARDDUTY, str(detail.get("id") or event.get("id", "")), account, key,
            str(key_details.get("userName") or ""), str(detail.get("type", "")),
            _when(detail.get("updatedAt"), event), summary, severity,
        )
    ]  # fmt: skip


def _trusted_advisor(event: Mapping[str, Any], detail: Mapping[str, Any]) -> list[Signal]:
    if detail.get("check-name") != EXPOSED_KEYS_CHECK or detail.get("status") == "OK":
        raise Ignored(f"trusted advisor {str(detail.get('check-name'))[:40]!r}")
    item = detail.get("check-item-detail") or {}
    key = _key(item.get("Access Key ID"))
    if key is None:
        raise Ignored("trusted advisor item names no access key")
    where = _text(item.get("Location"))
    fraud = _text(item.get("Fraud Type")) or "Exposed"
    summary = f"{fraud}: the key was found at {where}" if where else fraud
    source_id = f"{EXPOSED_KEYS_CHECK}:{detail.get('resource_id') or key}"
    return [
        Signal(
            Source.TRUSTED_ADVISOR, source_id, str(event.get("account", "")), key,
            str(item.get("User Name (IAM or Root)") or ""), EXPOSED_KEYS_CHECK,
            _when(item.get("Time Updated"), event), summary,
        )
    ]  # fmt: skip
