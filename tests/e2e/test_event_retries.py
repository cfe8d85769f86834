"""Slack's retries of an event or a modal submission run nothing twice: the Home tab is
published once per opening, and a retried Deny submission records one denial."""

from __future__ import annotations

from tests.fixtures.aws import make_full_user
from tests.fixtures.slack import Bot, audit_log, flatten, open_request


def publishes(bot: Bot, user: str) -> int:
    return len([c for c in bot.slack.calls("views.publish") if c.args.get("user_id") == user])


def test_a_retried_home_opening_publishes_once(bot: Bot) -> None:
    assert bot.sender.open_home("U0SEC1").status == 200
    bot.settle()
    bot.slack.wait_for(lambda: publishes(bot, "U0SEC1"))
    assert bot.sender.redeliver(retry_num=1).status == 200
    bot.settle()
    assert publishes(bot, "U0SEC1") == 1


def test_a_retried_deny_submission_denies_once(bot: Bot, iam) -> None:
    make_full_user(iam)
    request = open_request(bot)
    bot.press(request, "Deny", user="U0SEC1")
    [modal] = bot.slack.wait_for(lambda: bot.slack.views())
    values = {"reason": {"reason": {"type": "plain_text_input", "value": "not yet"}}}
    assert bot.sender.submit_view(modal, user_id="U0SEC1", values=values).status == 200
    assert bot.sender.redeliver(retry_num=1).status == 200
    bot.settle()
    bot.slack.wait_for(lambda: "denied by <@U0SEC1>" in audit_log(bot))
    assert audit_log(bot).count("denied by <@U0SEC1>") == 1
    told = [flatten(m) for m in bot.slack.messages(seen_by="U0SEC1") if m.ephemeral]
    assert not [t for t in told if "Already" in t], told
