"""Owners are told by DM when someone else changed their access: a key deactivated or deleted,
their IAM user disabled, enabled again (with a new console password: where it is, how to read
it and who can, never the password) or removed. Once each, and never blocking the AWS work."""

from __future__ import annotations

import boto3

from tests.fixtures.aws import key_statuses, stored_secret, user_with_key
from tests.fixtures.slack import ONBOARD, Bot, current, dms_to, flatten, open_request, posted

BOB = {"slack-user-id": "U0BOB"}


def test_a_deactivated_key_is_told_to_its_owner_once(bot: Bot, iam) -> None:
    key = user_with_key(iam, tags=BOB)
    plan = open_request(bot, f"deactivate {key} leaked <!channel> on github")
    bot.press(plan, "Confirm", user="U0ALICE")
    assert key_statuses(iam, "dave") == {key: "Inactive"}

    [told] = dms_to(bot, "U0BOB")
    assert f"*Deactivate the access key {key} of dave*, done." in told
    assert "Anything still using that key now fails." in told
    assert "Requested by <@U0ALICE>, confirmed by <@U0ALICE>:\n>leaked &lt;!channel&gt;" in told
    assert "<!channel>" not in told

    bot.press(current(bot, plan), "Delete key", user="U0ALICE")  # the message changes again
    bot.press(posted(bot, "Delete the access key"), "Approve", user="U0SEC1")
    assert key_statuses(iam, "dave") == {}
    assert (
        len(dms_to(bot, "U0BOB")) == 2 and "That key is gone for good." in dms_to(bot, "U0BOB")[1]
    )


def test_an_owner_linked_by_e_mail_only_is_told(bot: Bot, iam) -> None:
    key = user_with_key(iam, tags={"email": "Bob@example.com"})
    bot.press(open_request(bot, f"deactivate {key} leaked"), "Confirm", user="U0ALICE")
    [told] = dms_to(bot, "U0BOB")
    assert f"*Deactivate the access key {key} of dave*, done." in told


def test_nobody_is_told_what_they_did_themselves_or_when_nobody_is_linked(bot: Bot, iam) -> None:
    own = user_with_key(iam, "alice", tags={"slack-user-id": "U0ALICE"})
    unlinked = user_with_key(iam, "svc")
    for key in (own, unlinked):
        bot.press(open_request(bot, f"deactivate {key} rotated away"), "Confirm", user="U0ALICE")
    assert key_statuses(iam, "alice") == {own: "Inactive"}
    assert key_statuses(iam, "svc") == {unlinked: "Inactive"}
    assert [c for c in bot.slack.calls("chat.postMessage") if c.args["channel"][0] == "D"] == []


def test_a_disable_and_an_enable_are_told_with_how_to_read_the_new_password(bot: Bot, iam) -> None:
    key = user_with_key(iam, tags=BOB)
    iam.create_login_profile(UserName="dave", Password="An-old-password-1!")
    bot.press(open_request(bot, "offboard dave on leave --disable"), "Approve", user="U0SEC1")
    assert key_statuses(iam, "dave") == {key: "Inactive"}
    [disabled] = dms_to(bot, "U0BOB")
    assert "*Disable IAM user dave*, done." in disabled and "no longer work" in disabled
    assert "Requested by <@U0ALICE>, approved by <@U0SEC1>:\n>on leave" in disabled

    bot.press(open_request(bot, "enable dave back from leave"), "Approve", user="U0SEC1")
    assert key_statuses(iam, "dave") == {key: "Active"}
    [_, enabled] = dms_to(bot, "U0BOB")
    arn = boto3.client("secretsmanager", region_name="us-east-1").describe_secret(
        SecretId="iam-bot/dave/console-password"
    )["ARN"]
    assert "*Enable IAM user dave*, done. What its disable switched off is back on." in enabled
    assert (
        "<https://us-east-1.console.aws.amazon.com/secretsmanager/secret?"
        f"name=iam-bot/dave/console-password&region=us-east-1|{arn}>" in enabled
    )
    assert (
        f"`aws secretsmanager get-secret-value --secret-id {arn} --region us-east-1 "
        "--query SecretString --output text`" in enabled
    )
    assert (
        "whoever account 123456789012's IAM policies allow `secretsmanager:GetSecretValue`"
        in enabled
    )
    assert "the tag `iam-bot:user=dave`" in enabled
    assert stored_secret("iam-bot/dave/console-password")["Password"] not in enabled


def test_a_removed_user_s_owner_is_told_from_the_snapshot(bot: Bot, iam) -> None:
    user_with_key(iam, tags=BOB)
    bot.press(open_request(bot, "offboard dave left the company"), "Approve", user="U0SEC1")
    [removed] = dms_to(bot, "U0BOB")
    assert "*Offboard IAM user dave*, done. It no longer exists." in removed
    assert "• *delete access key* (1)" in flatten({"text": removed})


def test_slack_failing_the_dm_holds_up_nothing_and_it_comes_later(bot: Bot, iam) -> None:
    key = user_with_key(iam, tags=BOB)
    bot.slack.fail("conversations.open", "http_500", times=4)  # beyond the client's retries
    bot.press(open_request(bot, f"deactivate {key} leaked"), "Confirm", user="U0ALICE")
    assert key_statuses(iam, "dave") == {key: "Inactive"}
    assert "Done." in flatten(posted(bot, "Deactivate the access key"))
    bot.slack.wait_for(lambda: dms_to(bot, "U0BOB"), timeout=20)


def test_a_new_user_is_told_how_to_read_the_secrets_and_who_can(make_bot, aws) -> None:
    aws.add_aws_managed_policy("IAMUserChangePassword")
    bot = make_bot(ONBOARD)
    bot.command("onboard erin --console --key --for <@U0BOB|bob>", user="U0ALICE")
    bot.press(posted(bot, "Onboard erin"), "Approve", user="U0SEC1")

    [told] = dms_to(bot, "U0BOB")
    client = boto3.client("secretsmanager", region_name="us-east-1")
    for name in ("iam-bot/erin/console-password", "iam-bot/erin/access-key"):
        arn = client.describe_secret(SecretId=name)["ARN"]
        assert f"`aws secretsmanager get-secret-value --secret-id {arn} --region us-east-1 " in told
        assert f"secretsmanager/secret?name={name}&region=us-east-1|{arn}>" in told
    assert "*Who can read them:* whoever account 123456789012's IAM policies allow" in told
    assert "or <@U0ALICE> who asked for it, to open it with you" in told
    assert stored_secret("iam-bot/erin/console-password")["Password"] not in told
