"""The one identity rule every command uses (`me`, mentions, offboarding a person): an IAM user
tagged with a Slack user's ID is that person's, and never linked to anyone else by its e-mail
tag or its name."""

from __future__ import annotations

from tests.fixtures.slack import Bot


def test_a_user_tagged_as_someone_elses_is_not_linked_by_e_mail_or_name(bot: Bot, iam) -> None:
    iam.create_user(UserName="bob", Tags=[{"Key": "slack-user-id", "Value": "U0ALICE"}])
    tags = [
        {"Key": "slack-user-id", "Value": "U0SEC1"},
        {"Key": "email", "Value": "bob@example.com"},
    ]
    iam.create_user(UserName="b.jones", Tags=tags)

    assert "Access keys of bob" in bot.said(bot.command("keys me", user="U0ALICE"))
    said = bot.said(bot.command("keys me", user="U0BOB"))
    assert "No IAM user is linked to <@U0BOB>" in said
    assert "Access keys of" not in said


def test_a_name_is_compared_as_iam_compares_names(bot: Bot, iam) -> None:
    iam.create_user(UserName="Bob")
    assert "Access keys of Bob" in bot.said(bot.command("keys me", user="U0BOB"))


def test_a_user_whose_e_mail_tag_names_someone_else_is_not_linked_by_name(bot: Bot, iam) -> None:
    iam.create_user(UserName="bob", Tags=[{"Key": "email", "Value": "alice@example.com"}])
    assert "Access keys of bob" in bot.said(bot.command("keys me", user="U0ALICE"))
    assert "No IAM user is linked to <@U0BOB>" in bot.said(bot.command("keys me", user="U0BOB"))
