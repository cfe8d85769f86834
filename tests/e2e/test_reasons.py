"""A reason nobody gave is recorded as missing, never made up ("leaked key", "from /iam whois",
"no longer needed" were the bot's inventions)."""

from __future__ import annotations

from tests.fixtures.slack import Bot, audit_log, flatten, open_request, posted

INVENTED = ("leaked key", "from /iam whois", "no longer needed")


def _shown_everywhere(bot: Bot, message) -> str:
    return flatten(message) + "\n" + audit_log(bot)


def test_deactivate_without_a_reason_says_none_was_given(bot: Bot, iam) -> None:
    iam.create_user(UserName="dave")
    key = iam.create_access_key(UserName="dave")["AccessKey"]["AccessKeyId"]
    request = open_request(bot, f"deactivate {key}")
    shown = _shown_everywhere(bot, request)
    assert "no reason given" in shown
    assert not [word for word in INVENTED if word in shown]


def test_buttons_record_that_no_reason_was_given(bot: Bot, iam) -> None:
    iam.create_user(UserName="dave")
    key = iam.create_access_key(UserName="dave")["AccessKey"]["AccessKeyId"]
    answer = bot.replies(bot.command(f"whois {key}", user="U0ALICE"))[-1]
    bot.press(answer, "Deactivate now", user="U0ALICE")
    deactivation = posted(bot, "Deactivate the access key")
    bot.press(deactivation, "Confirm", user="U0ALICE")
    done = posted(bot, "Deactivate the access key")
    bot.press(done, "Delete key", user="U0ALICE")
    deletion = posted(bot, "Delete the access key")
    for message in (deactivation, deletion):
        shown = _shown_everywhere(bot, message)
        assert "no reason given" in shown
        assert not [word for word in INVENTED if word in shown]
