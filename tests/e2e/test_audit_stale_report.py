"""The credential report can be hours old (IAM rebuilds it at most every 4 hours): an audit run
from a cached report after a user was removed still answers, and names no removed user."""

from __future__ import annotations

from tests.fixtures.aws import NOW, aged_key, make_full_user
from tests.fixtures.slack import CONFIG, flatten, open_request

AUDIT = CONFIG.replace("permissions:\n", "permissions:\n  audit: [S0SECURITY]\n", 1)


def test_an_audit_from_a_cached_report_skips_a_user_removed_since(make_bot, iam, aws) -> None:
    bot = make_bot(AUDIT)
    make_full_user(iam)
    aws.backdate_access_key(
        iam.list_access_keys(UserName="leaver")["AccessKeyMetadata"][0]["AccessKeyId"],
        NOW.replace(year=NOW.year - 1),
        None,
    )
    iam.create_user(UserName="stays")
    kept = aged_key(iam, aws, "stays", age_days=200, used_days_ago=1)
    first = bot.said(bot.command("audit", user="U0SEC1"))
    assert "*leaver*" in first  # the report (now cached) lists the leaver
    bot.press(open_request(bot), "Approve", user="U0SEC1")
    assert "Done." in flatten(bot.channel()[-1])
    again = bot.said(bot.command("audit", user="U0SEC1"))
    assert "*leaver*" not in again
    assert f"*stays* `{kept}`" in again
    assert "does not exist" not in again and "went wrong" not in again
