"""A pending request about to expire gets one reminder, in its own thread, naming who can still
decide it; none once it has been decided."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.fixtures.aws import make_full_user
from tests.fixtures.slack import flatten, open_request


def _reminders(bot, plan) -> list:
    return [
        m
        for m in bot.slack.messages("C0OPS")
        if m.thread_ts == plan.ts and "Still waiting for" in flatten(m)
    ]


def test_one_reminder_in_the_thread_before_expiry(make_bot, iam) -> None:
    now = [datetime(2026, 11, 23, 3, 0, tzinfo=UTC)]
    bot = make_bot(clock=lambda: now[0])
    make_full_user(iam)
    plan = open_request(bot)
    now[0] += timedelta(minutes=30)  # an hour to decide: not yet
    bot.settle()
    assert _reminders(bot, plan) == []
    now[0] += timedelta(minutes=22)  # eight minutes left
    [reminder] = bot.slack.wait_for(lambda: _reminders(bot, plan))
    assert "<!subteam^S0SECURITY>" in flatten(reminder)  # who can still decide it
    now[0] += timedelta(minutes=3)  # later ticks say nothing more
    bot.settle()
    assert len(_reminders(bot, plan)) == 1


def test_no_reminder_for_a_decided_request(make_bot, iam) -> None:
    now = [datetime(2026, 11, 23, 3, 0, tzinfo=UTC)]
    bot = make_bot(clock=lambda: now[0])
    make_full_user(iam)
    plan = open_request(bot)
    bot.press(plan, "Approve", user="U0SEC1")
    now[0] += timedelta(minutes=55)
    bot.settle()
    assert _reminders(bot, plan) == []
