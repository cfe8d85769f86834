"""`/iam audit --org` and the scheduled audit across an Organization's accounts, end to end:
findings grouped by account, the worst across them all with buttons acting where each key is,
the CSV with its account column, an account the bot cannot enter shown as not audited."""

from __future__ import annotations

import csv
import io
import time
from datetime import UTC, datetime, timedelta

import pytest

from sandbox.aws import FaithfulAws
from tests.fixtures.accounts import ROLE, Org, listed_config, organization
from tests.fixtures.aws import aged_key, key_statuses
from tests.fixtures.slack import CONFIG, Bot, current, direct_messages, flatten, posted

AUDITORS = "permissions:\n  audit: [S0SECURITY, S0ONCALL]\n"


def audit_config(org: Org, extra: str = "") -> str:
    return listed_config(org).replace("permissions:\n", AUDITORS, 1) + extra


@pytest.fixture
def org(aws: FaithfulAws) -> Org:
    return organization(aws)


@pytest.fixture
def stale(aws: FaithfulAws, org: Org) -> dict[str, str]:
    """staging: a key never used in 500 days; production: eleven keys 201-211 days old and
    unused for 100 days (22 findings); management: nothing stale."""
    staging, production = aws.client("iam", org.staging), aws.client("iam", org.production)
    staging.create_user(UserName="builder")
    made = {"builder": aged_key(staging, aws, "builder", age_days=500)}
    for i in range(1, 12):
        production.create_user(UserName=f"svc{i:02d}")
        made[f"svc{i:02d}"] = aged_key(
            production, aws, f"svc{i:02d}", age_days=200 + i, used_days_ago=100
        )
    aws.client("iam", org.management).create_user(UserName="builder")  # same name, no key
    return made


def test_org_audit_groups_by_account_and_fixes_in_the_right_one(
    make_bot, aws: FaithfulAws, org: Org, stale: dict[str, str]
) -> None:
    bot: Bot = make_bot(audit_config(org))
    reply = bot.command("audit --org")
    said = bot.said(reply)
    assert f"*management* `{org.management}`: :white_check_mark: nothing stale among" in said
    assert (
        f"*staging* `{org.staging}`: 1 active key older than the rotation age, "
        "1 active key never used" in said
    )
    assert (
        f"*production* `{org.production}`: 11 active keys older than the rotation age, "
        "11 active keys unused" in said
    )
    assert "Worst 10 of 24" in said
    assert f"*builder* `{stale['builder']}` in _staging_: active key never used" in said
    for i in range(4, 12):  # the oldest production keys, after staging's two findings
        assert f"*svc{i:02d}* `{stale[f'svc{i:02d}']}` in _production_" in said
    assert stale["svc03"] not in said

    (upload,) = bot.slack.files()
    assert upload["channel"].startswith("D")
    rows = list(csv.DictReader(io.StringIO(upload["content"].decode())))
    assert len(rows) == 24
    assert {(r["account"], r["account_id"]) for r in rows} == {
        ("staging", org.staging),
        ("production", org.production),
    }
    assert {r["user"] for r in rows if r["account"] == "staging"} == {"builder"}

    [answer] = [m for m in bot.replies(reply) if "Worst 10" in flatten(m)]
    bot.press(answer, "Deactivate", user="U0ALICE")
    request = posted(bot, "Deactivate the access key")
    assert "in staging" in flatten(request)
    bot.press(request, "Confirm", user="U0ALICE")
    bot.slack.wait_for(lambda: "Done." in flatten(current(bot, request)))
    assert key_statuses(aws.client("iam", org.staging), "builder") == {stale["builder"]: "Inactive"}
    [change] = aws.calls("UpdateAccessKey")
    assert change.account == org.staging


def test_an_account_the_bot_cannot_enter_is_shown_and_the_others_audited(
    make_bot, aws: FaithfulAws, org: Org, stale: dict[str, str]
) -> None:
    aws.client("iam", org.production).delete_role(RoleName=ROLE)
    bot: Bot = make_bot(audit_config(org))
    said = bot.said(bot.command("audit --org"))
    assert f"*production* `{org.production}`: :x: could not audit: AccessDenied" in said
    assert f"*staging* `{org.staging}`: 1 active key older than the rotation age" in said
    assert f"*builder* `{stale['builder']}` in _staging_" in said
    assert "Worst 2 of 2" in said and "1 could not be audited" in said


def test_an_account_where_the_person_may_not_audit_is_named_and_not_entered(
    make_bot, aws: FaithfulAws, org: Org, stale: dict[str, str]
) -> None:
    """Production's own rules let only security audit there: alice (on call) sees it listed
    as not audited, and the bot never entered it for her."""
    own_rules = "      permissions:\n        audit: [S0SECURITY]\n"
    config = listed_config(org, rules=own_rules).replace("permissions:\n", AUDITORS, 1)
    bot: Bot = make_bot(config)
    said = bot.said(bot.command("audit --org", user="U0ALICE"))
    assert (
        f"*production* `{org.production}`: :x: could not audit: you need the audit "
        "permission in this account" in said
    )
    assert f"*builder* `{stale['builder']}` in _staging_" in said
    assert "Worst 2 of 2" in said and "1 could not be audited" in said
    assert org.production not in {c.account for c in aws.calls()}


def test_org_audit_needs_accounts(make_bot) -> None:
    bot: Bot = make_bot(CONFIG.replace("permissions:\n", AUDITORS, 1))
    said = bot.said(bot.command("audit --org"))
    assert "`--org` audits every AWS account the bot knows" in said
    assert "Usage: `/iam audit [--org] [--days N]`" in bot.command("audit --org --org").body


def test_scheduled_org_audit_posts_once_per_period_and_tells_owners_where(
    make_bot, aws: FaithfulAws, org: Org, stale: dict[str, str]
) -> None:
    production = aws.client("iam", org.production)
    production.tag_user(UserName="svc11", Tags=[{"Key": "slack-user-id", "Value": "U0BOB"}])
    now = [datetime(2026, 11, 23, 9, 0, 30, tzinfo=UTC)]
    config = audit_config(
        org, "audit: {schedule: '0 9 * * *', scope: organization, dm_owners: true}\n"
    )

    def posts(bot: Bot) -> list[str]:
        return [flatten(m) for m in bot.channel("C0AUDIT") if "IAM audit" in flatten(m)]

    first = make_bot(config, clock=lambda: now[0])
    first.slack.wait_for(lambda: posts(first))
    first.stop()
    second = make_bot(config, clock=lambda: now[0])  # same store: the period is already claimed
    second.settle()
    time.sleep(0.3)  # several ticks of the second bot's scheduler, which must all find it claimed
    [post] = posts(second)
    assert "IAM audit of 3 AWS accounts" in post
    assert f"*production* `{org.production}`: 11 active keys older" in post
    assert f"*builder* `{stale['builder']}` in _staging_" in post
    reports = aws.calls("GetCredentialReport")
    assert {c.account for c in reports} == {org.management, org.staging, org.production}
    assert {c.source_identity for c in reports} == {"iam-bot"}
    [dm] = direct_messages(second.slack)
    assert stale["svc11"] in dm and f"production ({org.production})" in dm
    assert "`/iam rotate svc11 --account production`" in dm

    now[0] += timedelta(days=1)
    second.slack.wait_for(lambda: len(posts(second)) == 2)
