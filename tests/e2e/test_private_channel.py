"""A request asked for in a private channel the bot is not in: Slack refuses to post it there
(``not_in_channel``), so nobody could see or confirm it. The person is told at once, where they
typed (the command's response URL works there), how to ask again, and the request is withdrawn,
not left waiting until it expires."""

from __future__ import annotations

from tests.fixtures.aws import key_statuses, user_with_key
from tests.fixtures.slack import Bot, audit_log, flatten, told


def test_a_request_slack_will_not_post_is_withdrawn_and_its_requester_told(bot: Bot, iam) -> None:
    key = user_with_key(iam)
    bot.slack.private_channel("C0SECRET", ("U0ALICE",))

    reply = bot.command(f"deactivate {key} leaked on github", channel="C0SECRET")

    said = bot.said(reply)
    assert "Nobody could see your request" in said and "nothing was changed" in said
    assert "`/invite` <@U0IAMBOT>" in said and "run it in <#C0AUDIT>" in said
    assert [m.ephemeral and m.user for m in bot.replies(reply)] == ["U0ALICE"]
    assert bot.channel("C0SECRET") == [] and key_statuses(iam, "dave") == {key: "Active"}
    assert "cancelled by iam-bot: Slack would not show it where it was asked" in audit_log(bot)
    assert "Nothing is waiting on you." in bot.said(bot.command("pending"))

    # Invited, the bot shows the same request at once: the withdrawn one holds nothing.
    bot.slack.invite("C0SECRET")
    bot.command(f"deactivate {key} leaked on github", channel="C0SECRET")
    [shown] = bot.channel("C0SECRET")
    bot.press(shown, "Confirm", user="U0ALICE")
    assert key_statuses(iam, "dave") == {key: "Inactive"}


def test_a_button_pressed_in_a_private_channel_is_answered_there(bot: Bot, iam) -> None:
    """`whois` answers by its response URL, so it shows in a private channel; its Deactivate
    button then opens a request the bot cannot post: the click's response URL tells the person."""
    key = user_with_key(iam)
    bot.slack.private_channel("C0SECRET", ("U0BOB",))
    reply = bot.command(f"whois {key}", user="U0BOB", channel="C0SECRET")
    [card] = [m for m in bot.replies(reply) if "Deactivate" in flatten(m)]

    bot.press(card, "Deactivate now", user="U0BOB")

    assert "Nobody could see your request" in told(bot, "U0BOB")
    assert bot.channel("C0SECRET") == [] and key_statuses(iam, "dave") == {key: "Active"}
