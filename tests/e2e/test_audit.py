"""`/iam audit`, the scheduled audit, and `/iam account`, end to end."""

from __future__ import annotations

import csv
import io
import time
from datetime import UTC, datetime, timedelta

import pytest

from sandbox.seed import enable_virtual_mfa
from tests.fixtures.aws import NOW, aged_key
from tests.fixtures.slack import CONFIG, direct_messages, flatten

AUDIT = CONFIG.replace(
    "permissions:\n",
    "permissions:\n  audit: [S0SECURITY]\n  account: ['*']\n  admin: [U0SEC1]\n",
    1,
)


@pytest.fixture
def account_with_findings(iam, aws) -> dict[str, str]:
    for name in ("old", "idle", "fresh", "twokeys", "console", "clean"):
        iam.create_user(UserName=name)
    made = {
        "old": aged_key(iam, aws, "old", age_days=200, used_days_ago=1),
        "idle": aged_key(iam, aws, "idle", age_days=80, used_days_ago=60),
        "fresh": aged_key(iam, aws, "fresh", age_days=50, used_days_ago=None),
        "twokeys-1": aged_key(iam, aws, "twokeys", age_days=20, used_days_ago=1),
        "twokeys-2": aged_key(iam, aws, "twokeys", age_days=5, used_days_ago=1),
        "clean": aged_key(iam, aws, "clean", age_days=10, used_days_ago=1),
    }
    iam.create_login_profile(UserName="console", Password="Sandbox-Passw0rd!")
    aws.backdate_user("console", NOW - timedelta(days=60))
    iam.create_login_profile(UserName="clean", Password="Sandbox-Passw0rd!")
    enable_virtual_mfa(iam, "clean", "clean-phone")
    aws.root.mfa_active = False
    aws.root.access_key_active = True
    return made


def test_audit_finds_each_kind_from_one_report(make_bot, aws, account_with_findings) -> None:
    bot = make_bot(AUDIT)
    arranged = len(aws.calls())
    said = bot.said(bot.command("audit", user="U0SEC1"))
    made = account_with_findings
    assert f"*old* `{made['old']}`: active key older than the rotation age, 200 days old" in said
    assert f"*idle* `{made['idle']}`: active key unused, unused for 60 days" in said
    assert f"*fresh* `{made['fresh']}`: active key never used" in said
    assert "*twokeys*" in said and "two active keys" in said
    assert (
        "*console*" in said
        and "console password without MFA" in said
        and "console password never used" in said
    )
    assert "root account without MFA" in said and "root account has an active access key" in said
    assert "*clean*" not in said
    assert "The credential report was built just now" in said
    calls = [c.action for c in aws.calls()[arranged:] if c.service == "iam"]
    assert "GetAccessKeyLastUsed" not in calls  # no per-key calls: the report has it all
    # Only the users with key findings, checked against IAM now: old, idle, fresh, twokeys.
    assert calls.count("ListAccessKeys") == 4
    read = [c for c in aws.calls()[arranged:] if c.action == "GetCredentialReport"]
    assert [c.status for c in read] == [410, 200]  # IAM kept none: generated, then read once

    again = bot.said(bot.command("audit", user="U0SEC2"))
    assert "active key never used" in again
    assert [c.action for c in aws.calls()].count("GetCredentialReport") == 2  # cached: < 4 h old


def test_a_report_iam_keeps_fresh_is_read_without_generating_one(
    make_bot, iam, aws, account_with_findings
) -> None:
    iam.generate_credential_report()  # someone, or a replica before a restart, asked earlier
    bot = make_bot(AUDIT)
    arranged = len(aws.calls())

    said = bot.said(bot.command("audit", user="U0SEC1"))

    assert f"*old* `{account_with_findings['old']}`" in said
    reports = [c.action for c in aws.calls()[arranged:] if "CredentialReport" in c.action]
    assert reports == ["GetCredentialReport"]


def test_each_finding_offers_its_flow(make_bot, account_with_findings) -> None:
    bot = make_bot(AUDIT.replace("audit: [S0SECURITY]", "audit: [S0SECURITY, S0ONCALL]"))
    answer = bot.replies(bot.command("audit", user="U0ALICE"))[-1]
    bot.press(answer, "Rotate", user="U0ALICE")  # alice is on call: she may rotate
    assert "Rotate the access key" in flatten(bot.channel()[-1])
    assert account_with_findings["old"] in flatten(bot.channel()[-1])


def test_long_lists_arrive_as_csv_by_dm(make_bot, iam, aws) -> None:
    bot = make_bot(AUDIT)
    keys = []
    for i in range(12):
        iam.create_user(UserName=f"stale{i}")
        keys.append(aged_key(iam, aws, f"stale{i}", age_days=300 + i, used_days_ago=100))
    said = bot.said(bot.command("audit", user="U0SEC1"))
    assert "Worst 10 of 24" in said and "The full list is in your DMs" in said
    (upload,) = bot.slack.files()
    assert upload["channel"].startswith("D")
    rows = list(csv.DictReader(io.StringIO(upload["content"].decode())))
    assert len(rows) == 24 and {r["user"] for r in rows} == {f"stale{i}" for i in range(12)}
    assert all(r["key_created"] for r in rows)  # every key identified by owner and creation time
    assert {r["key_id"] for r in rows} - {""} <= set(keys)  # IDs fetched for the ten shown


def test_user_names_a_spreadsheet_would_run_are_quoted_in_the_csv(make_bot, iam, aws) -> None:
    formulas = ["=1+2", "+cmd", "-2+3", "@SUM"]  # all valid IAM user names
    for name in [*formulas, *(f"stale{i}" for i in range(8))]:
        iam.create_user(UserName=name)
        aged_key(iam, aws, name, age_days=300, used_days_ago=100)
    bot = make_bot(AUDIT)

    bot.command("audit", user="U0SEC1")

    (upload,) = bot.slack.files()
    users = {r["user"] for r in csv.DictReader(io.StringIO(upload["content"].decode()))}
    assert {f"'{name}" for name in formulas} <= users
    assert not [u for u in users if u[0] in "=+-@"]
    assert "stale0" in users  # other names as they are


def test_days_override_and_bad_input(make_bot, iam, aws) -> None:
    bot = make_bot(AUDIT)
    iam.create_user(UserName="month")
    key = aged_key(iam, aws, "month", age_days=31, used_days_ago=1)
    assert key not in bot.said(bot.command("audit", user="U0SEC1"))
    assert key in bot.said(bot.command("audit --days 30", user="U0SEC1"))
    assert "Usage: `/iam audit" in bot.command("audit --days soon", user="U0SEC1").body
    assert "You need the `audit` permission" in bot.said(bot.command("audit", user="U0BOB"))


def test_scheduled_audit_posts_once_per_period_across_restarts(
    make_bot, iam, aws, account_with_findings
) -> None:
    now = [datetime(2026, 11, 23, 9, 0, 30, tzinfo=UTC)]
    config = AUDIT + "audit: {schedule: '0 9 * * *', dm_owners: true}\n"
    iam.tag_user(UserName="old", Tags=[{"Key": "slack-user-id", "Value": "U0BOB"}])
    first = make_bot(config, clock=lambda: now[0])
    first.slack.wait_for(lambda: [m for m in first.channel("C0AUDIT") if "IAM audit" in flatten(m)])
    first.stop()
    second = make_bot(config, clock=lambda: now[0])  # same store: the period is already claimed
    second.settle()
    time.sleep(0.3)  # several ticks of the second bot's scheduler, which must all find it claimed
    posts = [m for m in second.channel("C0AUDIT") if "IAM audit" in flatten(m)]
    assert len(posts) == 1
    dms = direct_messages(second.slack)
    assert len(dms) == 1 and account_with_findings["old"] in dms[0]
    now[0] += timedelta(days=1)
    second.slack.wait_for(
        lambda: len([m for m in second.channel("C0AUDIT") if "IAM audit" in flatten(m)]) == 2
    )


def test_account_facts(make_bot, iam) -> None:
    bot = make_bot(AUDIT)
    iam.create_user(UserName="someone")
    said = bot.said(bot.command("account", user="U0BOB"))
    assert "*Alias* none" in said
    assert "Users: 1 of" in said
    assert "*Password policy* none set" in said
    iam.update_account_password_policy(MinimumPasswordLength=14, RequireSymbols=True)
    assert "MinimumPasswordLength=14" in bot.said(bot.command("account", user="U0BOB"))


def test_alias_change_is_admin_only_and_confirmed(make_bot, iam) -> None:
    bot = make_bot(AUDIT)
    assert "You need the `admin` permission" in bot.said(
        bot.command("account alias set acme-prod", user="U0BOB")
    )
    assert "An account alias is" in bot.command("account alias set Bad_Alias", user="U0SEC1").body
    bot.command("account alias set acme-prod", user="U0SEC1")
    request = bot.channel()[-1]
    assert iam.list_account_aliases()["AccountAliases"] == []  # not before confirmation
    bot.press(request, "Confirm", user="U0SEC1")
    assert iam.list_account_aliases()["AccountAliases"] == ["acme-prod"]
    assert "*Alias* `acme-prod`" in bot.said(bot.command("account", user="U0BOB"))
