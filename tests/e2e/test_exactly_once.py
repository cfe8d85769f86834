"""Exactly once for key creation and the rest of a rotation: lost answers, kill -9, re-runs.

A CreateAccessKey whose answer is lost (IAM made the key, the SDK retried) and a bot killed
with the call in flight must both end with one new key, the one in Secrets Manager. A restart
in the middle of a rotation must not repeat what was already done, and a failed step must be
told as failed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sandbox.slack_api import Message
from tests.fixtures.aws import aged_key, key_statuses, stored_secret
from tests.fixtures.served import served
from tests.fixtures.slack import (
    CONFIG,
    ONBOARD,
    Bot,
    audit_log,
    current,
    direct_messages,
    flatten,
    posted,
)

# Old keys are put up for deletion an hour after deactivation (not while a test looks).
LATER_DELETE = CONFIG + "rotation: {delete_after_minutes: 60}\n"


def _rotate(bot: Bot, user: str = "dave") -> Message:
    bot.command(f"rotate {user}", user="U0ALICE")
    plan = posted(bot, "Rotate the access key")
    bot.press(plan, "Confirm", user="U0ALICE")
    return plan


def _one_new_key_in_the_secret(iam, user: str, old: set[str]) -> str:
    """The user's only new key: active, and the very one Secrets Manager holds."""
    new = {k: s for k, s in key_statuses(iam, user).items() if k not in old}
    assert list(new.values()) == ["Active"], f"new keys of {user}: {new}"
    (key_id,) = new
    assert stored_secret(f"iam-bot/{user}/access-key")["AccessKeyId"] == key_id
    return key_id


def _lines(text: str, words: str) -> int:
    return sum(words in line for line in text.splitlines())


# --- a lost CreateAccessKey answer ------------------------------------------------------------


def test_rotation_with_a_lost_create_answer_ends_with_the_stored_key_only(
    bot: Bot, iam, aws
) -> None:
    iam.create_user(UserName="dave")
    old = aged_key(iam, aws, "dave", age_days=200, used_days_ago=10)
    aws.fail("CreateAccessKey", after_forward=True)  # IAM makes a key; its answer is lost

    plan = _rotate(bot)

    new = _one_new_key_in_the_secret(iam, "dave", {old})
    assert key_statuses(iam, "dave") == {old: "Inactive", new: "Active"}
    shown = flatten(current(bot, plan))
    assert f"New key `{new}`" in shown and "Done." in shown
    assert f"Old key `{old}` deactivated" in shown
    assert "appeared after the request" not in shown


def test_onboarding_with_a_lost_create_answer_ends_with_one_key(make_bot, iam, aws) -> None:
    aws.add_aws_managed_policy("IAMUserChangePassword")
    bot = make_bot(ONBOARD)
    bot.command("onboard dave --key", user="U0ALICE")
    plan = posted(bot, "Onboard dave")
    aws.fail("CreateAccessKey", after_forward=True)  # botocore's retry makes a second key

    bot.press(plan, "Approve", user="U0SEC1")

    new = _one_new_key_in_the_secret(iam, "dave", set())
    shown = flatten(current(bot, plan))
    assert f"Access key `{new}`" in shown and "Done." in shown
    assert len(aws.calls("CreateAccessKey")) == 2  # the lost one, and the one delivered


def test_a_key_created_behind_the_requests_back_is_refused_not_deleted(bot: Bot, iam, aws) -> None:
    iam.create_user(UserName="dave")
    old = aged_key(iam, aws, "dave", age_days=200, used_days_ago=10)
    bot.command("rotate dave", user="U0ALICE")
    plan = posted(bot, "Rotate the access key")
    stranger = aged_key(iam, aws, "dave", age_days=0, used_days_ago=None)  # after the plan, by hand

    bot.press(plan, "Confirm", user="U0ALICE")

    assert key_statuses(iam, "dave") == {old: "Active", stranger: "Active"}
    assert f"{stranger} appeared after the request" in flatten(current(bot, plan))


@pytest.mark.parametrize(("minutes", "taken_for_ours"), [(1, True), (11, False)])
def test_a_key_made_after_a_failed_attempt_is_ours_only_within_the_calls_window(
    bot: Bot, iam, aws, minutes: int, taken_for_ours: bool
) -> None:
    """IAM cannot say who made a key: one made while this step's call could still have made it
    is deleted as a key nobody holds; one made later than any such call is refused, kept."""
    iam.create_user(UserName="dave")
    old = aged_key(iam, aws, "dave", age_days=200, used_days_ago=10)
    aws.fail("CreateAccessKey", code="AccessDenied", status=403)
    plan = _rotate(bot)
    assert "Injected failure (AccessDenied)" in flatten(current(bot, plan))
    other = aged_key(iam, aws, "dave", age_days=0, used_days_ago=None)
    aws.backdate_access_key(other, datetime.now(UTC) + timedelta(minutes=minutes))

    bot.press(current(bot, plan), "Retry", user="U0SEC1")

    shown = flatten(current(bot, plan))
    if taken_for_ours:
        new = _one_new_key_in_the_secret(iam, "dave", {old})
        assert other != new and "Done." in shown
    else:
        assert key_statuses(iam, "dave") == {old: "Active", other: "Active"}
        assert f"{other} appeared after the request; nothing was created" in shown


# --- kill -9 -----------------------------------------------------------------------------------


def _kill_while_held(tmp_path: Path, slack, aws, config: str, action: str) -> Message:
    """Ask for a rotation of dave, confirm it, and kill -9 the bot while ``action`` is in flight;
    the held call then reaches AWS with nobody listening. The rotation's message."""
    with served(tmp_path, slack, config) as sender:
        assert sender.command("rotate dave", user_id="U0ALICE").status == 200
        plan = slack.wait_for(
            lambda: [m for m in slack.messages("C0OPS") if "Rotate" in flatten(m)]
        )[0]
        aws.hold(action)
        assert sender.press(plan, user_id="U0ALICE", label="Confirm").status == 200
        assert aws.wait_held(action)
    aws.release(action)
    return plan


def _resume(tmp_path: Path, slack, config: str, plan: Message) -> str:
    """Start the bot again and wait until the rotation is done; its message's text."""

    def finished() -> str:
        text = flatten(next(m for m in slack.messages("C0OPS") if m.ts == plan.ts))
        return text if "Done." in text else ""

    with served(tmp_path, slack, config):
        return slack.wait_for(finished, timeout=30)


def test_killed_while_creating_the_key_resumes_with_one_key(aws, slack, iam, tmp_path) -> None:
    iam.create_user(UserName="dave")
    old = aged_key(iam, aws, "dave", age_days=200, used_days_ago=10)
    plan = _kill_while_held(tmp_path, slack, aws, CONFIG, "CreateAccessKey")
    slack.wait_for(lambda: len(key_statuses(iam, "dave")) == 2)  # a key nobody holds

    shown = _resume(tmp_path, slack, CONFIG, plan)

    new = _one_new_key_in_the_secret(iam, "dave", {old})
    assert f"New key `{new}`" in shown
    assert key_statuses(iam, "dave") == {old: "Inactive", new: "Active"}


def test_killed_while_retiring_repeats_nothing_of_the_rotation(
    aws, slack, iam, make_bot, tmp_path
) -> None:
    iam.create_user(UserName="dave", Tags=[{"Key": "slack-user-id", "Value": "U0BOB"}])
    old = aged_key(iam, aws, "dave", age_days=200, used_days_ago=10)
    plan = _kill_while_held(tmp_path, slack, aws, LATER_DELETE, "UpdateAccessKey")
    _resume(tmp_path, slack, LATER_DELETE, plan)

    now = [datetime.now(UTC)]  # the same state file, an hour later: the deletion is due
    bot = make_bot(LATER_DELETE, clock=lambda: now[0])
    slack.wait_for(lambda: "deactivated" in flatten(current(bot, plan)))
    now[0] += timedelta(minutes=61)
    slack.wait_for(lambda: "posted for approval" in flatten(current(bot, plan)))
    bot.settle()

    new = _one_new_key_in_the_secret(iam, "dave", {old})
    shown = flatten(current(bot, plan))
    assert _lines(shown, f"New key `{new}`") == 1
    assert _lines(shown, f"Old key `{old}` deactivated") == 1
    assert _lines(shown, "posted for approval") == 1
    assert len([m for m in bot.channel() if "Delete the access key" in flatten(m)]) == 1
    assert [new in text for text in direct_messages(slack)] == [True]
    audit = audit_log(bot)
    assert _lines(audit, f"Old key `{old}` deactivated") == 1


# --- results of journaled runs ---------------------------------------------------------------


def _scheduled_steps(bot: Bot, count: int) -> list[tuple[str, str]]:
    """(step, state) of the scheduled jobs once ``count`` of them have ended."""

    def ended() -> list[tuple[str, str]]:
        jobs = bot.store.list_by_state("schedule", ["failed", "done"])
        return [(j.data["step"], j.state) for j in jobs] if len(jobs) == count else []

    return bot.slack.wait_for(ended)


def test_a_failed_deactivation_of_the_old_key_is_told_and_can_be_retried(
    make_bot, iam, aws
) -> None:
    bot = make_bot(LATER_DELETE, clock=lambda: datetime.now(UTC) + timedelta(minutes=1))
    iam.create_user(UserName="dave")
    old = aged_key(iam, aws, "dave", age_days=200, used_days_ago=10)
    aws.fail("UpdateAccessKey", code="AccessDenied", status=403)

    plan = _rotate(bot)

    assert _scheduled_steps(bot, 1) == [("retire-old-key", "failed")]
    failed = current(bot, plan)
    shown = flatten(failed)
    assert f"Could not deactivate access key `{old}`" in shown and "AccessDenied" in shown
    assert "deactivated;" not in shown and key_statuses(iam, "dave")[old] == "Active"

    bot.press(failed, "Deactivate now", user="U0ALICE")  # the retry the message offers
    bot.press(posted(bot, "Deactivate the access key"), "Confirm", user="U0ALICE")
    assert key_statuses(iam, "dave")[old] == "Inactive"


def test_a_failed_deletion_of_the_old_key_is_told_and_can_be_retried(make_bot, iam, aws) -> None:
    now = [datetime.now(UTC) + timedelta(minutes=1)]  # the new key is due for retiring now
    bot = make_bot(LATER_DELETE, clock=lambda: now[0])
    iam.create_user(UserName="dave")
    old = aged_key(iam, aws, "dave", age_days=200, used_days_ago=10)
    plan = _rotate(bot)
    assert key_statuses(iam, "dave")[old] == "Inactive"
    now[0] += timedelta(minutes=61)
    deletion = bot.slack.wait_for(
        lambda: [m for m in bot.channel() if "Delete the access key" in flatten(m)]
    )[0]
    assert _scheduled_steps(bot, 2) == [("retire-old-key", "done"), ("delete-old-key", "done")]
    aws.fail("DeleteAccessKey", code="AccessDenied", status=403)

    bot.press(deletion, "Approve", user="U0SEC1")

    shown = flatten(current(bot, deletion))
    assert "Injected failure (AccessDenied)" in shown and "Retry" in shown
    assert "deleted" not in shown and "deleted" not in flatten(current(bot, plan))
    assert old in key_statuses(iam, "dave")
    bot.press(current(bot, deletion), "Retry", user="U0SEC2")
    assert f"`{old}` deleted" in flatten(current(bot, deletion))
    assert old not in key_statuses(iam, "dave")
