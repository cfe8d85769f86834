"""Slack's retries (``X-Slack-Retry-Num``) of a command or click the bot already took: acked,
and not run a second time. (Across two replicas on one table: tests/e2e/test_fleet.py.)"""

from __future__ import annotations

from datetime import timedelta

from sandbox.harness import ShiftedClock
from tests.fixtures.aws import aged_key, make_full_user, user_with_key
from tests.fixtures.slack import Bot, audit_log, current, flatten, open_request, told


def test_a_retried_rotate_opens_one_request(bot: Bot, iam, aws) -> None:
    iam.create_user(UserName="dave")
    aged_key(iam, aws, "dave", age_days=200, used_days_ago=10)

    bot.command("rotate dave", user="U0ALICE")
    retry = bot.sender.redeliver(retry_num=1)
    bot.settle()

    assert retry.status == 200
    rotations = [m for m in bot.channel() if "Rotate the access key" in flatten(m)]
    assert len(rotations) == 1
    assert told(bot, "U0ALICE") == ""  # not "Already asked for: ..." by the retry


def test_a_retried_approve_click_runs_once(bot: Bot, iam, aws) -> None:
    make_full_user(iam)
    plan = open_request(bot)

    bot.press(plan, "Approve", user="U0SEC1")
    retry = bot.sender.redeliver(retry_num=1, reason="http_error")
    bot.settle()

    assert retry.status == 200
    assert aws.count("DeleteUser") == 1
    assert "Done." in flatten(current(bot, plan))
    assert audit_log(bot).count("approved by <@U0SEC1>") == 1
    assert told(bot, "U0SEC1") == ""  # the retry was not answered as a second click


def test_another_command_reusing_a_trigger_id_still_runs(bot: Bot, iam) -> None:
    dave, erin = user_with_key(iam, "dave"), user_with_key(iam, "erin")
    first = bot.sender.command("keys dave", trigger_id="1.T0.reused")
    second = bot.sender.command("keys erin", trigger_id="1.T0.reused")
    bot.settle()

    assert dave in bot.said(first)
    assert erin in bot.said(second)  # a different request, not a redelivery of the first


def test_claims_are_forgotten_a_day_later(make_bot, iam) -> None:
    clock = ShiftedClock()
    bot: Bot = make_bot(clock=clock)
    bot.command("keys nobody-here")
    assert bot.store.list_by_state("delivery", ["done"])  # held while Slack may redeliver

    clock.advance(timedelta(hours=25))
    bot.catch_up()

    assert bot.store.list_by_state("delivery", ["done"]) == []
