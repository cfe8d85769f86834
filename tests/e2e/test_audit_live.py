"""The audit reads a credential report up to 4 hours old: it says how old, and leaves out what
IAM no longer bears out (a key deactivated or deleted since) instead of offering to deactivate
it again. Its buttons open requests whose reason is the finding; its counts read as counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sandbox.aws import FaithfulAws
from tests.fixtures.accounts import organization
from tests.fixtures.aws import aged_key
from tests.fixtures.slack import CONFIG, Bot, flatten, posted

AUDIT = CONFIG.replace("permissions:\n", "permissions:\n  audit: [S0SECURITY, S0ONCALL]\n", 1)


def _audit(bot: Bot, user: str = "U0ALICE"):
    """The audit's answer: its last reply (the one with the findings and their buttons)."""
    return bot.replies(bot.command("audit", user=user))[-1]


def test_keys_deactivated_or_deleted_since_the_report_are_left_out(
    make_bot, iam, aws: FaithfulAws
) -> None:
    bot = make_bot(AUDIT)
    for user in ("idle", "gone", "kept"):
        iam.create_user(UserName=user)
    idle = aged_key(iam, aws, "idle", age_days=80, used_days_ago=60)
    gone = aged_key(iam, aws, "gone", age_days=90, used_days_ago=70)
    kept = aged_key(iam, aws, "kept", age_days=70, used_days_ago=50)
    first = flatten(_audit(bot))
    assert idle in first and gone in first and kept in first

    iam.update_access_key(UserName="idle", AccessKeyId=idle, Status="Inactive")
    iam.delete_access_key(UserName="gone", AccessKeyId=gone)
    answer = _audit(bot)  # the same report (cached: IAM rebuilds it at most every 4 hours)
    said = flatten(answer)
    assert aws.count("GetCredentialReport") == 1
    assert idle not in said and gone not in said and "*idle*" not in said
    assert f"*kept* `{kept}`: active key unused, unused for 50 days" in said
    assert "• 1 active key unused" in said
    assert "2 findings no longer true (key deactivated or deleted" in said
    buttons = [b["accessory"]["value"] for b in answer.blocks if b.get("accessory")]
    assert len(buttons) == 1 and kept in buttons[0]


def test_the_audit_says_how_old_its_report_is(make_bot, iam, aws: FaithfulAws) -> None:
    now = [datetime.now(UTC)]
    bot = make_bot(AUDIT, clock=lambda: now[0])
    iam.create_user(UserName="idle")
    aged_key(iam, aws, "idle", age_days=80, used_days_ago=60)
    assert "The credential report was built just now" in flatten(_audit(bot))
    now[0] += timedelta(hours=2, minutes=5)
    said = flatten(_audit(bot))
    assert "The credential report was built 2 hours ago (" in said
    assert "IAM rebuilds it at most every 4 hours" in said


def test_audit_buttons_give_the_finding_as_the_reason(make_bot, iam, aws: FaithfulAws) -> None:
    bot = make_bot(AUDIT)
    iam.create_user(UserName="idle")
    iam.create_user(UserName="old")
    aged_key(iam, aws, "idle", age_days=80, used_days_ago=60)
    aged_key(iam, aws, "old", age_days=200, used_days_ago=1)
    answer = _audit(bot)
    bot.press(answer, "Deactivate", user="U0ALICE")
    deactivation = flatten(posted(bot, "Deactivate the access key"))
    assert ">audit: active key unused, unused for 60 days" in deactivation
    assert "no reason given" not in deactivation
    bot.press(answer, "Rotate", user="U0ALICE")
    rotation = flatten(posted(bot, "Rotate the access key"))
    assert ">audit: active key older than the rotation age, 200 days old" in rotation


def test_an_audit_of_one_account_says_one_account(make_bot, aws: FaithfulAws) -> None:
    org = organization(aws)
    config = AUDIT + (
        "accounts:\n  default: management\n  list:\n"
        f'    - id: "{org.management}"\n      name: management\n'
    )
    bot = make_bot(config)
    said = bot.said(bot.command("audit --org"))
    assert "IAM audit of 1 AWS account (" in said and "1 AWS accounts" not in said


def test_findings_count_their_days_as_days(make_bot, iam, aws: FaithfulAws) -> None:
    bot = make_bot(AUDIT)
    aws.root.password_last_used = datetime.now(UTC) - timedelta(hours=1)
    iam.create_user(UserName="idle")
    idle = aged_key(iam, aws, "idle", age_days=3, used_days_ago=1.5)
    said = bot.said(bot.command("audit --days 1", user="U0ALICE"))
    assert "root account password used recently, password used today" in said
    assert f"*idle* `{idle}`: active key unused, unused for 1 day" in said
    assert "0 days ago" not in said and "1 days" not in said
