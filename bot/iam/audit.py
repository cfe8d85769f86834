"""Stale-credential findings from the credential report: one CSV for the whole account.

Per-user listing costs a ListAccessKeys per user and a GetAccessKeyLastUsed per key; the report
carries the same facts for every user in one document. Only users with key findings are then
asked for their key IDs (the report has slots, not IDs), so each finding names the exact key.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from bot.iam import account, keys
from bot.iam.aws import Aws
from bot.iam.models import CredentialReport, age_days

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


# The normal flow that deals with each kind of finding.
ACTION = {
    Kind.OLD_KEY: "rotate",
    Kind.UNUSED_KEY: "deactivate",
    Kind.NEVER_USED_KEY: "deactivate",
    Kind.TWO_ACTIVE_KEYS: "deactivate",
    Kind.PASSWORD_NEVER_USED: "offboard",
}


@dataclass(frozen=True)
class Finding:
    kind: Kind
    user: str
    days: int  # how long: key age, days unused, ...; findings are ranked by it
    detail: str
    slot: int | None = None  # 1 or 2: which key of the user, until the key ID is known
    key_id: str | None = None
    key_created: datetime | None = None

    @property
    def action(self) -> str | None:
        return ACTION.get(self.kind)


def _when(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None  # N/A, no_information, not_supported


def _true(value: str) -> bool:
    return value.strip().lower() == "true"


def findings(
    report: CredentialReport, *, rotation_age_days: int, unused_days: int, at: datetime
) -> list[Finding]:
    found: list[Finding] = []
    for row in report.rows:
        user = row["user"]
        if user == ROOT:
            found += _root_findings(row, at)
            continue
        active = [n for n in (1, 2) if _true(row.get(f"access_key_{n}_active", ""))]
        for n in active:
            created = _when(row.get(f"access_key_{n}_last_rotated", ""))
            used = _when(row.get(f"access_key_{n}_last_used_date", ""))
            if created is None:
                continue
            age = age_days(created, at)
            if age > rotation_age_days:
                found.append(
                    Finding(Kind.OLD_KEY, user, age, f"{age} days old", n, key_created=created)
                )
            if used is None and age >= unused_days:
                found.append(
                    Finding(
                        Kind.NEVER_USED_KEY,
                        user,
                        age,
                        f"never used in {age} days",
                        n,
                        key_created=created,
                    )
                )
            elif used is not None and age_days(used, at) >= unused_days:
                idle = age_days(used, at)
                found.append(
                    Finding(
                        Kind.UNUSED_KEY,
                        user,
                        idle,
                        f"unused for {idle} days",
                        n,
                        key_created=created,
                    )
                )
        if len(active) == 2:
            found.append(Finding(Kind.TWO_ACTIVE_KEYS, user, 0, "two active keys"))
        if _true(row.get("password_enabled", "")):
            if not _true(row.get("mfa_active", "")):
                found.append(Finding(Kind.CONSOLE_WITHOUT_MFA, user, 0, "console password, no MFA"))
            days = age_days(_when(row.get("user_creation_time", "")) or at, at)
            if _when(row.get("password_last_used", "")) is None and days >= unused_days:
                detail = f"password never used in {days} days"
                found.append(Finding(Kind.PASSWORD_NEVER_USED, user, days, detail))
    return sorted(found, key=lambda f: f.days, reverse=True)


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
                Kind.ROOT_RECENTLY_USED, ROOT, 0, f"password used {age_days(used, at)} days ago"
            )
        )
    return found


def name_keys(aws: Aws, found: list[Finding]) -> list[Finding]:
    """Give key findings their key IDs: one ListAccessKeys per flagged user, concurrently.

    The report numbers a user's keys 1 and 2; a key is matched by its creation time, which is
    what the report calls ``last_rotated``."""
    flagged = sorted({f.user for f in found if f.slot is not None})
    listed = dict(
        zip(flagged, aws.map(lambda user: keys.list_access_keys(aws, user), flagged), strict=True)
    )

    def named(finding: Finding) -> Finding:
        if finding.slot is None or finding.key_created is None:
            return finding
        for key in listed.get(finding.user, []):
            if abs((key.created - finding.key_created).total_seconds()) < 1:
                return replace(finding, key_id=key.key_id)
        return finding

    return [named(f) for f in found]


class CredentialReports:
    """The account's credential report, fetched at most as often as IAM would build a new one."""

    def __init__(self, aws: Aws, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._aws = aws
        self._clock = clock
        self._lock = threading.Lock()
        self._report: CredentialReport | None = None

    def get(self) -> CredentialReport:
        with self._lock:
            if self._report is None or self._clock() - self._report.generated >= REGENERATE_AFTER:
                self._report = account.fetch_credential_report(self._aws)
            return self._report
