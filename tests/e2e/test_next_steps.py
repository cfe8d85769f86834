"""No dead ends: `/iam history` says who denied a request and why (and a cancellation or an
expiry as such), and `/iam whois` gives a next step for keys the bot cannot act on: a protected
user's key, and a temporary (ASIA…) key."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.fixtures.aws import key_statuses, user_with_key
from tests.fixtures.slack import Bot, current, flatten, open_request, posted

HOSTILE_REASON = "dave still needs it <!channel>"
TEMPORARY = "ASIAY34FZKBOKMUTVV7A"


def test_history_names_who_denied_and_quotes_why(bot: Bot, iam) -> None:
    user_with_key(iam)
    plan = open_request(bot, "offboard dave left the company")
    bot.deny(plan, HOSTILE_REASON)
    assert ":no_entry: Denied by <@U0SEC1>" in flatten(current(bot, plan))
    history = bot.said(bot.command("history dave"))
    assert "denied by <@U0SEC1>:\n>dave still needs it &lt;!channel&gt;" in history
    assert "by <@U0ALICE>:\n>left the company" in history
    assert "approved by nobody" not in history and "<!channel>" not in history


def test_history_says_a_request_was_cancelled_or_expired(make_bot, iam) -> None:
    now = [datetime.now(UTC)]
    bot = make_bot(clock=lambda: now[0])
    user_with_key(iam)
    plan = open_request(bot, "offboard dave left")
    bot.press(plan, "Cancel", user="U0ALICE")
    open_request(bot, "offboard dave left again")
    now[0] += timedelta(minutes=61)
    bot.catch_up()  # the scheduler expires it
    history = bot.said(bot.command("history dave"))
    assert "by <@U0ALICE> · cancelled by the requester:\n>left" in history
    assert "by <@U0ALICE> · expired without a decision:\n>left again" in history
    assert "approved by nobody" not in history


def test_whois_on_a_protected_users_key_says_how_to_proceed(bot: Bot, iam) -> None:
    key = user_with_key(iam, "break-glass-admin")
    answer = bot.replies(bot.command(f"whois {key}"))[-1]
    said = flatten(answer)
    assert "*break-glass-admin* is a protected user: no /iam command changes it" in said
    assert "tell <!subteam^S0SECURITY>" in said  # the approvers: who to contact
    assert (
        f"`aws iam update-access-key --user-name break-glass-admin --access-key-id {key} "
        "--status Inactive`" in said
    )
    assert "`/iam contain` takes a leaked key out of use" in said
    [buttons] = [b for b in answer.blocks if b.get("type") == "actions"]
    assert [e["text"]["text"] for e in buttons["elements"]] == ["Contain"]  # the one it may
    bot.press(answer, "Contain", user="U0ALICE")
    contain = posted(bot, "Contain the access key")
    bot.press(contain, "Confirm", user="U0ALICE")
    assert key_statuses(iam, "break-glass-admin") == {key: "Inactive"}


def test_whois_on_a_temporary_key_explains_it_and_the_way_to_cut_it_off(bot: Bot, aws) -> None:
    said = bot.said(bot.command(f"whois {TEMPORARY}"))
    assert f"`{TEMPORARY}` is a *temporary* key of AWS account {aws.account_id}" in said
    assert "cannot be deactivated" in said
    assert f"filter *AWS access key* = `{TEMPORARY}`" in said
    assert "*Revoke active sessions*" in said
    assert "No access key" not in said


def test_deactivating_a_key_the_bot_cannot_change_points_to_whois(bot: Bot, iam) -> None:
    key = user_with_key(iam, "break-glass-admin")
    refused = bot.said(bot.command(f"deactivate {key} leaked on github"))
    assert "`break-glass-admin` is a protected user: no /iam command changes it." in refused
    assert f"`/iam whois {key}` says how to deal with it." in refused
    temporary = bot.said(bot.command(f"deactivate {TEMPORARY} leaked on github"))
    assert f"`{TEMPORARY}` is a temporary key from AWS STS, not an IAM user's" in temporary
    assert f"`/iam whois {TEMPORARY}` says how to deal with it." in temporary
