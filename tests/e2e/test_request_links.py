"""A second request for what is already asked is refused with a link to the open request's
message (its permalink), or, when Slack cannot give one, with where it is."""

from __future__ import annotations

from sandbox.slack_api import Message
from tests.fixtures.aws import user_with_key
from tests.fixtures.slack import Bot, flatten, open_request, request_id


def permalink(message: Message) -> str:
    return f"https://sandbox.slack.com/archives/{message.channel}/p{message.ts.replace('.', '')}"


def test_a_second_request_links_the_open_one(bot: Bot, iam) -> None:
    user_with_key(iam)
    first = open_request(bot, "rotate dave", user="U0ALICE")
    refused = bot.said(bot.command("rotate dave", user="U0BOB"))
    assert f"<{permalink(first)}|the open request>" in refused
    assert f"request `{request_id(first)}`" in refused
    assert len([m for m in bot.channel() if "request `" in flatten(m)]) == 1  # nothing new

    bot.slack.fail("chat.getPermalink", "internal_error", times=5)  # Slack cannot say: no link
    refused = bot.said(bot.command("rotate dave", user="U0BOB"))
    assert f"request `{request_id(first)}` in <#C0OPS>" in refused and "https://" not in refused
