"""App Home with several AWS accounts: the viewer's keys are read as `/iam keys me` reads them
(in the default account, through its role, for the viewer), every key button names the
account, and keys that cannot be read never hide what waits on the viewer."""

from __future__ import annotations

import pytest

from sandbox.aws import FaithfulAws
from tests.e2e.test_home import open_home, press_home, shown
from tests.fixtures.accounts import Org, listed_config, organization, source_identity
from tests.fixtures.aws import aged_key, make_full_user
from tests.fixtures.slack import Bot, current, flatten, open_request, posted, request_id

ROTATE = ("rotate: [S0ONCALL]", "rotate: [S0ONCALL, S0SECURITY]")  # sec1 rotates their own


@pytest.fixture
def org(aws: FaithfulAws) -> Org:
    return organization(aws)


def test_home_shows_my_keys_in_the_default_account_read_as_me(
    make_bot, aws: FaithfulAws, org: Org
) -> None:
    bot: Bot = make_bot(listed_config(org, default="production").replace(*ROTATE))
    production = aws.client("iam", org.production)
    production.create_user(UserName="sec1")
    old = aged_key(production, aws, "sec1", age_days=400, used_days_ago=1)

    text = shown(open_home(bot, "U0SEC1"))
    assert "Access keys of sec1" in text and old in text
    assert f"In AWS account production ({org.production})" in text
    [listed] = aws.calls("ListAccessKeys", account=org.production)
    assert listed.source_identity == source_identity("U0SEC1")

    press_home(bot, "U0SEC1", label=f"Rotate {old}")
    rotation = posted(bot, "Rotate", channel=bot.slack.dm_channel("U0SEC1"))
    assert "in production" in flatten(rotation) and old in flatten(rotation)


def test_keys_iam_will_not_show_leave_the_rest_of_home(bot: Bot, aws: FaithfulAws, iam) -> None:
    make_full_user(iam)
    iam.create_user(UserName="sec1")  # the viewer's own user, whose keys Home reads
    request = open_request(bot)
    aws.fail("ListAccessKeys", code="AccessDenied", status=403, times=10)
    text = shown(open_home(bot, "U0SEC1"))
    assert "Waiting on you" in text and request_id(request) in text
    assert "Your keys could not be read" in text
    assert "Latest requests" in text


def test_home_after_an_approval_in_another_account_still_shows_my_keys(
    make_bot, aws: FaithfulAws, org: Org
) -> None:
    bot: Bot = make_bot(listed_config(org))
    management, staging = aws.client("iam", org.management), aws.client("iam", org.staging)
    management.create_user(UserName="sec1")
    mine = aged_key(management, aws, "sec1", age_days=10, used_days_ago=1)
    staging.create_user(UserName="leaver")
    request = open_request(bot, "offboard leaver left the company --account staging")
    open_home(bot, "U0SEC1")

    press_home(bot, "U0SEC1", label="Approve")
    bot.slack.wait_for(lambda: "Done." in flatten(current(bot, request)))
    redrawn = bot.slack.wait_for(
        lambda: (t := shown(bot.slack.home("U0SEC1"))) and "Nothing is waiting on you" in t and t
    )
    assert "Access keys of sec1" in redrawn and mine in redrawn
    assert "No IAM user is linked" not in redrawn


def test_delete_buttons_at_the_two_key_limit_act_in_the_keys_account(
    make_bot, aws: FaithfulAws, org: Org
) -> None:
    bot: Bot = make_bot(listed_config(org))
    production = aws.client("iam", org.production)
    production.create_user(UserName="dave")
    aged_key(production, aws, "dave", age_days=300, used_days_ago=1)
    spare = aged_key(production, aws, "dave", age_days=10, used_days_ago=None)
    answer = bot.replies(bot.command("rotate dave --account production"))[-1]
    assert "already has two keys" in flatten(answer)

    bot.press(answer, f"Delete {spare}", user="U0ALICE")
    deletion = posted(bot, "Delete the access key")
    assert "in production" in flatten(deletion) and spare in flatten(deletion)


def test_home_reads_my_keys_signed_with_the_team_the_event_names_when_auth_test_fails(
    make_bot, aws: FaithfulAws, org: Org
) -> None:
    """An App Home event is admitted as a command is: the workspace it names is learned, so
    the keys read for the viewer in the default account are signed with it."""
    bot: Bot = make_bot(listed_config(org, default="production"))
    production = aws.client("iam", org.production)
    production.create_user(UserName="sec1")
    mine = aged_key(production, aws, "sec1", age_days=10, used_days_ago=1)
    bot.slack.fail("auth.test", "http_500", times=1000)

    text = shown(open_home(bot, "U0SEC1"))
    assert "Access keys of sec1" in text and mine in text
    [listed] = aws.calls("ListAccessKeys", account=org.production)
    assert listed.source_identity == source_identity("U0SEC1")
