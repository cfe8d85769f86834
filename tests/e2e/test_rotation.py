"""Key rotation, whois and deactivate end to end, and the proof that no secret leaks."""

from __future__ import annotations

import json
import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.fixtures.aws import NOW, aged_key, key_statuses, stored_secret
from tests.fixtures.slack import (
    CONFIG,
    Bot,
    audit_log,
    current,
    direct_messages,
    flatten,
    posted,
)

ROTATION = CONFIG + "rotation: {grace_minutes: 60, delete_after_minutes: 60}\n"


def test_rotation_delivers_through_secrets_manager_and_never_leaks(
    bot: Bot, iam, aws, tmp_path: Path, log_output
) -> None:
    iam.create_user(UserName="dave", Tags=[{"Key": "slack-user-id", "Value": "U0BOB"}])
    old = aged_key(iam, aws, "dave", age_days=400, used_days_ago=30)
    bot.command("rotate dave", user="U0ALICE")
    plan = posted(bot, "Rotate the access key")
    text = flatten(plan)
    assert (
        old in text and "iam-bot/dave/access-key" in text and "400 days" not in text
    )  # dates, not ages
    assert key_statuses(iam, "dave") == {old: "Active"}  # nothing before confirmation

    bot.press(plan, "Confirm", user="U0ALICE")

    secret = stored_secret("iam-bot/dave/access-key")
    new = secret["AccessKeyId"]
    assert key_statuses(iam, "dave") == {old: "Inactive", new: "Active"}  # grace 0: retired at once
    done = flatten(current(bot, plan))
    assert f"New key `{new}`" in done and "arn:aws:secretsmanager" in done
    assert f"Old key `{old}` deactivated" in done
    dm = direct_messages(bot.slack)
    assert len(dm) == 1 and new in dm[0] and "arn:aws:secretsmanager" in dm[0]

    value = secret["SecretAccessKey"]
    assert len(value) >= 40
    everything_slack_saw = json.dumps([c.args for c in bot.slack.calls()])
    assert value not in everything_slack_saw
    assert value not in log_output.getvalue()
    assert (
        "CreateAccessKey" in log_output.getvalue()
        or "create_access_key" in log_output.getvalue().lower()
    )
    dump = "\n".join(sqlite3.connect(tmp_path / "state.sqlite3").iterdump())
    assert value not in dump and new in dump
    assert value not in json.dumps([c.params for c in aws.calls()], default=str)


def test_double_click_confirm_makes_one_key(bot: Bot, iam, aws) -> None:
    iam.create_user(UserName="dave")
    aged_key(iam, aws, "dave", age_days=100, used_days_ago=20)
    bot.command("rotate dave", user="U0ALICE")
    plan = posted(bot, "Rotate the access key")
    barrier = threading.Barrier(3)

    def click() -> None:
        barrier.wait()
        bot.sender.press(plan, user_id="U0ALICE", label="Confirm")

    arranged = aws.count("CreateAccessKey")
    threads = [threading.Thread(target=click) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    bot.settle()
    assert aws.count("CreateAccessKey") - arranged == 1
    assert len(key_statuses(iam, "dave")) == 2


def test_two_key_limit_offers_deleting_the_spare_one_first(bot: Bot, iam, aws) -> None:
    iam.create_user(UserName="dave")
    used = aged_key(iam, aws, "dave", age_days=300, used_days_ago=1)
    spare = aged_key(iam, aws, "dave", age_days=10, used_days_ago=None)
    arranged = len(aws.calls())
    reply = bot.command("rotate dave", user="U0ALICE")
    answer = bot.replies(reply)[-1]
    assert "already has two keys" in flatten(answer) and used in flatten(answer)
    assert bot.channel() == []
    assert not [
        c for c in aws.calls()[arranged:] if c.action.startswith(("Create", "Delete", "Update"))
    ]

    bot.press(answer, f"Delete {spare}", user="U0ALICE")
    request = posted(bot, "Delete the access key")
    assert "your approval does not count" in bot.said(bot.press(request, "Approve", user="U0ALICE"))
    bot.press(request, "Approve", user="U0SEC1")
    assert key_statuses(iam, "dave") == {used: "Active"}

    bot.command("rotate dave", user="U0ALICE")
    bot.press(posted(bot, "Rotate the access key"), "Confirm", user="U0ALICE")
    assert len(key_statuses(iam, "dave")) == 2


def test_grace_and_deletion_are_scheduled_and_survive_a_restart(make_bot, iam, aws) -> None:
    now = [datetime.now(UTC)]
    clock = lambda: now[0]  # noqa: E731
    bot = make_bot(ROTATION, clock=clock)
    iam.create_user(UserName="dave")
    old = aged_key(iam, aws, "dave", age_days=200, used_days_ago=10)
    bot.command("rotate dave", user="U0ALICE")
    plan = posted(bot, "Rotate the access key")
    bot.press(plan, "Confirm", user="U0ALICE")
    new = stored_secret("iam-bot/dave/access-key")["AccessKeyId"]
    assert key_statuses(iam, "dave") == {old: "Active", new: "Active"}  # grace: both work for now
    assert "checked and deactivated at" in flatten(current(bot, plan))
    bot.stop()

    restarted = make_bot(ROTATION, clock=clock)  # same state file
    aws.slow("UpdateAccessKey", 1.0)  # the key is seen off while the step still waits on AWS
    now[0] += timedelta(minutes=61)
    restarted.slack.wait_for(lambda: key_statuses(iam, "dave")[old] == "Inactive")
    restarted.settle()  # the step finished: its deletion is due an hour after this clock
    now[0] += timedelta(minutes=61)
    deletion = restarted.slack.wait_for(
        lambda: [m for m in restarted.channel() if "Delete the access key" in flatten(m)]
    )[0]
    restarted.press(deletion, "Approve", user="U0SEC2")
    assert key_statuses(iam, "dave") == {new: "Active"}
    audit = audit_log(restarted)
    assert f"Old key `{old}` deactivated" in audit and "posted for approval" in audit


def test_old_key_still_in_use_is_held_until_someone_decides(bot: Bot, iam, aws) -> None:
    iam.create_user(UserName="dave")
    old = aged_key(iam, aws, "dave", age_days=200, used_days_ago=0.01)  # used minutes ago
    bot.command("rotate dave", user="U0ALICE")
    plan = posted(bot, "Rotate the access key")
    bot.press(plan, "Confirm", user="U0ALICE")
    held = current(bot, plan)
    assert "Held" in flatten(held)
    assert key_statuses(iam, "dave")[old] == "Active"
    assert "You need the `rotate` permission" in bot.said(
        bot.press(held, "Deactivate anyway", user="U0SEC1")
    )
    bot.press(held, "Deactivate anyway", user="U0BOB")
    assert key_statuses(iam, "dave")[old] == "Inactive"
    assert "deactivated by <@U0BOB>, although recently used" in flatten(current(bot, plan))
    assert "no longer waiting" in bot.said(bot.press(held, "Deactivate anyway", user="U0BOB"))


def test_extend_postpones_the_check(make_bot, iam, aws) -> None:
    now = [datetime.now(UTC) + timedelta(seconds=5)]  # just after the new key's creation
    bot = make_bot(clock=lambda: now[0])
    iam.create_user(UserName="dave")
    old = aged_key(iam, aws, "dave", age_days=200, used_days_ago=0.01)
    bot.command("rotate dave", user="U0ALICE")
    plan = posted(bot, "Rotate the access key")
    bot.press(plan, "Confirm", user="U0ALICE")
    bot.press(current(bot, plan), "Extend 24 hours", user="U0ALICE")
    assert "gave the old key 24 hours more, until <!date^" in flatten(current(bot, plan))
    aws.backdate_access_key(
        old, NOW - timedelta(days=200), (NOW - timedelta(days=3), "s3", "us-east-1")
    )
    now[0] += timedelta(minutes=1441)
    bot.slack.wait_for(lambda: key_statuses(iam, "dave")[old] == "Inactive")


def test_whois_names_the_owner_and_offers_deactivation(bot: Bot, iam, aws) -> None:
    iam.create_user(UserName="dave")
    key = aged_key(iam, aws, "dave", age_days=3, used_days_ago=1)
    carols = bot.replies(bot.command(f"whois {key}", user="U0CAROL"))[-1]
    assert f"`{key}` belongs to IAM user *dave*" in flatten(carols)
    assert "Deactivate now" not in flatten(carols)  # carol may look, not act
    alices = bot.replies(bot.command(f"whois {key}", user="U0ALICE"))[-1]
    bot.press(alices, "Deactivate now", user="U0ALICE")
    request = posted(bot, "Deactivate the access key")
    bot.press(request, "Confirm", user="U0ALICE")
    assert key_statuses(iam, "dave") == {key: "Inactive"}


def test_whois_of_another_accounts_key(bot: Bot, aws) -> None:
    aws.add_foreign_key("AKIAQQQQQQQQQQQQQQQQ", "999988887777")
    assert "belongs to AWS account *999988887777*" in bot.said(
        bot.command("whois AKIAQQQQQQQQQQQQQQQQ")
    )


def test_deactivate_fast_path_then_delete_with_approval(bot: Bot, iam, aws) -> None:
    iam.create_user(UserName="dave")
    key = aged_key(iam, aws, "dave", age_days=30, used_days_ago=1)
    bot.command(f"deactivate {key} pasted in a public gist", user="U0BOB")
    request = posted(bot, "Deactivate the access key")
    assert "pasted in a public gist" in flatten(request)
    assert "Only the requester or an approver" in bot.said(
        bot.press(request, "Confirm", user="U0CAROL")
    )
    bot.press(request, "Confirm", user="U0BOB")
    assert key_statuses(iam, "dave") == {key: "Inactive"}
    done = current(bot, request)
    assert "is now inactive" in flatten(done)
    audit = audit_log(bot)
    assert "Deactivate the access key" in audit and "done:" in audit
    bot.press(done, "Delete key", user="U0BOB")
    deletion = posted(bot, "Delete the access key")
    bot.press(deletion, "Approve", user="U0SEC1")
    assert key_statuses(iam, "dave") == {}


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("deactivate", "Usage: `/iam deactivate"),
        ("deactivate AKIA", "access key ID"),
        ("deactivate AKIAABCDEFGHIJKLMNOP", "No access key `AKIAABCDEFGHIJKLMNOP`"),
        ("rotate", "Usage: `/iam rotate"),
        ("rotate ghost", "No IAM user named `ghost`"),
        ("rotate break-glass-admin", "protected user"),
        ("whois bob", "access key ID"),
    ],
)
def test_key_command_refusals_change_nothing(bot: Bot, iam, aws, text: str, words: str) -> None:
    iam.create_user(UserName="break-glass-admin")
    iam.create_access_key(UserName="break-glass-admin")
    arranged = len(aws.calls())
    assert words in bot.said(bot.command(text, user="U0ALICE"))
    assert not [
        c for c in aws.calls()[arranged:] if c.action.startswith(("Create", "Delete", "Update"))
    ]
