"""Slack failing cannot strand or mis-report a request: telling people is its own, retried step.

Each test makes the fake Slack answer one of the bot's calls with a 429 (with Retry-After) or a
500, at the moment that used to break things, and checks what people end up seeing and what
AWS ends up holding.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from sandbox.harness import ShiftedClock
from tests.fixtures.aws import aged_key, key_statuses, make_full_user, user_exists
from tests.fixtures.slack import (
    CONFIG,
    Bot,
    audit_log,
    current,
    flatten,
    open_request,
    posted,
    request_id,
    told,
)

pytestmark = pytest.mark.usefixtures("aws")

TOLD_WRONGLY = ("Something went wrong", "Nothing more was changed", "Already approved")


def _shown(bot: Bot, message, words: str) -> str:
    return bot.slack.wait_for(lambda: words in (text := flatten(current(bot, message))) and text)


@pytest.mark.parametrize("error", ["ratelimited", "http_500"])
def test_a_failed_update_at_approve_still_runs_and_tells_the_truth(bot: Bot, iam, error) -> None:
    make_full_user(iam)
    plan = open_request(bot)
    bot.slack.fail("chat.update", error)
    bot.press(plan, "Approve", user="U0SEC1")
    assert not user_exists(iam, "leaver")
    assert "leaver removed" in _shown(bot, plan, "Done.")
    assert not any(words in told(bot, "U0SEC1") for words in TOLD_WRONGLY)
    bot.press(plan, "Approve", user="U0SEC2")  # a second approver, from the old buttons
    assert "already been carried out" in bot.slack.wait_for(lambda: told(bot, "U0SEC2"))


def test_slack_down_for_a_while_delays_messages_but_not_the_work(
    bot: Bot, iam, caplog: pytest.LogCaptureFixture
) -> None:
    """More failures than the client's own retries: the outbox logs at ERROR with the request
    and delivers later; the removal itself never waited."""
    make_full_user(iam)
    plan = open_request(bot)
    request = request_id(plan)
    bot.slack.fail("chat.update", "http_500", times=5)
    bot.slack.fail("chat.postMessage", "http_500", times=5)
    with caplog.at_level(logging.ERROR):
        bot.press(plan, "Approve", user="U0SEC1")
        assert not user_exists(iam, "leaver")  # the work did not wait for Slack
        assert "leaver removed" in _shown(bot, plan, "Done.")
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any(request in line and "retrying" in line for line in errors), errors
    audit = bot.slack.wait_for(lambda: [m for m in bot.channel("C0AUDIT") if "done:" in flatten(m)])
    assert len(audit) == 1


def test_a_failed_progress_update_does_not_fail_the_offboarding(bot: Bot, iam, aws) -> None:
    make_full_user(iam)
    plan = open_request(bot)
    aws.hold("DeleteUser")  # stop before the last wave, so progress updates are due
    bot.slack.fail("chat.update", "http_500", times=4)
    bot.sender.press(plan, user_id="U0SEC1", label="Approve")
    assert aws.wait_held("DeleteUser")
    aws.release("DeleteUser")
    bot.settle()
    assert not user_exists(iam, "leaver")
    text = _shown(bot, plan, "Done.")
    assert "Failed unexpectedly" not in text


def test_a_failed_update_during_retry_leaves_nothing_running(bot: Bot, iam, aws) -> None:
    make_full_user(iam)
    plan = open_request(bot)
    aws.fail("DeleteUser", code="ServiceFailure", status=500, times=5)  # beyond botocore's retries
    bot.press(plan, "Approve", user="U0SEC1")
    assert "Retry" in _shown(bot, plan, "An approver can retry")
    failed = current(bot, plan)
    bot.slack.fail("chat.update", "http_500", times=3)
    bot.press(failed, "Retry", user="U0SEC2")
    assert not user_exists(iam, "leaver")
    assert "leaver removed" in _shown(bot, plan, "Done.")
    assert "state running" not in flatten(current(bot, plan))


def _past_the_first_backoff(bot: Bot, clock: ShiftedClock) -> None:
    """The outbox's first try failed (the command waited for it); its retry, due 2 s later on
    the bot's clock, goes now."""
    clock.advance(timedelta(seconds=3))
    bot.catch_up()


@pytest.mark.parametrize("error", ["ratelimited", "http_500"])
def test_a_failed_post_of_the_request_still_shows_it(make_bot, iam, error) -> None:
    clock = ShiftedClock()
    bot = make_bot(clock=clock)
    make_full_user(iam)
    bot.slack.fail("chat.postMessage", error, times=4)  # beyond the client's own retries
    bot.command("offboard leaver left the company")
    _past_the_first_backoff(bot, clock)
    plan = bot.slack.wait_for(lambda: [m for m in bot.channel() if m.blocks], timeout=20)[0]
    assert "Approve" in flatten(plan)
    bot.press(plan, "Approve", user="U0SEC1")
    assert not user_exists(iam, "leaver")


@pytest.mark.parametrize("error", ["ratelimited", "http_500"])
def test_a_failed_response_url_answer_is_retried(make_bot, iam, error) -> None:
    clock = ShiftedClock()
    bot = make_bot(clock=clock)
    iam.create_user(UserName="alice")
    iam.create_access_key(UserName="alice")
    bot.slack.fail("response_url", error, times=4)  # beyond the client's own retries
    reply = bot.command("keys alice")
    _past_the_first_backoff(bot, clock)
    shown = bot.slack.wait_for(lambda: bot.replies(reply), timeout=20)
    assert "Access keys of alice" in flatten(shown[0])


def test_a_failed_answer_is_retried_when_the_bots_clock_says_so(make_bot, iam) -> None:
    """The outbox's backoff runs on the bot's clock, as every scheduled step does."""
    now = [datetime.now(UTC)]
    bot = make_bot(clock=lambda: now[0])
    iam.create_user(UserName="alice")
    iam.create_access_key(UserName="alice")
    bot.slack.fail("response_url", "http_500", times=3)  # the client's own retries too
    reply = bot.command("keys alice")
    bot.catch_up()
    assert bot.replies(reply) == []  # the first backoff (2 s) is not over on the bot's clock
    now[0] += timedelta(seconds=3)
    bot.catch_up()
    assert "Access keys of alice" in flatten(bot.replies(reply)[0])


def test_the_scheduled_audit_survives_a_slack_failure(make_bot, iam) -> None:
    now = [datetime(2026, 11, 23, 9, 0, 30, tzinfo=UTC)]
    config = "permissions: {audit: ['*']}\naudit_channel: C0AUDIT\naudit: {schedule: '0 9 * * *'}\n"
    iam.create_user(UserName="someone")
    key = iam.create_access_key(UserName="someone")["AccessKey"]["AccessKeyId"]
    assert key
    bot = make_bot(config, clock=lambda: now[0], state="audit.sqlite3")
    bot.slack.fail("chat.postMessage", "http_500", times=4)
    bot.catch_up()  # the period's audit is taken; Slack failed its post
    now[0] += timedelta(seconds=3)  # the outbox's first backoff (2 s) is over, same period
    posts = bot.slack.wait_for(
        lambda: [m for m in bot.channel("C0AUDIT") if "IAM audit" in flatten(m)], timeout=20
    )
    assert len(posts) == 1
    now[0] += timedelta(minutes=5)  # later ticks of the same period post nothing more
    bot.settle()
    assert len([m for m in bot.channel("C0AUDIT") if "IAM audit" in flatten(m)]) == 1


# --- Slack not saying who is in a group is not a "no" ------------------------------------------

GROUPS_DOWN = 1000  # down until healed: every lookup fails, whoever else asks meanwhile


@pytest.mark.parametrize("error", ["ratelimited", "http_500"])
def test_an_approver_is_told_slack_did_not_answer_not_that_they_lack_approve(
    bot: Bot, iam, error
) -> None:
    make_full_user(iam)
    plan = open_request(bot)
    bot.slack.fail("usergroups.users.list", error, times=GROUPS_DOWN)
    bot.press(plan, "Approve", user="U0SEC1")
    said = told(bot, "U0SEC1")
    assert "Slack did not answer whether you are in the user group `S0SECURITY`" in said
    assert "permission" not in said
    assert "Waiting for 1 more approval" in flatten(current(bot, plan))
    assert user_exists(iam, "leaver")

    bot.slack.heal("usergroups.users.list")  # a minute later, Slack answers
    bot.press(current(bot, plan), "Approve", user="U0SEC1")
    assert "leaver removed" in _shown(bot, plan, "Done.")
    assert not user_exists(iam, "leaver")


@pytest.mark.parametrize("error", ["ratelimited", "http_500"])
def test_a_confirmed_deactivation_waits_for_slack_and_then_deactivates(
    bot: Bot, iam, aws, error
) -> None:
    iam.create_user(UserName="dave")
    key = aged_key(iam, aws, "dave", age_days=30, used_days_ago=1)
    bot.command(f"deactivate {key} pasted in a public gist", user="U0BOB")
    request = posted(bot, "Deactivate the access key")
    bot.slack.fail("usergroups.users.list", error, times=GROUPS_DOWN)
    bot.press(request, "Confirm", user="U0BOB")
    waiting = flatten(current(bot, request))
    assert "Waiting for Slack" in waiting, waiting
    assert "may no longer" not in waiting and "Not run" not in waiting
    assert key_statuses(iam, "dave") == {key: "Active"}

    bot.slack.heal("usergroups.users.list")
    bot.catch_up()  # the scheduler's next pass takes the run up again
    assert key_statuses(iam, "dave") == {key: "Inactive"}
    done = _shown(bot, request, "is now inactive")
    assert "Waiting for Slack" not in done and "Not run" not in done
    assert "interrupted by a restart" not in audit_log(bot)


def test_a_group_slack_says_does_not_exist_grants_nothing(make_bot, iam) -> None:
    """Slack's own "no" (``no_such_subteam``, HTTP 200) is an answer: the group grants nothing,
    and whoever it would have listed is told they lack the permission, at once."""
    make_full_user(iam)
    bot: Bot = make_bot(CONFIG.replace("approve: [S0SECURITY]", "approve: [S0GONE, S0SECURITY]"))
    plan = open_request(bot)
    bot.press(plan, "Approve", user="U0NOBODY")
    assert "You need the `approve` permission" in told(bot, "U0NOBODY")
    bot.press(plan, "Approve", user="U0SEC1")
    assert "leaver removed" in _shown(bot, plan, "Done.")


def test_a_rotation_step_due_while_slack_is_silent_waits_for_it(make_bot, iam, aws) -> None:
    """The old key's deactivation, due after the grace period, checks the rules as they stand;
    while Slack does not say who is in the group it waits (no "not deactivated"), then runs."""
    now = [datetime.now(UTC)]
    bot: Bot = make_bot(
        CONFIG + "rotation: {grace_minutes: 60, delete_after_minutes: 60}\n",
        clock=lambda: now[0],
    )
    iam.create_user(UserName="dave")
    old = aged_key(iam, aws, "dave", age_days=200, used_days_ago=10)
    bot.command("rotate dave", user="U0ALICE")
    plan = posted(bot, "Rotate the access key")
    bot.press(plan, "Confirm", user="U0ALICE")
    assert key_statuses(iam, "dave")[old] == "Active"  # the grace period

    bot.slack.fail("usergroups.users.list", "http_500", times=1000)
    now[0] += timedelta(minutes=61)
    bot.catch_up()
    assert key_statuses(iam, "dave")[old] == "Active"
    assert "not deactivated" not in flatten(current(bot, plan))

    bot.slack.heal("usergroups.users.list")
    bot.catch_up()
    assert key_statuses(iam, "dave")[old] == "Inactive"
    assert "not deactivated" not in flatten(current(bot, plan))
