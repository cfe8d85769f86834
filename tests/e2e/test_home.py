"""App Home over signed HTTP: the ``app_home_opened`` event publishes a view of what waits on me,
what I asked for, my keys and the latest requests, and its buttons work from there as they do
from the request message, under the same channel rule; answers to a Home click come by DM."""

from __future__ import annotations

from typing import Any

from sandbox.slack_api import Message
from tests.fixtures.aws import aged_key, key_statuses, make_full_user, user_exists
from tests.fixtures.slack import (
    CONFIG,
    Bot,
    audit_log,
    current,
    direct_messages,
    flatten,
    open_request,
    posted,
    request_id,
)

# The approvers may rotate their own keys too; sec1's IAM user is found by e-mail (sec1@...).
APPROVERS_ROTATE = CONFIG.replace("rotate: [S0ONCALL]", "rotate: [S0ONCALL, S0SECURITY]")


def open_home(bot: Bot, user: str) -> dict[str, Any]:
    """``user`` opens the Home tab; the view published for them."""
    before = bot.slack.home(user)
    reply = bot.sender.open_home(user)
    assert reply.status == 200, reply.body
    bot.settle()
    return bot.slack.wait_for(lambda: (v := bot.slack.home(user)) is not before and v)


def shown(view: dict[str, Any]) -> str:
    return flatten(Message(channel="", ts="", text="", blocks=view["blocks"]))


def press_home(bot: Bot, user: str, **button: str) -> None:
    reply = bot.sender.press_home(user, **button)
    assert reply.status == 200, reply.body
    bot.settle()


def test_an_approver_decides_from_home_and_sees_their_keys(make_bot, iam, aws) -> None:
    bot = make_bot(APPROVERS_ROTATE)
    make_full_user(iam)
    iam.create_user(UserName="sec1")
    old = aged_key(iam, aws, "sec1", age_days=400, used_days_ago=1)
    request = open_request(bot)

    view = open_home(bot, "U0SEC1")
    text = shown(view)
    assert "Waiting on you" in text and request_id(request) in text
    assert "Access keys of sec1" in text and old in text
    assert "older than 90 days" in text  # the key's flag
    assert f"Rotate {old}" in text
    assert "Latest requests" in text

    press_home(bot, "U0SEC1", label="Approve")
    bot.slack.wait_for(lambda: "Done." in flatten(current(bot, request)))
    assert not user_exists(iam, "leaver")
    assert "approved by <@U0SEC1>" in audit_log(bot)
    assert "Nothing is waiting on you" in shown(open_home(bot, "U0SEC1"))


def test_rotate_from_home_opens_the_rotation_in_my_dm(make_bot, iam, aws) -> None:
    bot = make_bot(APPROVERS_ROTATE)
    iam.create_user(UserName="sec1")
    old = aged_key(iam, aws, "sec1", age_days=400, used_days_ago=1)
    open_home(bot, "U0SEC1")
    press_home(bot, "U0SEC1", label=f"Rotate {old}")
    rotation = posted(bot, "Rotate", channel=bot.slack.dm_channel("U0SEC1"))
    assert old in flatten(rotation)
    bot.press(rotation, "Confirm", user="U0SEC1")
    bot.slack.wait_for(lambda: key_statuses(iam, "sec1").get(old) == "Inactive")
    assert len(key_statuses(iam, "sec1")) == 2


def test_a_requester_sees_their_request_and_its_state(bot: Bot, iam) -> None:
    make_full_user(iam)
    request = open_request(bot)
    text = shown(open_home(bot, "U0ALICE"))
    assert "Asked by you" in text and request_id(request) in text
    assert "waiting for 1 more approval" in text
    assert "Nothing is waiting on you" in text  # alice may not approve; her own never waits on her
    bot.press(request, "Approve", user="U0SEC1")
    bot.slack.wait_for(lambda: "Done." in flatten(current(bot, request)))
    text = shown(open_home(bot, "U0ALICE"))
    assert "You have no open requests" in text
    assert f"`{request_id(request)}`" in text and "done" in text  # among the latest


def test_a_click_on_a_stale_home_is_answered_by_dm(bot: Bot, iam) -> None:
    make_full_user(iam)
    request = open_request(bot)
    open_home(bot, "U0SEC1")
    bot.press(request, "Approve", user="U0SEC2")  # decided from its message meanwhile
    bot.slack.wait_for(lambda: "Done." in flatten(current(bot, request)))
    press_home(bot, "U0SEC1", label="Approve")
    said = bot.slack.wait_for(lambda: direct_messages(bot.slack))
    assert "already been carried out" in said[-1]


def test_a_home_click_obeys_the_channel_rule_of_its_request(make_bot, iam) -> None:
    anywhere = make_bot()
    make_full_user(iam)
    anywhere.command("offboard leaver left", channel="C0ELSEWHERE")
    request = posted(anywhere, "leaver", channel="C0ELSEWHERE")
    anywhere.stop()
    # The same store, now with /iam allowed only in C0OPS: deciding it from Home is refused
    # as deciding it from its message in C0ELSEWHERE would be.
    bot = make_bot(CONFIG + "channels: [C0OPS]\n")
    open_home(bot, "U0SEC1")
    press_home(bot, "U0SEC1", label="Approve")
    said = bot.slack.wait_for(lambda: direct_messages(bot.slack))
    assert "/iam works only in <#C0OPS>" in said[-1]
    assert user_exists(iam, "leaver") and "1 more approval" in flatten(current(bot, request))


def test_someone_without_keys_sees_no_keys_and_no_history(bot: Bot) -> None:
    text = shown(open_home(bot, "U0NOBODY"))
    assert "Nothing is waiting on you" in text and "You have no open requests" in text
    assert "Access keys" not in text and "Latest requests" not in text
