"""Input, the same everywhere: every argument that names a user takes a name, a backticked
name as the bot prints it, a Slack mention and `me`; a mention nobody can be matched to gets a
sentence saying so; a typo of a subcommand gets the one it most likely meant."""

from __future__ import annotations

import pytest

from tests.fixtures.aws import user_with_key
from tests.fixtures.slack import Bot, flatten, open_request


def test_rotate_me_rotates_the_requesters_own_user(bot: Bot, iam) -> None:
    key = user_with_key(iam, "alice")  # linked to U0ALICE by her e-mail's local part
    text = flatten(open_request(bot, "rotate me", user="U0ALICE"))
    assert f"Rotate the access key {key} of alice" in text


def test_rotate_a_mention_rotates_the_linked_user(bot: Bot, iam) -> None:
    key = user_with_key(iam, "dave", tags={"slack-user-id": "U0BOB"})
    text = flatten(open_request(bot, "rotate <@U0BOB|bob>", user="U0ALICE"))
    assert f"Rotate the access key {key} of dave" in text


def test_offboard_takes_a_name_as_the_bot_prints_it(bot: Bot, iam) -> None:
    iam.create_user(UserName="carol")
    text = flatten(open_request(bot, "offboard `carol` left the company"))
    assert "Offboard IAM user carol" in text and "`carol`" in text


@pytest.mark.parametrize("word", ["alice", "`alice`", "<@U0ALICE|alice>", "<@U0ALICE>", "me"])
def test_every_way_of_naming_a_user_names_the_same_one(bot: Bot, iam, word: str) -> None:
    user_with_key(iam, "alice")
    assert "Access keys of alice" in bot.said(bot.command(f"keys {word}", user="U0ALICE"))
    assert "History of alice" in bot.said(bot.command(f"history {word}", user="U0ALICE"))


def test_disable_and_enable_take_a_mention_and_me(bot: Bot, iam) -> None:
    iam.create_user(UserName="dave", Tags=[{"Key": "slack-user-id", "Value": "U0BOB"}])
    disable = open_request(bot, "offboard <@U0BOB|bob> on leave --disable", user="U0ALICE")
    assert "Disable IAM user dave" in flatten(disable)
    bot.press(disable, "Approve", user="U0SEC1")
    enable = open_request(bot, "enable me back from leave", user="U0BOB")
    assert "Enable IAM user dave" in flatten(enable)


def test_a_mention_with_no_iam_user_gets_a_clear_sentence(bot: Bot, aws, log_output) -> None:
    for command in ("rotate", "keys", "history"):
        said = bot.said(bot.command(f"{command} <@U0NOBODY|nobody>"))
        assert "No IAM user is linked to <@U0NOBODY>" in said, command
        assert "Something went wrong" not in said
    said = bot.said(bot.command("offboard <@U0NOBODY> left"))
    assert "No IAM user is linked to <@U0NOBODY>" in said
    assert "Traceback" not in log_output.getvalue()


def test_a_mention_of_someone_slack_does_not_know_is_told_not_logged(bot: Bot, log_output) -> None:
    said = bot.said(bot.command("rotate <@U0GHOST|ghost>"))
    assert "Slack has no user `U0GHOST` in this workspace" in said
    assert "Something went wrong" not in said
    assert "Traceback" not in log_output.getvalue()


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("rotate <#C123|general>", "not a person"),
        ("offboard `bad/name` left", "not valid"),
        ("history", "Usage: `/iam history"),
        ("rotate me AKIA123", "access key ID"),
        ("onboard me", "Name the new IAM user"),
        ("onboard <@U0BOB>", "A mention goes after `--for`"),
    ],
)
def test_the_shape_is_checked_in_the_ack_before_any_lookup(
    bot: Bot, aws, text: str, words: str
) -> None:
    reply = bot.command(text)
    assert words in reply.body
    assert bot.replies(reply) == []
    assert aws.calls() == []


def test_key_ids_in_backticks_are_key_ids(bot: Bot, iam) -> None:
    key = user_with_key(iam, "dave")
    said = bot.said(bot.command(f"whois `{key}`"))
    assert f"`{key}` belongs to IAM user *dave*" in said
    deactivate = open_request(bot, f"deactivate `{key}` leaked")
    assert f"Deactivate the access key {key} of dave" in flatten(deactivate)


def test_a_typo_of_a_subcommand_gets_the_one_it_meant_before_the_card(bot: Bot, aws) -> None:
    reply = bot.command("kyes alice")
    assert "`kyes` is not an /iam command. Did you mean `keys`?" in reply.body
    assert "/iam whois" in reply.body  # the usage card follows
    assert "Did you mean `rotate`?" in bot.command("rotat alice").body
    assert "Did you mean" not in bot.command("frobnicate now").body
    assert aws.calls() == []
