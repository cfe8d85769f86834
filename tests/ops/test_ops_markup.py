"""The workflows name people and link secrets only through the notifier: the texts Slack
receives are exactly those the workflows wrote by hand before."""

from __future__ import annotations

import boto3

from bot.iam.secrets import console_link
from bot.slack.messages.owner import reading_secrets
from tests.fixtures.slack import ONBOARD, Bot, direct_messages, flatten, posted


def _secret_arn(name: str) -> str:
    return boto3.client("secretsmanager", region_name="us-east-1").describe_secret(SecretId=name)[
        "ARN"
    ]


def test_rotation_tells_the_owner_who_rotated_and_links_the_secret(bot: Bot, iam) -> None:
    iam.create_user(UserName="dave", Tags=[{"Key": "slack-user-id", "Value": "U0BOB"}])
    old = iam.create_access_key(UserName="dave")["AccessKey"]["AccessKeyId"]
    bot.command("rotate dave", user="U0ALICE")
    bot.press(posted(bot, "Rotate the access key"), "Confirm", user="U0ALICE")

    arn = _secret_arn("iam-bot/dave/access-key")
    [new] = {
        k["AccessKeyId"] for k in iam.list_access_keys(UserName="dave")["AccessKeyMetadata"]
    } - {old}
    assert direct_messages(bot.slack) == [
        f"Your IAM user dave has a new access key `{new}` (rotated by <@U0ALICE>). "
        f"Fetch it from Secrets Manager: <{console_link(arn)}|{arn}>. "
        f"The old key `{old}` is being checked and deactivated now: use the new one.\n"
        + reading_secrets([arn], user="dave", ask="U0ALICE", kms=None)
    ]


def test_onboarding_tells_the_new_user_who_asked_and_links_the_secret(make_bot, iam) -> None:
    bot = make_bot(ONBOARD)
    bot.command("onboard erin --key --for <@U0BOB|bob>", user="U0ALICE")
    bot.press(posted(bot, "Onboard erin"), "Approve", user="U0SEC1")

    arn = _secret_arn("iam-bot/erin/access-key")
    [key] = iam.list_access_keys(UserName="erin")["AccessKeyMetadata"]
    link = f"<{console_link(arn)}|{arn}>"
    assert direct_messages(bot.slack) == [
        "Your IAM user erin is ready (requested by <@U0ALICE>).\n"
        f"Access key `{key['AccessKeyId']}`: {link}\n"
        + reading_secrets([arn], user="erin", ask="U0ALICE", kms=None)
    ]
    assert f"its secret is in Secrets Manager: {link}" in flatten(posted(bot, "Onboard erin"))


def test_a_secret_link_keeps_a_plus_in_the_user_name() -> None:
    """IAM user names may hold `+`, which a query string would read as a space."""
    arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:iam-bot/a+b/access-key-AbC123"
    assert console_link(arn).endswith("?name=iam-bot/a%2Bb/access-key&region=eu-west-1")
