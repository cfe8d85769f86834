"""What an access key did, from CloudTrail's event history (``LookupEvents``).

CloudTrail keeps each region's management events apart (IAM's and STS's global calls in
us-east-1), for 90 days, and answers at most 2 lookups per second per account and region, 50
events a page. So every enabled region is read in parallel on the gateway's pool, each one's
pages one after another through a limiter per (account, region) that every thread shares;
botocore's retry on ``ThrottlingException`` is only the backstop. A region that fails is named
in the result, not fatal: the others still say what the key did.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.iam import errors
from bot.iam.aws import Aws
from bot.iam.sessions import current_account_id

MAX_HOURS = 90 * 24  # CloudTrail keeps 90 days of event history
PAGE_SIZE = 50  # the most LookupEvents returns at once
LOOKUPS_PER_SECOND = 2  # CloudTrail's limit per account and region
_WINDOW = 1.02  # the limit's second, and a margin for clocks that disagree by a little


@dataclass(frozen=True)
class Event:
    """One CloudTrail event, the fields an investigation reads."""

    name: str
    at: datetime
    region: str
    read_only: bool
    source_ip: str
    user_agent: str
    error: str
    request: dict[str, Any]


@dataclass(frozen=True)
class Lookup:
    """Every event of a key in the regions read, and what could not be read."""

    events: tuple[Event, ...]
    regions: tuple[str, ...]  # read to the end
    pages: int
    failed: dict[str, str]  # region -> why it was not read to the end (its events so far kept)


class _Limiter:
    """CloudTrail counts a lookup when it arrives, some moment between its sending and its
    answer (a queue on the way may hold it). So a lookup is sent only while fewer than
    ``LOOKUPS_PER_SECOND`` others are in flight or were answered within the last second
    (:data:`_WINDOW`): no more than that many can then arrive within any second, however
    long each one waited, whichever thread sent it."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._recent: list[list[float | None]] = []  # [answered at] per lookup; None: in flight

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        """Wait for room, then hold it while one lookup runs."""
        mine: list[float | None] = [None]
        with self._changed:
            while not self._room():
                answered = [at for [at] in self._recent if at is not None]
                wait = min(answered) + _WINDOW - time.monotonic() if answered else None
                self._changed.wait(wait)
            self._recent.append(mine)
        try:
            yield
        finally:
            with self._changed:
                mine[0] = time.monotonic()
                self._changed.notify_all()

    def _room(self) -> bool:
        since = time.monotonic() - _WINDOW
        self._recent = [r for r in self._recent if r[0] is None or r[0] > since]
        return len(self._recent) < LOOKUPS_PER_SECOND


_LIMITERS: dict[tuple[str, str], _Limiter] = {}
_LIMITERS_LOCK = threading.Lock()


def _limiter(account: str, region: str) -> _Limiter:
    """The one limiter of an account's region, shared by every thread of the process."""
    with _LIMITERS_LOCK:
        return _LIMITERS.setdefault((account, region), _Limiter())


def check_hours(hours: int) -> int:
    """``hours`` if CloudTrail can look that far back, else :class:`errors.InvalidInput`."""
    if not 1 <= hours <= MAX_HOURS:
        raise errors.InvalidInput(
            f"CloudTrail keeps 90 days of events: give 1 to {MAX_HOURS} hours, not {hours}."
        )
    return hours


def enabled_regions(aws: Aws) -> list[str]:
    """The regions the account has enabled (opted-in ones included), sorted."""
    answer = aws.call("ec2", "DescribeRegions")
    return sorted(r["RegionName"] for r in answer.get("Regions", []))


def key_events(
    aws: Aws, key_id: str, *, since: datetime, until: datetime, regions: Sequence[str]
) -> Lookup:
    """Every event made with ``key_id`` between ``since`` and ``until`` in ``regions``."""
    account = current_account_id()
    read = aws.map(lambda region: _region(aws, account, region, key_id, since, until), regions)
    events = [e for found, _pages, _why in read if found for e in found]
    failed = {r: why for r, (_found, _pages, why) in zip(regions, read, strict=True) if why}
    return Lookup(
        events=tuple(sorted(events, key=lambda e: e.at)),
        regions=tuple(r for r in regions if r not in failed),
        pages=sum(pages for _found, pages, _why in read),
        failed=failed,
    )


def _region(
    aws: Aws, account: str, region: str, key_id: str, since: datetime, until: datetime
) -> tuple[list[Event], int, str]:
    """One region's events, the pages read, and why it failed ("" if it did not)."""
    limiter, found, pages = _limiter(account, region), [], 0
    params: dict[str, Any] = {
        "LookupAttributes": [{"AttributeKey": "AccessKeyId", "AttributeValue": key_id}],
        "StartTime": since,
        "EndTime": until,
        "MaxResults": PAGE_SIZE,
    }
    try:
        while True:
            with limiter.slot():
                page = aws.call("cloudtrail", "LookupEvents", region=region, **params)
            pages += 1
            found += [_event(raw, region) for raw in page.get("Events", [])]
            if not page.get("NextToken"):
                return found, pages, ""
            params["NextToken"] = page["NextToken"]
    except errors.IamError as exc:
        return found, pages, exc.code or exc.message


def _event(raw: dict[str, Any], region: str) -> Event:
    detail = json.loads(raw.get("CloudTrailEvent") or "{}")
    return Event(
        name=str(raw.get("EventName", "")),
        at=raw["EventTime"],
        region=str(detail.get("awsRegion") or region),
        read_only=str(raw.get("ReadOnly", "")).lower() == "true",
        source_ip=str(detail.get("sourceIPAddress", "")),
        user_agent=str(detail.get("userAgent", "")),
        error=str(detail.get("errorCode", "")),
        request=detail.get("requestParameters") or {},
    )
