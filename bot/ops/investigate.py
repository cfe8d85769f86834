"""What a (leaked) access key did, from CloudTrail, as plain data: `/iam investigate` shows it,
and an incident card can post the same in its thread (:func:`summary`).

Management events only: CloudTrail's event history has no data events (S3 object reads and
writes, Lambda invocations...), so the summary always says so rather than implying "nothing".
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.access.incidents import Incident
from bot.iam import cloudtrail
from bot.iam.cloudtrail import Event, Lookup
from bot.ops.context import Ops
from bot.ops.incidents import in_account
from bot.ops.scope import in_key_account

DEFAULT_HOURS = 48
MAX_HOURS = cloudtrail.MAX_HOURS
PERMISSION = ("keys",)  # who may see a key's owner (whois) may see what it did
TOP = 5  # source IPs and user agents shown, most frequent first
CAVEAT = (
    "CloudTrail's event history holds management events only: data events (S3 object reads "
    "and writes, Lambda invocations, DynamoDB items...) are not covered."
)
_DENIED = {
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "Client.UnauthorizedOperation",
}
# Events that can leave a way back in, and the request parameter naming what they touched.
_PERSISTENCE = {
    "CreateUser": "userName",
    "CreateAccessKey": "userName",
    "CreateLoginProfile": "userName",
    "UpdateLoginProfile": "userName",
    "AttachUserPolicy": "userName",
    "AttachRolePolicy": "roleName",
    "AttachGroupPolicy": "groupName",
    "PutUserPolicy": "userName",
    "PutRolePolicy": "roleName",
    "PutGroupPolicy": "groupName",
    "AssumeRole": "roleArn",
    "UpdateAssumeRolePolicy": "roleName",
    "CreateRole": "roleName",
}


@dataclass(frozen=True)
class Count:
    """A value seen, and how many events had it."""

    value: str
    count: int


@dataclass(frozen=True)
class Sign:
    """An event that may have left a way back in: what it was, on what, when, and whether
    it worked (a failed attempt still says what was tried)."""

    event: str
    target: str
    policy: str
    at: datetime
    failed: bool


@dataclass(frozen=True)
class Investigation:
    """A key's activity over the last ``hours``: when, from where, what, what failed, what
    changed, and how much of CloudTrail was read to say so."""

    key_id: str
    hours: int
    events: int
    first_seen: datetime | None
    last_seen: datetime | None
    source_ips: tuple[Count, ...]
    user_agents: tuple[Count, ...]
    by_name: tuple[Count, ...]
    by_region: tuple[Count, ...]
    denied: int
    errors: int
    writes: tuple[Count, ...]
    persistence: tuple[Sign, ...]
    regions: int
    pages: int
    failed: dict[str, str]  # region -> why it was not read to the end
    caveat: str = CAVEAT


def summary(
    ops: Ops, key_id: str, hours: int = DEFAULT_HOURS, regions: Sequence[str] = ()
) -> Investigation:
    """What ``key_id`` did in the last ``hours``, read in the key's own account, in
    ``regions`` (none given: the configured ``cloudtrail_regions``, else every region that
    account has enabled)."""
    cloudtrail.check_hours(hours)
    with in_key_account(ops, key_id, PERMISSION):
        return _looked_up(ops, key_id, hours, regions)


def of_incident(ops: Ops, incident: Incident, hours: int = DEFAULT_HOURS) -> Investigation:
    """The same summary for an incident's card, read in the incident's account by the bot
    itself (nobody asked: AWS's alarm did)."""
    with in_account(ops, incident.account, incident.id):
        return _looked_up(ops, incident.key_id, hours, ())


def _looked_up(ops: Ops, key_id: str, hours: int, regions: Sequence[str]) -> Investigation:
    services = ops.services
    aws, until = services.aws, services.clock()
    since = until - timedelta(hours=hours)
    where = regions or services.config.cloudtrail_regions or cloudtrail.enabled_regions(aws)
    found = cloudtrail.key_events(aws, key_id, since=since, until=until, regions=where)
    return summarize(key_id, hours, found)


def summarize(key_id: str, hours: int, found: Lookup) -> Investigation:
    """The plain-data summary of a lookup's events (oldest first)."""
    events = found.events
    return Investigation(
        key_id=key_id,
        hours=hours,
        events=len(events),
        first_seen=events[0].at if events else None,
        last_seen=events[-1].at if events else None,
        source_ips=_top(e.source_ip for e in events),
        user_agents=_top(e.user_agent for e in events),
        by_name=_counts(e.name for e in events),
        by_region=_counts(e.region for e in events),
        denied=sum(1 for e in events if e.error in _DENIED),
        errors=sum(1 for e in events if e.error),
        writes=_counts(e.name for e in events if not e.read_only),
        persistence=tuple(_sign(e) for e in events if e.name in _PERSISTENCE),
        regions=len(found.regions) + len(found.failed),
        pages=found.pages,
        failed=dict(sorted(found.failed.items())),
    )


def _counts(values: Iterable[str]) -> tuple[Count, ...]:
    """Every value with its count, most frequent first (ties by value)."""
    counted = Counter(values)
    return tuple(Count(v, n) for v, n in sorted(counted.items(), key=lambda vn: (-vn[1], vn[0])))


def _top(values: Iterable[str]) -> tuple[Count, ...]:
    return _counts(v for v in values if v)[:TOP]


def _sign(event: Event) -> Sign:
    request = event.request
    target = str(request.get(_PERSISTENCE[event.name]) or "")
    policy = str(request.get("policyArn") or request.get("policyName") or "")
    return Sign(event.name, target, policy, event.at, bool(event.error))
