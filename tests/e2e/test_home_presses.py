"""A button pressed in the App Home tab redraws that person's Home once the press has done its
work, so the view never offers a decision already taken; Deny pressed there asks for the reason
in a modal, and its submission denies the request and redraws the Home too."""

from __future__ import annotations

from typing import Any

from sandbox.slack_api import Message
from tests.fixtures.aws import make_full_user, user_exists
from tests.fixtures.slack import Bot, audit_log, current, flatten, open_request, request_id


def publishes(bot: Bot, user: str) -> int:
    return len([c for c in bot.slack.calls("views.publish") if c.args.get("user_id") == user])


def open_home(bot: Bot, user: str) -> None:
    assert bot.sender.open_home(user).status == 200
    bot.settle()
    bot.slack.wait_for(lambda: publishes(bot, user))


def redrawn_after(bot: Bot, user: str, press: Any) -> str:
    """Run ``press`` (a click in ``user``'s Home) and return the Home published after it."""
    before = publishes(bot, user)
    press()
    bot.settle()
    bot.slack.wait_for(lambda: publishes(bot, user) > before)
    view = bot.slack.home(user)
    assert view is not None
    return flatten(Message(channel="", ts="", text="", blocks=view["blocks"]))


def test_approve_from_home_redraws_it_without_that_request(bot: Bot, iam) -> None:
    make_full_user(iam)
    request = open_request(bot)
    open_home(bot, "U0SEC1")

    shown = redrawn_after(bot, "U0SEC1", lambda: bot.sender.press_home("U0SEC1", label="Approve"))
    assert "Nothing is waiting on you" in shown
    bot.slack.wait_for(lambda: "Done." in flatten(current(bot, request)))
    assert not user_exists(iam, "leaver")


def test_deny_from_home_asks_why_denies_and_redraws_it(bot: Bot, iam) -> None:
    make_full_user(iam)
    request = open_request(bot)
    open_home(bot, "U0SEC1")
    assert bot.sender.press_home("U0SEC1", label="Deny").status == 200
    bot.settle()
    [modal] = bot.slack.wait_for(lambda: bot.slack.views())
    assert "Deny request" in flatten(modal["title"])

    values = {"reason": {"reason": {"type": "plain_text_input", "value": "not <!here> yet"}}}
    shown = redrawn_after(
        bot,
        "U0SEC1",
        lambda: bot.sender.submit_view(modal, user_id="U0SEC1", values=values),
    )
    assert "Nothing is waiting on you" in shown
    denied = flatten(current(bot, request))
    assert "Denied by <@U0SEC1>:\n>not &lt;!here&gt; yet" in denied  # the reason, escaped
    assert user_exists(iam, "leaver")
    assert f"`{request_id(request)}`" in audit_log(bot)
