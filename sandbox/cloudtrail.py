"""CloudTrail's ``LookupEvents`` for the faithful layer (moto has none), built from the calls
the proxy records (``sandbox/aws.py``): every request that reached it is a management event,
as CloudTrail keeps them.

What AWS documents, and this does:

- One region's events per call: the region of the request's signature. IAM's calls (a global
  service) are recorded in us-east-1.
- ``LookupAttributes``: at most one (``AccessKeyId``, ``EventName``, ``Username``, ``EventId``,
  ``ReadOnly`` here), else ``InvalidLookupAttributesException``.
- ``StartTime``/``EndTime`` (start after end: ``InvalidTimeRangeException``); only the last
  90 days are kept.
- ``MaxResults`` 1-50 (default 50; else ``InvalidMaxResultsException``), ``NextToken`` paging,
  newest event first. A token keeps the events it was cut from: events after the first page
  do not shift the pages.
- More than 2 requests per second per account and region: ``ThrottlingException`` (HTTP 400).
- Events in AWS's shape: ``EventId``, ``EventName``, ``ReadOnly``, ``AccessKeyId``,
  ``EventTime``, ``EventSource``, ``Username``, ``Resources`` and ``CloudTrailEvent`` (a JSON
  string with ``userIdentity``, ``sourceIPAddress``, ``userAgent``, ``errorCode``,
  ``requestParameters``, ...).
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sandbox.aws_record import Call

RETENTION = timedelta(days=90)
MAX_RESULTS = 50
REQUESTS_PER_SECOND = 2
GLOBAL_REGION = "us-east-1"
_GLOBAL_SERVICES = {"iam"}
# What each lookup attribute compares, read from a recorded call (and its number).
_ATTRIBUTES: dict[str, Callable[[Call, int], str]] = {
    "AccessKeyId": lambda call, _n: call.access_key,
    "EventName": lambda call, _n: call.action,
    "Username": lambda call, _n: _Who.of(call.principal).user_name,
    "EventId": lambda call, n: _event_id(call, n),
    "ReadOnly": lambda call, _n: "false" if call.mutating else "true",
}
# Request parameters that name a resource, and CloudTrail's type for it.
_RESOURCES = (
    ("UserName", "AWS::IAM::User"),
    ("RoleArn", "AWS::IAM::Role"),
    ("RoleName", "AWS::IAM::Role"),
    ("PolicyArn", "AWS::IAM::Policy"),
    ("AccessKeyId", "AWS::IAM::AccessKey"),
    ("GroupName", "AWS::IAM::Group"),
)


class LookupRefused(Exception):
    """A request CloudTrail refuses: its error code and message (HTTP 400)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def event_region(service: str, region: str) -> str:
    """Where CloudTrail records a call: IAM's in us-east-1, others in their own region."""
    return GLOBAL_REGION if service in _GLOBAL_SERVICES else region or GLOBAL_REGION


class CloudTrail:
    """The rate limit (per account and region) and the lookups; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._accepted: dict[tuple[str, str], deque[float]] = {}

    def reset(self) -> None:
        with self._lock:
            self._accepted.clear()

    def admit(self, account: str, region: str) -> bool:
        """Whether a request may run now: at most 2 in any second per account and region
        (throttled ones do not count)."""
        now = time.monotonic()
        with self._lock:
            accepted = self._accepted.setdefault((account, region), deque())
            while accepted and accepted[0] <= now - 1.0:
                accepted.popleft()
            if len(accepted) >= REQUESTS_PER_SECOND:
                return False
            accepted.append(now)
            return True

    def lookup(
        self,
        params: dict[str, Any],
        calls: Sequence[Call],
        *,
        account: str,
        region: str,
        now: datetime,
    ) -> dict[str, Any]:
        """One page of ``LookupEvents`` over ``calls`` (every recorded call, in arrival order),
        for ``account`` in ``region``; raises :class:`LookupRefused`."""
        match = _attribute(params.get("LookupAttributes"))
        start, end = _time_range(params, now)
        size = _max_results(params.get("MaxResults"))
        snapshot, offset = _token(params.get("NextToken"), len(calls))
        matched = [
            (number, call)
            for number, call in enumerate(calls[:snapshot])
            if _recorded(call, account, region, start, end)
            and (match is None or match(call, number))
        ]
        matched.reverse()  # newest first
        page = [_event(call, number, region) for number, call in matched[offset : offset + size]]
        answer: dict[str, Any] = {"Events": page}
        if offset + size < len(matched):
            answer["NextToken"] = _encode({"n": snapshot, "o": offset + size})
        return answer


def _recorded(call: Call, account: str, region: str, start: datetime, end: datetime) -> bool:
    """Whether CloudTrail holds ``call`` among ``account``'s events in ``region`` between
    ``start`` and ``end``: a finished AWS API call (not the sandbox's own moto-api)."""
    if call.status == 0 or call.service in ("moto", ""):
        return False
    in_region = event_region(call.service, call.region) == region
    return call.account == account and in_region and start <= call.at <= end


def _attribute(given: Any) -> Callable[[Call, int], bool] | None:
    """A test of a recorded call (and its number) from the one lookup attribute; None: none."""
    if not given:
        return None
    if not isinstance(given, list) or len(given) != 1 or not isinstance(given[0], dict):
        raise LookupRefused(
            "InvalidLookupAttributesException", "You cannot specify more than one lookup attribute."
        )
    key, value = given[0].get("AttributeKey"), given[0].get("AttributeValue")
    read = _ATTRIBUTES.get(str(key))
    if read is None or not isinstance(value, str) or not value:
        raise LookupRefused("InvalidLookupAttributesException", f"Invalid lookup attribute {key}.")
    return lambda call, number: read(call, number) == value


def _time_range(params: dict[str, Any], now: datetime) -> tuple[datetime, datetime]:
    """[start, end] of the lookup: the given times, never before 90 days ago."""
    end = _when(params.get("EndTime")) or now
    start = _when(params.get("StartTime")) or now - RETENTION
    if start > end:
        raise LookupRefused("InvalidTimeRangeException", "Start time must be before end time.")
    return max(start, now - RETENTION), end


def _when(value: Any) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromtimestamp(float(value), UTC)
    except (TypeError, ValueError, OverflowError):
        raise LookupRefused("ValidationException", f"Invalid timestamp {value!r}.") from None


def _max_results(value: Any) -> int:
    if value is None:
        return MAX_RESULTS
    if not isinstance(value, int) or not 1 <= value <= MAX_RESULTS:
        raise LookupRefused(
            "InvalidMaxResultsException", "MaxResults must be between 1 and 50, inclusive."
        )
    return value


def _token(token: Any, recorded: int) -> tuple[int, int]:
    """(how many recorded calls the lookup covers, offset of the page) from a NextToken."""
    if token is None:
        return recorded, 0
    try:
        data = json.loads(base64.urlsafe_b64decode(str(token).encode()))
        snapshot, offset = int(data["n"]), int(data["o"])
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise LookupRefused("InvalidNextTokenException", "Invalid NextToken.") from None
    if not 0 <= snapshot <= recorded or offset < 0:
        raise LookupRefused("InvalidNextTokenException", "Invalid NextToken.")
    return snapshot, offset


def _event_id(call: Call, number: int) -> str:
    """A recorded call's event ID, the same in every lookup."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{call.account}/{number}"))


def _camel(name: str) -> str:
    """A request parameter as CloudTrail names it: ``UserName`` -> ``userName``."""
    return name[:1].lower() + name[1:]


def _encode(data: dict[str, int]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode()


@dataclass(frozen=True)
class _Who:
    """``userIdentity`` of a call, from the ARN of the principal that signed it."""

    type: str
    user_name: str

    @classmethod
    def of(cls, principal: str) -> _Who:
        kind, _, rest = principal.rpartition(":")[2].partition("/")
        if kind == "assumed-role":
            return cls("AssumedRole", rest.rpartition("/")[2])
        return cls("IAMUser", rest.rpartition("/")[2])


def _event(call: Call, number: int, region: str) -> dict[str, Any]:
    """The call as LookupEvents returns it."""
    who = _Who.of(call.principal)
    source = f"{call.service}.amazonaws.com"
    event_id = _event_id(call, number)
    read_only = not call.mutating
    detail = {
        "eventVersion": "1.08",
        "userIdentity": {
            "type": who.type,
            "principalId": f"AIDA{number:016d}",
            "arn": call.principal,
            "accountId": call.account,
            "accessKeyId": call.access_key,
            "userName": who.user_name,
        },
        "eventTime": call.at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": source,
        "eventName": call.action,
        "awsRegion": region,
        "sourceIPAddress": call.source_ip,
        "userAgent": call.user_agent,
        "requestParameters": {_camel(k): v for k, v in call.params.items()} or None,
        "responseElements": None,
        "requestID": event_id,
        "eventID": event_id,
        "readOnly": read_only,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": call.account,
    }
    if call.error:
        detail["errorCode"] = call.error
        detail["errorMessage"] = f"{call.action} failed: {call.error}"
    resources = [
        {"ResourceType": kind, "ResourceName": str(call.params[name])}
        for name, kind in _RESOURCES
        if call.params.get(name)
    ]
    return {
        "EventId": event_id,
        "EventName": call.action,
        "ReadOnly": "true" if read_only else "false",
        "AccessKeyId": call.access_key,
        "EventTime": call.at.timestamp(),
        "EventSource": source,
        "Username": who.user_name,
        "Resources": resources,
        "CloudTrailEvent": json.dumps(detail),
    }
