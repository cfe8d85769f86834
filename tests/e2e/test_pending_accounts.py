"""`/iam pending` and the Home tab list what the viewer may act on: a request waits on an approver
only where that approver may approve (its account's own rules), and "Latest requests" shows
only requests the viewer could have asked for or decided, in channels people share."""

from __future__ import annotations

import pytest

from sandbox.aws import FaithfulAws
from tests.e2e.test_home import APPROVERS_ROTATE, open_home, press_home, shown
from tests.fixtures.accounts import Org, listed_config, organization
from tests.fixtures.aws import aged_key, make_full_user
from tests.fixtures.slack import Bot, current, flatten, open_request, posted, request_id

ONLY_SEC2_APPROVES = "      permissions:\n        approve: [U0SEC2]\n"


@pytest.fixture
def org(aws: FaithfulAws) -> Org:
    return organization(aws)


def test_a_request_waits_only_on_who_may_approve_in_its_account(
    make_bot, aws: FaithfulAws, org: Org
) -> None:
    bot: Bot = make_bot(listed_config(org, rules=ONLY_SEC2_APPROVES))
    aws.client("iam", org.production).create_user(UserName="leaver")
    request = open_request(bot, "offboard leaver left the company --account production")
    wanted = request_id(request)

    sec1 = bot.said(bot.command("pending", user="U0SEC1"))
    assert "Nothing is waiting on you." in sec1 and wanted not in sec1
    home = shown(open_home(bot, "U0SEC1"))
    assert "Nothing is waiting on you." in home

    (listing,) = bot.replies(bot.command("pending", user="U0SEC2"))
    assert wanted in flatten(listing)
    bot.press(listing, "Approve", user="U0SEC2")
    bot.slack.wait_for(lambda: "Done." in flatten(current(bot, request)))


def test_latest_requests_are_those_i_could_ask_for_or_decide(bot: Bot, iam) -> None:
    make_full_user(iam)
    request = open_request(bot)  # alice offboards the leaver
    latest = shown(open_home(bot, "U0CAROL"))  # carol may only look at keys
    assert "Latest requests" in latest and request_id(request) not in latest
    for viewer in ("U0BOB", "U0SEC1"):  # bob may offboard, sec1 may approve
        assert request_id(request) in shown(open_home(bot, viewer))


def test_a_request_in_someones_dm_is_not_among_others_latest(make_bot, iam, aws) -> None:
    bot: Bot = make_bot(APPROVERS_ROTATE)
    iam.create_user(UserName="sec1")
    old = aged_key(iam, aws, "sec1", age_days=400, used_days_ago=1)
    open_home(bot, "U0SEC1")
    press_home(bot, "U0SEC1", label=f"Rotate {old}")  # posted in sec1's DM
    rotation = posted(bot, "Rotate", channel=bot.slack.dm_channel("U0SEC1"))

    assert request_id(rotation) in shown(open_home(bot, "U0SEC1"))
    assert request_id(rotation) not in shown(open_home(bot, "U0ALICE"))  # on-call, not hers
