"""`/iam keys` end to end: signed HTTP in, boto3 to the faithful moto, what the user sees out."""

from __future__ import annotations

import threading
import time

import pytest

from tests.fixtures.aws import aged_key, key_statuses
from tests.fixtures.slack import CONFIG, Bot, flatten, posted


def _user(iam, name: str, tags: dict[str, str] | None = None) -> None:
    iam.create_user(UserName=name, Tags=[{"Key": k, "Value": v} for k, v in (tags or {}).items()])


def test_lists_every_key_with_status_age_last_use_and_flags(bot: Bot, iam, aws) -> None:
    _user(iam, "dave")
    old = aged_key(iam, aws, "dave", age_days=400, used_days_ago=1, where=("iam", "eu-west-1"))
    new = aged_key(iam, aws, "dave", age_days=10)
    said = bot.said(bot.command("keys dave"))
    assert old in said and new in said
    assert "400 days" in said and "10 days" in said
    assert "iam · eu-west-1" in said
    assert "never" in said
    assert "older than 90 days" in said
    assert "Two active keys" in said


def test_unused_key_is_flagged(bot: Bot, iam, aws) -> None:
    _user(iam, "carol")
    aged_key(iam, aws, "carol", age_days=80, used_days_ago=60)
    said = bot.said(bot.command("keys carol"))
    assert "unused for 60 days" in said
    assert "older than" not in said


def test_user_without_keys(bot: Bot, iam) -> None:
    _user(iam, "erin")
    assert "erin has no access keys" in bot.said(bot.command("keys erin"))


def test_every_page_is_followed(bot: Bot, iam, aws) -> None:
    _user(iam, "dave")
    keys = [aged_key(iam, aws, "dave", age_days=5), aged_key(iam, aws, "dave", age_days=6)]
    aws.set_page_size(1)
    said = bot.said(bot.command("keys dave"))
    assert all(k in said for k in keys)
    assert aws.count("ListAccessKeys") == 2  # two pages of one


def test_mention_maps_through_the_slack_id_tag(bot: Bot, iam, aws) -> None:
    _user(iam, "carol-iam", {"slack-user-id": "U0CAROL"})
    key = aged_key(iam, aws, "carol-iam", age_days=3)
    said = bot.said(bot.command("keys <@U0CAROL|carol>"))
    assert "Access keys of carol-iam" in said and key in said


def test_me_falls_back_to_email_tag_then_local_part(bot: Bot, iam, aws) -> None:
    _user(iam, "a.smith", {"email": "alice@example.com"})
    _user(iam, "bob")
    assert "Access keys of a.smith" in bot.said(bot.command("keys me", user="U0ALICE"))
    assert "Access keys of bob" in bot.said(bot.command("keys me", user="U0BOB"))


def test_me_without_any_link_says_what_was_tried(bot: Bot) -> None:
    said = bot.said(bot.command("keys me", user="U0SEC1"))
    assert "No IAM user is linked to <@U0SEC1>" in said
    assert "sec1@example.com" in said


def test_key_id_shows_its_owner_first(bot: Bot, iam, aws) -> None:
    _user(iam, "dave")
    key = aged_key(iam, aws, "dave", age_days=30, used_days_ago=2)
    said = bot.said(bot.command(f"keys {key}"))
    assert said.index(f"`{key}` belongs to IAM user *dave*") < said.index("*Status*")


def test_key_of_another_account_is_named_by_account(bot: Bot, aws) -> None:
    aws.add_foreign_key("AKIAZZZZZZZZZZZZZZZZ", "210987654321")
    said = bot.said(bot.command("keys AKIAZZZZZZZZZZZZZZZZ"))
    assert "belongs to AWS account *210987654321*" in said


def test_unknown_key_of_this_account(bot: Bot) -> None:
    assert "No access key `AKIAABCDEFGHIJKLMNOP` exists" in bot.said(
        bot.command("keys AKIAABCDEFGHIJKLMNOP")
    )


def test_unknown_user(bot: Bot) -> None:
    assert "No IAM user named `ghost`." in bot.said(bot.command("keys ghost"))


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("keys bad/name", "not valid"),
        ("keys " + "x" * 65, "not valid"),
        ("keys AKIA123", "access key ID"),
        ("keys", "Usage: `/iam keys"),
        ("keys alice bob", "Usage: `/iam keys"),
        ("keys <#C123|general>", "not a person"),
    ],
)
def test_bad_input_is_refused_at_once_and_reaches_no_aws(
    bot: Bot, aws, text: str, words: str
) -> None:
    reply = bot.command(text)
    assert words in reply.body  # answered in the ack itself
    assert bot.replies(reply) == []
    assert aws.calls() == []


@pytest.mark.parametrize("text", ["", "help", "frobnicate now"])
def test_usage_card(bot: Bot, aws, text: str) -> None:
    reply = bot.command(text)
    assert "/iam keys" in reply.body and "/iam offboard" in reply.body
    assert ("is not an /iam command" in reply.body) == (text == "frobnicate now")
    assert aws.calls() == []


def test_denied_names_the_permission_and_touches_no_aws(bot: Bot, aws) -> None:
    said = bot.said(bot.command("keys alice", user="U0NOBODY"))
    assert "You need the `keys` permission" in said
    assert aws.calls() == []


def test_channel_restriction(make_bot, aws) -> None:
    bot = make_bot(CONFIG + "channels: [C0IAM]\n")
    assert "/iam works only in <#C0IAM>" in bot.said(bot.command("keys alice", channel="C0RANDOM"))
    assert aws.calls() == []


def test_bots_missing_aws_permission_is_named(bot: Bot, iam, aws) -> None:
    _user(iam, "dave")
    aws.fail("ListAccessKeys", code="AccessDenied", status=403)
    said = bot.said(bot.command("keys dave"))
    assert "not allowed to call `iam:ListAccessKeys`" in said


def test_aws_failure_reaches_the_user_without_details(bot: Bot, iam, aws, caplog) -> None:
    _user(iam, "dave")
    aws.fail("ListAccessKeys", code="ServiceFailure", status=500, times=20)  # outlasts retries
    said = bot.said(bot.command("keys dave"))
    assert "AWS could not be reached or gave an unexpected answer (ref `" in said
    assert "Traceback" not in said and "injected" not in said and "ServiceFailure" not in said
    assert aws.count("ListAccessKeys", ok_only=False) == 5  # botocore's standard retry mode


def test_throttling_is_retried_by_botocore(bot: Bot, iam, aws) -> None:
    _user(iam, "dave")
    key = aged_key(iam, aws, "dave", age_days=1)
    aws.fail("GetAccessKeyLastUsed", code="Throttling", status=400, times=2)
    assert key in bot.said(bot.command("keys dave"))


def test_ack_does_not_wait_for_aws(bot: Bot, iam, aws) -> None:
    """The HTTP answer comes back while the AWS call is still held; the reply follows later."""
    _user(iam, "dave")
    aws.hold("ListAccessKeys")
    reply = bot.sender.command("keys dave", user_id="U0ALICE")
    assert reply.status == 200
    assert bot.replies(reply) == []  # nothing yet: AWS has not answered
    aws.release("ListAccessKeys")
    bot.settle()
    assert "dave has no access keys" in bot.said(reply)


def test_many_slow_commands_are_all_acked_and_answered(bot: Bot, iam, aws) -> None:
    _user(iam, "dave")
    aws.hold("ListAccessKeys")
    replies = []
    threads = [
        threading.Thread(
            target=lambda: replies.append(bot.sender.command("keys dave", user_id="U0ALICE"))
        )
        for _ in range(30)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.status for r in replies] == [200] * 30
    aws.release("ListAccessKeys")
    bot.settle()
    assert all("dave has no access keys" in bot.said(r) for r in replies)


def test_forged_and_stale_signatures_are_rejected(bot: Bot, aws) -> None:
    forged = bot.sender.command("keys alice", user_id="U0ALICE", signature="v0=" + "0" * 64)
    stale = bot.sender.command("keys alice", user_id="U0ALICE", timestamp=int(time.time()) - 301)
    assert forged.status == 401 and stale.status == 401
    bot.settle()
    assert aws.calls() == []


def test_two_active_keys_offer_to_finish_the_rotation(bot: Bot, iam, aws) -> None:
    _user(iam, "dave")
    old = aged_key(iam, aws, "dave", age_days=100, used_days_ago=3)
    new = aged_key(iam, aws, "dave", age_days=2, used_days_ago=1)
    carols = bot.replies(bot.command("keys dave", user="U0CAROL"))[-1]  # may look, not act
    assert "Two active keys" in flatten(carols) and "Deactivate" not in flatten(carols)

    answer = bot.replies(bot.command("keys dave", user="U0ALICE"))[-1]
    bot.press(answer, f"Deactivate older key {old}", user="U0ALICE")
    request = posted(bot, "Deactivate the access key")
    assert old in flatten(request) and new not in flatten(request)
    bot.press(request, "Confirm", user="U0ALICE")
    bot.slack.wait_for(lambda: key_statuses(iam, "dave") == {old: "Inactive", new: "Active"})


def test_whois_reads_the_owner_once_to_weigh_its_buttons(bot: Bot, iam, aws) -> None:
    """Whether the owner is protected decides the buttons and what the reply says: one read."""
    _user(iam, "dave")
    key = aged_key(iam, aws, "dave", age_days=10)
    before = len(aws.calls("GetUser"))

    said = bot.said(bot.command(f"whois {key}"))

    assert "Deactivate now" in said and "Rotate" in said  # alice may press both
    assert len(aws.calls("GetUser")) - before == 1
