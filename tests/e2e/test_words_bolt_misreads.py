"""A command whose text contains the word "payload" is still a command.

Bolt reads any form body containing "payload" as an interactive payload and, finding none,
dispatches nothing: Slack would show the person a failure for `/iam keys payload-svc`.
"""

from __future__ import annotations

from tests.fixtures.aws import aged_key
from tests.fixtures.slack import Bot


def test_keys_of_a_user_named_payload_are_shown(bot: Bot, iam, aws) -> None:
    iam.create_user(UserName="payload-svc")
    key = aged_key(iam, aws, "payload-svc", age_days=3)
    said = bot.said(bot.command("keys payload-svc"))
    assert key in said
    assert "Access keys of payload-svc" in said


def test_the_word_payload_alone_gets_the_usage_card(bot: Bot) -> None:
    said = bot.said(bot.command("payload"))
    assert "`payload` is not an /iam command" in said
