"""A rotation whose old key is still in use is held for a person's decision: it never reads as
done while the old key is live, it is listed with its buttons (`/iam pending`, the Home tab) for
whoever may press them, and its requester is told; a check time is shown only while it is ahead."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.e2e.test_home import open_home, press_home, shown
from tests.e2e.test_rotation import ROTATION
from tests.fixtures.aws import NOW, aged_key, key_statuses
from tests.fixtures.slack import Bot, current, direct_messages, flatten, posted, request_id


def test_a_held_rotation_waits_on_who_may_decide_it(bot: Bot, iam, aws) -> None:
    iam.create_user(UserName="dave")
    old = aged_key(iam, aws, "dave", age_days=200, used_days_ago=0.01)  # used minutes ago
    bot.command("rotate dave", user="U0ALICE")
    plan = posted(bot, "Rotate the access key")
    bot.press(plan, "Confirm", user="U0ALICE")
    held = flatten(current(bot, plan))
    assert "Held" in held and "Done." not in held
    assert [m for m in direct_messages(bot.slack) if "is held" in m and old in m]  # the requester

    (listing,) = bot.replies(bot.command("pending", user="U0BOB"))
    assert request_id(plan) in flatten(listing) and "Held" in flatten(listing)
    assert request_id(plan) not in bot.said(bot.command("pending", user="U0SEC1"))  # no rotate
    home = shown(open_home(bot, "U0ALICE"))
    assert request_id(plan) in home and "Deactivate anyway" in home

    bot.press(listing, "Deactivate anyway", user="U0BOB")
    assert key_statuses(iam, "dave")[old] == "Inactive"
    assert "Done." in flatten(current(bot, plan))
    assert request_id(plan) not in bot.said(bot.command("pending", user="U0BOB"))


def test_the_check_time_gives_way_to_what_the_check_found(make_bot, iam, aws) -> None:
    now = [datetime.now(UTC)]
    bot: Bot = make_bot(ROTATION, clock=lambda: now[0])
    iam.create_user(UserName="dave")
    old = aged_key(iam, aws, "dave", age_days=200, used_days_ago=10)
    bot.command("rotate dave", user="U0ALICE")
    plan = posted(bot, "Rotate the access key")
    bot.press(plan, "Confirm", user="U0ALICE")
    waiting = flatten(current(bot, plan))
    assert "checked and deactivated at" in waiting and "Done." not in waiting

    aws.backdate_access_key(old, NOW - timedelta(days=200), (datetime.now(UTC), "s3", "us-east-1"))
    now[0] += timedelta(minutes=61)  # the check: the old key was used after the new one came
    later = bot.slack.wait_for(lambda: "Held" in (t := flatten(current(bot, plan))) and t)
    assert "checked and deactivated at" not in later and "Done." not in later
    assert key_statuses(iam, "dave")[old] == "Active"


def test_a_held_rotation_is_extended_from_home(bot: Bot, iam, aws) -> None:
    iam.create_user(UserName="dave")
    old = aged_key(iam, aws, "dave", age_days=200, used_days_ago=0.01)
    bot.command("rotate dave", user="U0ALICE")
    plan = posted(bot, "Rotate the access key")
    bot.press(plan, "Confirm", user="U0ALICE")
    open_home(bot, "U0BOB")
    press_home(bot, "U0BOB", label="Extend 24 hours")
    extended = flatten(current(bot, plan))
    assert "gave the old key 24 hours more" in extended and "is checked again at" in extended
    assert "Done." not in extended and key_statuses(iam, "dave")[old] == "Active"
    redrawn = bot.slack.wait_for(
        lambda: (t := shown(bot.slack.home("U0BOB"))) and "Nothing is waiting on you" in t and t
    )
    assert request_id(plan) not in redrawn.split("Latest requests")[0]


def test_history_says_a_held_rotation_is_held_not_done(bot: Bot, iam, aws) -> None:
    iam.create_user(UserName="dave")
    old = aged_key(iam, aws, "dave", age_days=200, used_days_ago=0.01)
    bot.command("rotate dave", user="U0ALICE")
    plan = posted(bot, "Rotate the access key")
    bot.press(plan, "Confirm", user="U0ALICE")

    history = bot.said(bot.command("history dave", user="U0BOB"))
    assert "· held: old key still in use ·" in history and "· done ·" not in history

    bot.press(current(bot, plan), "Deactivate anyway", user="U0BOB")
    assert key_statuses(iam, "dave")[old] == "Inactive"
    history = bot.said(bot.command("history dave", user="U0BOB"))
    assert "· done ·" in history and "held" not in history
