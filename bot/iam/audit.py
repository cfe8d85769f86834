"""Stale credentials: the rules for "old", "unused" and "two active keys", and the findings of the
credential report, one CSV for the whole account.

:func:`key_flags` is the one place those rules live: ``/iam keys`` shows them on a user's keys
and the audit reads them off the report. Per-user listing costs a ListAccessKeys per user and a
GetAccessKeyLastUsed per key; the report carries the same facts for every user in one document.
Only users with key findings are then asked for their key IDs (the report has slots, not IDs), so
each finding names the exact key.
"""

from __future__ import annotations

import contextlib
import enum
import functools
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Generic, NamedTuple, Protocol, TypeVar

from bot.iam import account, errors, keys, users
from bot.iam.aws import Aws
from bot.iam.models import AccessKey, CredentialReport, KeyStatus, LastUsed, age_days
from bot.iam.quarantine import policy_name, quarantined_users
from bot.iam.sessions import Account, Actor, acting, current, current_account
from bot.wording import counted, days_ago

REGENERATE_AFTER = timedelta(hours=4)  # IAM will not build a new report sooner
ROOT = "<root_account>"


class Kind(enum.StrEnum):
    OLD_KEY = "active key older than the rotation age"
    UNUSED_KEY = "active key unused"
    NEVER_USED_KEY = "active key never used"
    TWO_ACTIVE_KEYS = "two active keys"
    CONSOLE_WITHOUT_MFA = "console password without MFA"
    PASSWORD_NEVER_USED = "console password never used"
    ROOT_ACCESS_KEY = "root account has an active access key"
    ROOT_WITHOUT_MFA = "root account without MFA"
    ROOT_RECENTLY_USED = "root account password used recently"
    QUARANTINED = "under AWS's compromised-key quarantine"


class KeyFacts(Protocol):
    """What the rules read of a key: an :class:`~bot.iam.models.AccessKey`, or a slot of the
    credential report. ``last_used`` None means not known (nothing is said about use)."""

    @property
    def status(self) -> KeyStatus: ...

    @property
    def created(self) -> datetime: ...

    @property
    def last_used(self) -> LastUsed | None: ...


K = TypeVar("K", bound=KeyFacts)


class Flag(NamedTuple, Generic[K]):
    """One rule a user's keys break. ``key`` is None for the user as a whole (two active
    keys); ``days`` is the key's age (old, never used) or how long since its last use. A
    tuple: an audit of several accounts makes thousands, and a frozen dataclass costs four
    times as much to build."""

    kind: Kind
    key: K | None
    days: int = 0


def key_flags(
    user_keys: Sequence[K], *, rotation_age_days: int, unused_days: int, at: datetime
) -> list[Flag[K]]:
    """Which rules one user's keys break, key by key, then the user's own. Only active keys
    count: an inactive key is neither a risk to rotate nor one to deactivate."""
    flags: list[Flag[K]] = []
    active = [k for k in user_keys if k.status is KeyStatus.ACTIVE]
    for key in active:
        age = age_days(key.created, at)
        if age > rotation_age_days:
            flags.append(Flag(Kind.OLD_KEY, key, age))
        if unused := _unused(key, age, unused_days=unused_days, at=at):
            flags.append(unused)
    if len(active) >= 2:
        flags.append(Flag(Kind.TWO_ACTIVE_KEYS, None))
    return flags


def _unused(key: K, age: int, *, unused_days: int, at: datetime) -> Flag[K] | None:
    use = key.last_used
    if use is None:
        return None  # not known
    if use.when is None:
        return Flag(Kind.NEVER_USED_KEY, key, age) if age >= unused_days else None
    idle = age_days(use.when, at)
    return Flag(Kind.UNUSED_KEY, key, idle) if idle >= unused_days else None


class Finding(NamedTuple):
    """One stale credential. A tuple, as :class:`Flag` is: thousands per audit of several
    accounts."""

    kind: Kind
    user: str
    days: int  # how long: key age, days unused, ...; findings are ranked by it
    detail: str
    slot: int | None = None  # 1 or 2: which key of the user, until the key ID is known
    key_id: str | None = None
    key_created: datetime | None = None
    account: Account | None = None  # where the user is, in an audit of several accounts


class _ReportKey(NamedTuple):
    """One of the two key slots of a user's row in the credential report (a tuple: one is
    built for every key of every user of every audited account)."""

    slot: int
    status: KeyStatus
    created: datetime
    last_used: LastUsed


_DETAIL = {
    Kind.OLD_KEY: "{} old",
    Kind.NEVER_USED_KEY: "never used in {}",
    Kind.UNUSED_KEY: "unused for {}",
    Kind.TWO_ACTIVE_KEYS: "two active keys",
}


_NEVER_USED = LastUsed()  # shared: most slots of a large report were never used or are empty


def _when(value: str) -> datetime | None:
    """A report's time (``+00:00`` or ``Z``, both read by Python 3.11's ``fromisoformat``)."""
    if not value[:1].isdigit():
        return None  # N/A, no_information, not_supported: most slots, and no exception raised
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None  # N/A, no_information, not_supported


def _true(value: str) -> bool:
    return value.strip().lower() == "true"


# Each key slot's number and its columns: created ("last rotated"), active, last used.
_SLOTS = tuple(
    (n, f"access_key_{n}_last_rotated", f"access_key_{n}_active", f"access_key_{n}_last_used_date")
    for n in (1, 2)
)


def _report_keys(row: dict[str, str]) -> list[_ReportKey]:
    found = []
    for n, rotated, active, last_used in _SLOTS:
        created = _when(row.get(rotated, ""))
        if created is not None:
            status = KeyStatus.ACTIVE if _true(row.get(active, "")) else KeyStatus.INACTIVE
            when = _when(row.get(last_used, ""))
            used = _NEVER_USED if when is None else LastUsed(when)
            found.append(_ReportKey(n, status, created, used))
    return found


@functools.cache
def _detail(kind: Kind, days: int) -> str:
    """A key finding's text: the same few hundred (kind, days) pairs recur in every account."""
    return _DETAIL[kind].format(counted(days, "day"))


def _finding(user: str, flag: Flag[_ReportKey], where: Account | None) -> Finding:
    detail = _detail(flag.kind, flag.days)
    if flag.key is None:
        return Finding(flag.kind, user, flag.days, detail, account=where)
    key = flag.key
    return Finding(flag.kind, user, flag.days, detail, key.slot, None, key.created, where)


def findings(
    report: CredentialReport,
    *,
    rotation_age_days: int,
    unused_days: int,
    at: datetime,
    account: Account | None = None,
) -> list[Finding]:
    """The report's findings, worst first, each marked as in ``account`` (built so once: an
    audit of several accounts reads thousands of rows, and copying each finding to add its
    account cost as much as finding it)."""
    found: list[Finding] = []
    for row in report.rows:
        user = row["user"]
        if user == ROOT:
            found += [f._replace(account=account) for f in _root_findings(row, at)]
            continue
        flags = key_flags(
            _report_keys(row), rotation_age_days=rotation_age_days, unused_days=unused_days, at=at
        )
        found += [_finding(user, flag, account) for flag in flags]
        if _true(row.get("password_enabled", "")):
            found += _password_findings(row, user, unused_days=unused_days, at=at, where=account)
    found.sort(key=_days, reverse=True)
    return found


def _days(finding: Finding) -> int:
    return finding.days


def _password_findings(
    row: dict[str, str], user: str, *, unused_days: int, at: datetime, where: Account | None
) -> list[Finding]:
    """A console user's findings: no MFA, and a password never used since the user was made."""
    found = []
    if not _true(row.get("mfa_active", "")):
        found.append(
            Finding(Kind.CONSOLE_WITHOUT_MFA, user, 0, "console password, no MFA", account=where)
        )
    days = age_days(_when(row.get("user_creation_time", "")) or at, at)
    if _when(row.get("password_last_used", "")) is None and days >= unused_days:
        detail = f"password never used in {counted(days, 'day')}"
        found.append(Finding(Kind.PASSWORD_NEVER_USED, user, days, detail, account=where))
    return found


# Ranked above every stale credential: a key AWS found exposed is an incident, not hygiene.
QUARANTINE_RANK = 100_000


def quarantine_findings(aws: Aws, where: Account | None = None) -> list[Finding]:
    """The users of the current account AWS quarantined, each a finding ranked first, with
    the policy's version: a fixed number of calls (one per version), however many users."""
    return [
        Finding(
            Kind.QUARANTINED,
            user,
            QUARANTINE_RANK,
            f"{policy_name(version)}: applications using its keys may be failing",
            account=where,
        )
        for user, version in sorted(quarantined_users(aws).items())
    ]


def _root_findings(row: dict[str, str], at: datetime) -> list[Finding]:
    found = []
    if _true(row.get("access_key_1_active", "")) or _true(row.get("access_key_2_active", "")):
        found.append(Finding(Kind.ROOT_ACCESS_KEY, ROOT, 10_000, "delete the root access key"))
    if not _true(row.get("mfa_active", "")):
        found.append(Finding(Kind.ROOT_WITHOUT_MFA, ROOT, 10_000, "enable MFA on the root user"))
    used = _when(row.get("password_last_used", ""))
    if used is not None and age_days(used, at) <= 30:
        found.append(
            Finding(
                Kind.ROOT_RECENTLY_USED, ROOT, 0, f"password used {days_ago(age_days(used, at))}"
            )
        )
    return found


def name_keys(aws: Aws, found: list[Finding], actor: Actor | None = None) -> list[Finding]:
    """Give key findings their key IDs, and drop what IAM now contradicts: one ListAccessKeys
    per user with a key finding, concurrently, each in the user's own account (a finding's,
    else the current one) for ``actor`` (default: whoever is in scope).

    The report numbers a user's keys 1 and 2; a key is matched by its creation time, which is
    what the report calls ``last_rotated``. The report can be hours old, and an audit must not
    offer to deactivate a key that is gone: a user removed since, a key deleted or deactivated
    since, and "two active keys" when fewer are active now are dropped (nothing left to fix)."""
    here = current()
    actor = actor or (here.actor if here else None)

    def keys_of(owner: tuple[Account | None, str]) -> list[AccessKey] | None:
        where, user = owner
        with _within(where, actor):
            try:
                return keys.list_access_keys(aws, user)
            except errors.NotFound:
                return None

    flagged = sorted(
        {
            (f.account, f.user)
            for f in found
            if f.slot is not None or f.kind is Kind.TWO_ACTIVE_KEYS
        },
        key=lambda owner: (owner[0].id if owner[0] else "", owner[1]),
    )
    listed = dict(zip(flagged, aws.map(keys_of, flagged), strict=True))

    def checked(finding: Finding) -> Finding | None:
        owner = (finding.account, finding.user)
        if owner not in listed:
            return finding  # nothing about keys: the report is all there is
        live = listed[owner]
        if live is None:
            return None  # the user is gone
        active = [k for k in live if k.status is KeyStatus.ACTIVE]
        if finding.kind is Kind.TWO_ACTIVE_KEYS:
            return finding if len(active) >= 2 else None
        if finding.key_created is None:
            return finding  # about the user's password, not a key
        for key in active:
            if abs((key.created - finding.key_created).total_seconds()) < 1:
                return finding._replace(key_id=key.key_id)
        return None  # deleted or deactivated since the report

    return [f for f in map(checked, found) if f is not None]


def tagged_owners(
    aws: Aws, found: list[Finding], tag: str, actor: Actor | None = None
) -> dict[tuple[Account | None, str], str]:
    """The chat user (the value of ``tag``) of each user with a named key finding, by account
    and user name: one paged call per account, the accounts at once, each in its own account
    (as :func:`name_keys` does); the same name in two accounts can be two people."""
    here = current()
    actor = actor or (here.actor if here else None)
    places = sorted({f.account for f in found if f.key_id}, key=lambda a: a.id if a else "")

    def tags_in(where: Account | None) -> dict[tuple[Account | None, str], str]:
        with _within(where, actor):
            everyone = users.users_with_tags(aws)
        return {(where, u.name): u.tags[tag] for u in everyone if tag in u.tags}

    return {owner: who for part in aws.map(tags_in, places) for owner, who in part.items()}


@contextlib.contextmanager
def _within(account: Account | None, actor: Actor | None) -> Iterator[None]:
    """In ``account`` for ``actor``; None: where the caller already is."""
    if account is None:
        yield
        return
    with acting(account, actor):
        yield


class CredentialReports:
    """Each account's credential report, fetched at most as often as IAM would build a new one
    (kept per account: the one the current scope acts in)."""

    def __init__(self, aws: Aws, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._aws = aws
        self._clock = clock
        self._lock = threading.Lock()
        self._reports: dict[str, tuple[threading.Lock, list[CredentialReport]]] = {}

    def get(self) -> CredentialReport:
        where = current_account()
        with self._lock:
            lock, kept = self._reports.setdefault(where.id if where else "", (threading.Lock(), []))
        with lock:  # one fetch per account at a time; other accounts fetch meanwhile
            if kept and self._fresh(kept[0]):
                return kept[0]
            # The first look in this process reads what IAM keeps: a report younger than IAM
            # rebuilds is used as it is, as asking to generate it would only answer COMPLETE.
            stored = None if kept else account.stored_credential_report(self._aws)
            if stored is None or not self._fresh(stored):
                stored = account.fetch_credential_report(self._aws)
            kept[:] = [stored]
            return stored

    def _fresh(self, report: CredentialReport) -> bool:
        return self._clock() - report.generated < REGENERATE_AFTER


@dataclass(frozen=True)
class AccountAudit:
    """One account's part of an audit of several: its findings (worst first) and how many
    users its report lists, or why it could not be audited."""

    account: Account
    found: tuple[Finding, ...] = ()
    users: int = 0
    generated: datetime | None = None  # None: not audited (``problem`` says why)
    problem: str | None = None


def audit_accounts(
    aws: Aws,
    reports: CredentialReports,
    accounts: Sequence[Account],
    actor: Actor,
    *,
    rotation_age_days: int,
    unused_days: int,
    at: datetime,
) -> list[AccountAudit]:
    """Every account's credential report and findings, fetched at once on the gateway's bounded
    pool, each in its own account for ``actor``. An account whose role cannot be assumed or
    whose report fails is returned with the reason; it does not stop the others."""

    def one(where: Account) -> AccountAudit:
        with acting(where, actor):
            try:
                report = reports.get()
                quarantined = quarantine_findings(aws, where)
            except errors.IamError as exc:
                return AccountAudit(where, problem=f"{exc.code or 'error'}: {exc.message}")
        found = quarantined + findings(
            report,
            rotation_age_days=rotation_age_days,
            unused_days=unused_days,
            at=at,
            account=where,
        )
        return AccountAudit(where, tuple(found), len(report.rows), report.generated)

    return aws.map(one, accounts)


def worst_first(audits: Sequence[AccountAudit]) -> list[Finding]:
    """Every account's findings in one ranking (the same order as one account's)."""
    return sorted((f for a in audits for f in a.found), key=_days, reverse=True)
