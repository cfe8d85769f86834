"""AWS's compromised-key quarantine, as `/iam keys`, `/iam whois` and `/iam audit` show it:
which version a user carries and that applications on its keys may be failing, found with a
fixed number of calls per account (one ListPolicies of the attached AWS managed policies, then
one ListEntitiesForPolicy per quarantine version attached), however many users there are; and `/iam unquarantine`, refused until the key from before the leak is gone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sandbox.aws import FaithfulAws
from tests.fixtures.aws import key_statuses
from tests.fixtures.slack import CONFIG, Bot, current, flatten, open_request

AUDIT = CONFIG.replace("permissions:\n", "permissions:\n  audit: [S0SECURITY]\n", 1)


def _quarantine(iam, aws: FaithfulAws, user: str, policy: str) -> str:
    """``user`` with a key, carrying ``policy`` as AWS attaches it; the key."""
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]["AccessKeyId"]
    iam.attach_user_policy(UserName=user, PolicyArn=aws.add_aws_managed_policy(policy))
    return key


@pytest.mark.parametrize(
    ("policy", "version"),
    [("AWSCompromisedKeyQuarantineV2", "V2"), ("AWSCompromisedKeyQuarantineV4", "V4")],
)
def test_keys_and_whois_say_the_user_is_quarantined(
    bot: Bot, iam, aws: FaithfulAws, policy: str, version: str
) -> None:
    key = _quarantine(iam, aws, "dave", policy)

    for said in (bot.said(bot.command("keys dave")), bot.said(bot.command(f"whois {key}"))):
        assert f"*dave* carries AWS's quarantine policy `{policy}` ({version})" in said
        assert "Applications using its keys may be failing" in said


def test_a_user_without_it_is_not_flagged(bot: Bot, iam, aws: FaithfulAws) -> None:
    _quarantine(iam, aws, "dave", "AWSCompromisedKeyQuarantineV3")
    iam.create_user(UserName="erin")
    iam.create_access_key(UserName="erin")
    arranged = len(aws.calls())

    said = bot.said(bot.command("keys erin"))

    assert "quarantine" not in said
    asked = [c for c in aws.calls()[arranged:] if c.action == "ListEntitiesForPolicy"]
    assert [c.params for c in asked] == [
        {
            "PolicyArn": "arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV3",
            "EntityFilter": "User",
        }
    ]  # the one version attached in the account, listed once


def test_an_account_where_no_quarantine_policy_is_attached_is_read_in_one_call(
    bot: Bot, iam, aws: FaithfulAws
) -> None:
    iam.create_user(UserName="erin")
    iam.attach_user_policy(UserName="erin", PolicyArn=aws.add_aws_managed_policy("AWSDenyAll"))
    iam.create_access_key(UserName="erin")
    arranged = len(aws.calls())

    said = bot.said(bot.command("keys erin"))

    assert "erin" in said and "quarantine" not in said
    listed = [c.action for c in aws.calls()[arranged:] if "Polic" in c.action]
    assert listed.count("ListPolicies") == 1 and "ListEntitiesForPolicy" not in listed


@pytest.mark.parametrize("users", [1, 20])
def test_the_audit_flags_every_quarantined_user_with_the_same_calls(
    make_bot, iam, aws: FaithfulAws, users: int
) -> None:
    bot = make_bot(AUDIT)
    names = [f"leaky{n:02d}" for n in range(users)]
    for name in names:
        _quarantine(iam, aws, name, "AWSCompromisedKeyQuarantineV3")
    arranged = len(aws.calls())

    said = bot.said(bot.command("audit", user="U0SEC1"))

    made = [c.action for c in aws.calls()[arranged:]]
    assert made.count("ListPolicies") == 1 and made.count("ListEntitiesForPolicy") == 1
    assert f"*{names[0]}*: under AWS's compromised-key quarantine" in said
    assert "AWSCompromisedKeyQuarantineV3: applications using its keys may be failing" in said
    many = "users" if users > 1 else "user"
    assert f"{users} {many} under AWS's compromised-key quarantine" in said


def test_unquarantine_waits_until_the_key_from_before_the_leak_is_gone(
    make_bot, iam, aws: FaithfulAws
) -> None:
    # The containment a minute before the new key is made: IAM tells keys apart to the second.
    bot: Bot = make_bot(clock=lambda: datetime.now(UTC) - timedelta(minutes=1))
    leaked = _quarantine(iam, aws, "dave", "AWSCompromisedKeyQuarantineV3")
    aws.backdate_user("dave", datetime.now(UTC) - timedelta(days=30))
    aws.backdate_access_key(leaked, datetime.now(UTC) - timedelta(days=30))
    quarantine = "arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV3"

    said = bot.said(bot.command("unquarantine dave rotated"))
    assert f"dave still has `{leaked}`, created before the leak was known" in said
    assert not bot.channel()

    contain = open_request(bot, f"contain {leaked} AWS quarantined it")
    bot.press(contain, "Confirm", user="U0ALICE")
    bot.slack.wait_for(lambda: "Done." in flatten(current(bot, contain)))
    said = bot.said(bot.command("unquarantine dave contained"))
    assert f"dave still has `{leaked}`" in said  # contained is not gone

    # The rotation: a new key for the applications, the leaked one deleted.
    new = iam.create_access_key(UserName="dave")["AccessKey"]["AccessKeyId"]
    iam.delete_access_key(UserName="dave", AccessKeyId=leaked)
    plan = open_request(bot, "unquarantine dave rotated, leaked key deleted")
    assert "Detach AWS's quarantine policy from IAM user dave" in flatten(plan)
    assert "AWSCompromisedKeyQuarantineV3" in flatten(plan)
    bot.press(plan, "Approve", user="U0ALICE")  # the requester may not
    assert _policies(iam) == {quarantine}

    bot.press(current(bot, plan), "Approve", user="U0SEC1")

    bot.slack.wait_for(lambda: "Done." in flatten(current(bot, plan)))
    assert _policies(iam) == set()
    assert key_statuses(iam, "dave") == {new: "Active"}
    assert "quarantine" not in bot.said(bot.command("keys dave"))


def test_unquarantine_needs_a_quarantine_and_a_reason(bot: Bot, iam) -> None:
    iam.create_user(UserName="erin")
    assert "carries no AWS quarantine policy" in bot.said(bot.command("unquarantine erin why"))
    assert "a reason is required" in bot.said(bot.command("unquarantine erin"))


def _policies(iam, user: str = "dave") -> set[str]:
    found = iam.list_attached_user_policies(UserName=user)["AttachedPolicies"]
    return {p["PolicyArn"] for p in found}
