"""The same IAM user name in two accounts is two users, over signed HTTP: a request, a
snapshot or a disable in one account never feeds a request in another, and each account's
user can have its own open request at the same time."""

from __future__ import annotations

import pytest

from sandbox.aws import FaithfulAws
from sandbox.seed import attach_everything
from tests.fixtures.accounts import Org, listed_config, organization
from tests.fixtures.aws import changes_since, key_statuses, user_exists
from tests.fixtures.slack import Bot, current, flatten, open_request


@pytest.fixture
def org(aws: FaithfulAws) -> Org:
    return organization(aws)


def _disable_dave_in_staging(bot: Bot, aws: FaithfulAws, org: Org) -> str:
    """dave with everything attached in staging, disabled there; his MFA device's serial."""
    staging = aws.client("iam", org.staging, faithful=True)
    made = attach_everything(staging, "dave")
    plan = open_request(bot, "offboard dave on leave --disable --account staging")
    bot.press(plan, "Approve", user="U0SEC1")
    assert "Done." in flatten(current(bot, plan))
    return made.mfa_serial


def _key_only_dave(aws: FaithfulAws, org: Org) -> str:
    """dave in production: one access key, never disabled; its ID."""
    production = aws.client("iam", org.production)
    production.create_user(UserName="dave")
    return production.create_access_key(UserName="dave")["AccessKey"]["AccessKeyId"]


def test_enable_in_production_does_not_use_a_disable_in_staging(
    make_bot, aws: FaithfulAws, org: Org
) -> None:
    bot: Bot = make_bot(listed_config(org))
    key = _key_only_dave(aws, org)
    _disable_dave_in_staging(bot, aws, org)
    posted = len(bot.channel())
    arranged = len(aws.calls())

    said = bot.said(bot.command("enable dave back from leave --account production"))

    assert "`dave` has not been disabled" in said and "Nothing was changed" in said
    assert len(bot.channel()) == posted  # no plan to approve
    assert changes_since(aws, arranged) == []
    production = aws.client("iam", org.production)
    try:
        production.get_login_profile(UserName="dave")
        raise AssertionError("production's dave got a console password")
    except production.exceptions.NoSuchEntityException:
        pass
    assert key_statuses(production, "dave") == {key: "Active"}
    # In staging, where dave was disabled, the enable is offered.
    plan = open_request(bot, "enable dave back from leave --account staging")
    assert "create console password" in flatten(plan)


def test_offboarding_in_production_does_not_list_staging_s_mfa_device(
    make_bot, aws: FaithfulAws, org: Org
) -> None:
    bot: Bot = make_bot(listed_config(org))
    key = _key_only_dave(aws, org)
    serial = _disable_dave_in_staging(bot, aws, org)

    plan = open_request(bot, "offboard dave left the company --account production")

    text = flatten(plan)
    assert key in text and serial not in text and "mfa" not in text.lower()
    bot.press(plan, "Approve", user="U0SEC1")
    assert "Done." in flatten(current(bot, plan))
    assert not user_exists(aws.client("iam", org.production), "dave")
    # staging's device is still there for staging's own offboarding to remove
    staging_devices = aws.client("iam", org.staging).list_virtual_mfa_devices()
    assert [d["SerialNumber"] for d in staging_devices["VirtualMFADevices"]] == [serial]


def test_the_same_name_in_two_accounts_has_its_own_open_request(
    make_bot, aws: FaithfulAws, org: Org
) -> None:
    bot: Bot = make_bot(listed_config(org))
    for account in (org.staging, org.production):
        aws.client("iam", account).create_user(UserName="dave")

    in_staging = open_request(bot, "offboard dave left --account staging")
    in_production = open_request(bot, "offboard dave left --account production")
    assert f"in staging ({org.staging})" in flatten(in_staging)
    assert f"in production ({org.production})" in flatten(in_production)
    again = bot.said(bot.command("offboard dave left --account production"))
    assert "Already asked for" in again

    bot.press(in_production, "Approve", user="U0SEC1")

    assert "Done." in flatten(current(bot, in_production))
    assert not user_exists(aws.client("iam", org.production), "dave")
    assert user_exists(aws.client("iam", org.staging), "dave")
    assert "Waiting for" in flatten(current(bot, in_staging))
    said = bot.said(bot.command("history dave --account staging"))
    assert f"in staging ({org.staging})" in said and "production" not in said
