"""A new credential goes only into a secret the bot created and that is still as it made it:
no resource policy, the configured KMS key. Anything else is refused, named and left unwritten,
before a key is made for it; a secret that changes hands while the key is being made is refused
as it is written, and the key made for it deleted: at once, or by the scheduler when IAM fails
that too."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from tests.fixtures.aws import aged_key, key_statuses, stored_secret, user_exists
from tests.fixtures.slack import CONFIG, ONBOARD, Bot, audit_log, current, flatten, posted

PLACEHOLDER = json.dumps({"planted": "by someone else"})
# Lets another AWS account read the secret: what the bot must never deliver into.
SHARED = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::999988887777:root"},
                "Action": "secretsmanager:GetSecretValue",
                "Resource": "*",
            }
        ],
    }
)
MARK = {"Key": "iam-bot:created-by", "Value": "iam-bot"}


def _secrets() -> Any:
    return boto3.client("secretsmanager", region_name="us-east-1")


def _plant(
    name: str, *, tags: list[dict[str, str]] = (), policy: bool = False, kms: str = ""
) -> str:
    """A secret someone else made where the bot will deliver; its ARN."""
    extra = {"KmsKeyId": kms} if kms else {}
    arn = _secrets().create_secret(Name=name, SecretString=PLACEHOLDER, Tags=list(tags), **extra)[
        "ARN"
    ]
    if policy:
        _secrets().put_resource_policy(SecretId=arn, ResourcePolicy=SHARED)
    return arn


def _other_kms_key() -> str:
    return boto3.client("kms", region_name="us-east-1").create_key()["KeyMetadata"]["KeyId"]


FOREIGN = {  # how the planted secret differs from one the bot made, and what the bot says
    "untagged, shared": (lambda: {"policy": True}, "was not created by iam-bot"),
    "marked, shared": (lambda: {"tags": [MARK], "policy": True}, "has a resource policy"),
    "marked, other key": (
        lambda: {"tags": [MARK], "kms": _other_kms_key()},
        "is encrypted with KMS key",
    ),
}


@pytest.mark.parametrize("case", FOREIGN)
def test_rotation_refuses_a_secret_it_did_not_make_before_making_a_key(
    bot: Bot, iam, aws, case: str
) -> None:
    how, why = FOREIGN[case]
    iam.create_user(UserName="dave")
    old = aged_key(iam, aws, "dave", age_days=100, used_days_ago=20)
    _plant("iam-bot/dave/access-key", **how())
    bot.command("rotate dave", user="U0ALICE")
    plan = posted(bot, "Rotate the access key")
    arranged = len(aws.calls())

    bot.press(plan, "Confirm", user="U0ALICE")

    text = flatten(current(bot, plan))
    assert "Secret `iam-bot/dave/access-key`" in text and why in text, text
    assert "the bot wrote nothing to it" in text and "AWS said" not in text
    made = [c for c in aws.calls()[arranged:] if c.action == "CreateAccessKey"]
    assert made == []  # nothing made to be deleted
    assert key_statuses(iam, "dave") == {old: "Active"}  # the old key still works
    assert _secrets().get_secret_value(SecretId="iam-bot/dave/access-key")["SecretString"] == (
        PLACEHOLDER
    )
    assert aws.count("PutSecretValue", ok_only=False) == 0
    assert "Retry" in text


def test_a_secret_planted_while_the_key_is_made_is_refused_and_the_key_deleted(
    bot: Bot, iam, aws
) -> None:
    iam.create_user(UserName="dave")
    old = aged_key(iam, aws, "dave", age_days=100, used_days_ago=20)
    bot.command("rotate dave", user="U0ALICE")
    plan = posted(bot, "Rotate the access key")
    aws.hold("CreateAccessKey")
    arranged = len(aws.calls())

    assert bot.sender.press(plan, user_id="U0ALICE", label="Confirm").status == 200
    assert aws.wait_held("CreateAccessKey")  # the secret was checked: none yet
    _plant("iam-bot/dave/access-key", policy=True)
    aws.release("CreateAccessKey")
    bot.settle()

    text = flatten(current(bot, plan))
    assert "Secret `iam-bot/dave/access-key` was not created by iam-bot" in text, text
    ran = [c for c in aws.calls()[arranged:] if c.status == 200]
    [made] = [c.params for c in ran if c.action == "CreateAccessKey"]
    [deleted] = [c.params for c in ran if c.action == "DeleteAccessKey"]
    assert f"the new key `{deleted['AccessKeyId']}` was deleted" in text
    assert made["UserName"] == "dave" and key_statuses(iam, "dave") == {old: "Active"}
    assert _secrets().get_secret_value(SecretId="iam-bot/dave/access-key")["SecretString"] == (
        PLACEHOLDER
    )


def test_onboarding_refuses_planted_secrets_and_keeps_no_key(bot_onboard: Bot, iam, aws) -> None:
    """The reported case: both secrets pre-made and shared with another account."""
    bot = bot_onboard
    for kind in ("access-key", "console-password"):
        _plant(f"iam-bot/newbie/{kind}", policy=True)
    bot.command("onboard newbie --console --key", user="U0ALICE")
    plan = posted(bot, "Onboard newbie")

    bot.press(plan, "Approve", user="U0SEC1")

    text = flatten(current(bot, plan))
    for kind in ("access-key", "console-password"):
        assert f"Secret `iam-bot/newbie/{kind}` was not created by iam-bot" in text, text
        value = _secrets().get_secret_value(SecretId=f"iam-bot/newbie/{kind}")["SecretString"]
        assert value == PLACEHOLDER
    assert user_exists(iam, "newbie") and key_statuses(iam, "newbie") == {}
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.get_login_profile(UserName="newbie")  # no password nobody may hold
    assert not aws.calls("CreateAccessKey")  # refused before one was made
    assert aws.count("PutSecretValue", ok_only=False) == 0


@pytest.fixture
def bot_onboard(make_bot, iam, aws) -> Bot:
    aws.add_aws_managed_policy("IAMUserChangePassword")
    return make_bot(ONBOARD)


@pytest.mark.parametrize("kms", ["", "alias/iam-bot"])
def test_a_secret_the_bot_made_is_written_again_on_the_next_rotation(
    make_bot, iam, aws, kms: str
) -> None:
    if kms:
        key = _other_kms_key()
        boto3.client("kms", region_name="us-east-1").create_alias(AliasName=kms, TargetKeyId=key)
    bot: Bot = make_bot(CONFIG + (f"rotation: {{kms_key_id: {kms}}}\n" if kms else ""))
    iam.create_user(UserName="dave")
    first = aged_key(iam, aws, "dave", age_days=100, used_days_ago=20)
    bot.command("rotate dave", user="U0ALICE")
    bot.press(posted(bot, "Rotate the access key"), "Confirm", user="U0ALICE")
    second = stored_secret("iam-bot/dave/access-key")["AccessKeyId"]
    made = _secrets().describe_secret(SecretId="iam-bot/dave/access-key")
    assert MARK in made["Tags"] and {"Key": "iam-bot:user", "Value": "dave"} in made["Tags"]
    shown = f"arn:aws:kms:us-east-1:{aws.account_id}:{kms}" if kms else None  # as AWS shows it
    assert made.get("KmsKeyId") == shown
    iam.delete_access_key(UserName="dave", AccessKeyId=first)  # the rotation's last step

    bot.command("rotate dave", user="U0ALICE")
    bot.press(posted(bot, "Rotate the access key"), "Confirm", user="U0ALICE")

    third = stored_secret("iam-bot/dave/access-key")["AccessKeyId"]
    assert third not in (first, second)
    assert key_statuses(iam, "dave") == {second: "Inactive", third: "Active"}
    assert aws.count("PutSecretValue") == 1


def test_a_key_whose_deletion_failed_is_deleted_by_the_scheduler(bot: Bot, iam, aws) -> None:
    """Secrets Manager refuses the new secret, then IAM the key's deletion: nobody presses
    Retry, and the next pass of the scheduler deletes it, once, and says so."""
    iam.create_user(UserName="dave")
    old = aged_key(iam, aws, "dave", age_days=100, used_days_ago=20)
    aws.fail("CreateSecret", code="AccessDeniedException", status=400)
    aws.fail("DeleteAccessKey", code="ServiceFailure", status=500, times=5)  # outlasts retries
    arranged = len(aws.calls())
    bot.command("rotate dave", user="U0ALICE")
    plan = posted(bot, "Rotate the access key")

    bot.press(plan, "Confirm", user="U0ALICE")

    ran = aws.calls()[arranged:]
    [made] = [c.params["UserName"] for c in ran if c.action == "CreateAccessKey"]
    bot.slack.wait_for(lambda: key_statuses(iam, "dave") == {old: "Active"})
    bot.slack.wait_for(lambda: "whose secret was not stored, deleted" in audit_log(bot))
    bot.settle()
    text = flatten(current(bot, plan))
    assert "could not be deleted yet: the bot deletes it shortly" in text
    assert "whose secret was not stored, deleted" in text and made == "dave"
    deleted = [c for c in aws.calls()[arranged:] if c.action == "DeleteAccessKey"]
    assert [c.status for c in deleted] == [500] * 5 + [200]
    assert audit_log(bot).count("was not stored, deleted") == 1


def test_once_the_policy_is_removed_retry_delivers(bot: Bot, iam, aws) -> None:
    iam.create_user(UserName="dave")
    old = aged_key(iam, aws, "dave", age_days=100, used_days_ago=20)
    arn = _plant("iam-bot/dave/access-key", tags=[MARK], policy=True)
    bot.command("rotate dave", user="U0ALICE")
    plan = posted(bot, "Rotate the access key")
    bot.press(plan, "Confirm", user="U0ALICE")
    assert "(remove the policy, then retry)" in flatten(current(bot, plan))

    _secrets().delete_resource_policy(SecretId=arn)
    bot.press(current(bot, plan), "Retry", user="U0SEC1")

    new = stored_secret("iam-bot/dave/access-key")["AccessKeyId"]
    assert key_statuses(iam, "dave") == {old: "Inactive", new: "Active"}
    assert f"New key `{new}`" in flatten(current(bot, plan))


def test_a_retry_into_a_planted_secret_still_deletes_the_key_a_lost_answer_made(
    bot: Bot, iam, aws
) -> None:
    """The first try's CreateAccessKey made a key but its answer was lost; then someone plants
    the secret. Retry refuses the secret, and still deletes that key, whose secret nobody has."""
    iam.create_user(UserName="dave")
    old = aged_key(iam, aws, "dave", age_days=100, used_days_ago=20)
    bot.command("rotate dave", user="U0ALICE")
    plan = posted(bot, "Rotate the access key")
    aws.fail("CreateAccessKey", code="InvalidInput", status=400, after_forward=True)
    bot.press(plan, "Confirm", user="U0ALICE")
    [lost] = set(key_statuses(iam, "dave")) - {old}  # made, its answer lost
    _plant("iam-bot/dave/access-key", policy=True)

    bot.press(current(bot, plan), "Retry", user="U0SEC1")

    text = flatten(current(bot, plan))
    assert "Secret `iam-bot/dave/access-key` was not created by iam-bot" in text, text
    assert key_statuses(iam, "dave") == {old: "Active"}  # the lost answer's key is gone
    assert len(aws.calls("CreateAccessKey")) == 2  # old's and the lost one: none on retry
    assert lost not in key_statuses(iam, "dave")
