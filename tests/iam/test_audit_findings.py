"""The credential report's findings, pinned: the audit's CPU was cut (``bench/org_audit.py``),
and what it finds, in which order and with which words, must be what it found before.

The reports are built here as IAM writes them (moto's columns, ``+00:00`` and ``Z`` times,
``N/A``/``no_information``/``not_supported``), so the rules are read on every kind of cell.
"""

from __future__ import annotations

import hashlib
import random
from datetime import UTC, datetime, timedelta

from bot.iam.audit import ROOT, Finding, Kind, findings
from bot.iam.models import CredentialReport
from bot.iam.sessions import Account

AT = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
KEY = ("active", "last_rotated", "last_used_date", "last_used_region", "last_used_service")
COLUMNS = (
    "user",
    "arn",
    "user_creation_time",
    "password_enabled",
    "password_last_used",
    "password_last_changed",
    "password_next_rotation",
    "mfa_active",
    *(f"access_key_{n}_{part}" for n in (1, 2) for part in KEY),
    "cert_1_active",
    "cert_1_last_rotated",
    "cert_2_active",
    "cert_2_last_rotated",
)
HERE = Account("111122223333", "prod")


def when(days: int, zulu: bool = False) -> str:
    moment = (AT - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%S")
    return moment + ("Z" if zulu else "+00:00")


def row(user: str, **cells: str) -> dict[str, str]:
    """A report row with IAM's blanks, then ``cells`` (``k1_*``/``k2_*`` for the key slots)."""
    out = dict.fromkeys(COLUMNS, "N/A")
    out |= {"user": user, "user_creation_time": when(500), "password_enabled": "false"}
    out |= {"password_last_used": "no_information", "mfa_active": "false"}
    out |= {"access_key_1_active": "false", "access_key_2_active": "false"}
    for name, value in cells.items():
        out[name.replace("k1_", "access_key_1_").replace("k2_", "access_key_2_")] = value
    return out


def seeded(users: int, seed: int) -> CredentialReport:
    """A report like the benchmark's accounts: 1 or 2 keys a user, aged 1-400 days, used
    recently, long ago or never; some consoles, some with MFA; a root row."""
    rng = random.Random(seed)
    rows = [row(ROOT, password_last_used=when(3), mfa_active="false", k1_active="true")]
    for i in range(users):
        cells: dict[str, str] = {
            "user_creation_time": when(rng.randint(0, 600), rng.random() < 0.2)
        }
        for n in range(1, 2 if rng.random() < 0.6 else 3):
            age = rng.randint(1, 400)
            used = rng.choice([None, rng.randint(0, age)])
            cells |= {
                f"k{n}_active": rng.choice(["true", "true", "false", "TRUE "]),
                f"k{n}_last_rotated": when(age, rng.random() < 0.2),
                f"k{n}_last_used_date": "N/A" if used is None else when(used),
            }
        if rng.random() < 0.3:
            cells |= {"password_enabled": "true", "mfa_active": rng.choice(["true", "false"])}
            cells["password_last_used"] = rng.choice(["no_information", "N/A", when(10)])
        rows.append(row(f"user{i:04d}", **cells))
    return CredentialReport(AT, rows)


def audited(report: CredentialReport, account: Account | None = None) -> list[Finding]:
    return findings(report, rotation_age_days=90, unused_days=45, at=AT, account=account)


def digest(found: list[Finding]) -> str:
    """Every field of every finding, in order, as one hash."""
    text = "\n".join(
        repr((f.kind.value, f.user, f.days, f.detail, f.slot, f.key_id, f.key_created, f.account))
        for f in found
    )
    return hashlib.sha256(text.encode()).hexdigest()


def test_each_rule_on_a_small_report() -> None:
    report = CredentialReport(
        AT,
        [
            row(ROOT, password_last_used=when(3), k2_active="true", mfa_active="false"),
            row("old", k1_active="true", k1_last_rotated=when(120), k1_last_used_date=when(1)),
            row("idle", k1_active="true", k1_last_rotated=when(60), k1_last_used_date=when(50)),
            row("never", k1_active="true", k1_last_rotated=when(46, zulu=True)),
            row(
                "two",
                k1_active="true",
                k1_last_rotated=when(10),
                k1_last_used_date=when(1),
                k2_active="true",
                k2_last_rotated=when(5),
                k2_last_used_date=when(1),
            ),
            row("off", k1_active="false", k1_last_rotated=when(300)),
            row("console", password_enabled="true", user_creation_time=when(70)),
            row("fine", password_enabled="true", mfa_active="true", password_last_used=when(2)),
        ],
    )
    got = [(f.kind, f.user, f.days, f.detail, f.slot) for f in audited(report)]
    assert got == [
        (Kind.ROOT_ACCESS_KEY, ROOT, 10_000, "delete the root access key", None),
        (Kind.ROOT_WITHOUT_MFA, ROOT, 10_000, "enable MFA on the root user", None),
        (Kind.OLD_KEY, "old", 120, "120 days old", 1),
        (Kind.PASSWORD_NEVER_USED, "console", 70, "password never used in 70 days", None),
        (Kind.UNUSED_KEY, "idle", 50, "unused for 50 days", 1),
        (Kind.NEVER_USED_KEY, "never", 46, "never used in 46 days", 1),
        (Kind.ROOT_RECENTLY_USED, ROOT, 0, "password used 3 days ago", None),
        (Kind.TWO_ACTIVE_KEYS, "two", 0, "two active keys", None),
        (Kind.CONSOLE_WITHOUT_MFA, "console", 0, "console password, no MFA", None),
    ]
    assert audited(report)[2].key_created == AT - timedelta(days=120)


def test_a_seeded_500_user_report_finds_what_it_found_before_the_speed_up() -> None:
    """The digest is of the findings the code before the CPU cut made of this report."""
    found = audited(seeded(500, seed=7))
    assert len(found) == 1092
    assert digest(found) == "f1a946ae34bd3656b87266d7864e61d141e29754f70c07f423fdfff255ee4d2e"


def test_findings_made_in_an_account_are_those_findings_marked_with_it() -> None:
    """An audit of several accounts marks each finding with its account as it makes it (no
    copy per finding): the same findings as marking them afterwards."""
    report = seeded(500, seed=11)
    assert audited(report, HERE) == [f._replace(account=HERE) for f in audited(report)]
