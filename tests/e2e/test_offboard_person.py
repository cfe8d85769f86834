"""`/iam offboard @person` across accounts, over signed HTTP: the person's IAM users found in
every account (by the identity tag in one, the e-mail tag in another), one plan grouped by
account, one approval as strict as the strictest account, each account's part run in its own
account for the requester, and a failure in one account retried without repeating the other."""

from __future__ import annotations

import pytest

from sandbox.aws import FaithfulAws, is_mutating
from tests.fixtures.accounts import Org, listed_config, organization, source_identity
from tests.fixtures.aws import aged_key
from tests.fixtures.slack import Bot, current, flatten, open_request, request_id

OFFBOARD_CAROL = "offboard <@U0CAROL> left the company"


@pytest.fixture
def org(aws: FaithfulAws) -> Org:
    """Carol has `carol` in staging (tagged with her Slack ID) and `cjones` in production
    (tagged with her e-mail only); management has nobody of hers."""
    org = organization(aws)
    staging = aws.client("iam", org.staging, faithful=True)
    staging.create_user(UserName="carol", Tags=[{"Key": "slack-user-id", "Value": "U0CAROL"}])
    aged_key(staging, aws, "carol", age_days=10)
    staging.put_user_policy(UserName="carol", PolicyName="inline", PolicyDocument=_POLICY)
    production = aws.client("iam", org.production, faithful=True)
    production.create_user(UserName="cjones", Tags=[{"Key": "email", "Value": "carol@example.com"}])
    aged_key(production, aws, "cjones", age_days=10)
    production.put_user_policy(UserName="cjones", PolicyName="inline", PolicyDocument=_POLICY)
    production.create_login_profile(UserName="cjones", Password="Aa1!aaaaaaaaaaaa")
    aws.client("iam", org.management).create_user(UserName="bob")
    return org


_POLICY = (
    '{"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]}'
)


def _users(aws: FaithfulAws, account: str) -> set[str]:
    return {u["UserName"] for u in aws.client("iam", account).list_users()["Users"]}


def _finished(bot: Bot, request) -> str:
    bot.slack.wait_for(lambda: any(s in flatten(current(bot, request)) for s in (":x:", "Done.")))
    return flatten(current(bot, request))


def test_one_plan_grouped_by_account_removes_both_users(
    make_bot, aws: FaithfulAws, org: Org
) -> None:
    bot: Bot = make_bot(listed_config(org))
    seeded = len(aws.calls())
    request = open_request(bot, OFFBOARD_CAROL)
    shown = flatten(request)
    assert f"staging ({org.staging}): IAM user carol" in shown
    assert f"production ({org.production}): IAM user cjones" in shown
    assert shown.index("IAM user carol") < shown.index("`carol`") < shown.index("IAM user cjones")
    assert f"management ({org.management})" not in shown

    bot.press(request, "Approve", user="U0SEC1")
    said = _finished(bot, request)
    assert "Done." in said, said
    assert "carol" not in _users(aws, org.staging)
    assert "cjones" not in _users(aws, org.production)
    assert _users(aws, org.management) == {"bob"}  # not hers: untouched

    changes = [c for c in aws.calls()[seeded:] if is_mutating(c.action)]
    assert {c.account for c in changes if c.action == "DeleteUser"} == {
        org.staging,
        org.production,
    }
    for change in changes:
        if change.action == "AssumeRole":
            continue
        assert change.source_identity == source_identity("U0ALICE"), change
        assert change.session_tags["iam-bot:request"] == request_id(request)
        assert change.session_tags["iam-bot:approvers"] == "U0SEC1"
    assert not [c for c in changes if c.account == org.management and c.action != "AssumeRole"]


def test_the_strictest_account_sets_how_many_approve(make_bot, aws: FaithfulAws, org: Org) -> None:
    bot: Bot = make_bot(listed_config(org, rules="      approvals:\n        offboard: 2\n"))
    request = open_request(bot, OFFBOARD_CAROL)
    assert "2 more approvals" in flatten(request)
    bot.press(request, "Approve", user="U0SEC1")
    assert "1 more approval" in flatten(current(bot, request))
    assert "carol" in _users(aws, org.staging) and "cjones" in _users(aws, org.production)

    bot.press(current(bot, request), "Approve", user="U0SEC2")
    assert "Done." in _finished(bot, request)
    assert "cjones" not in _users(aws, org.production)


def test_a_failing_account_stops_no_other_and_retry_finishes_only_what_is_left(
    make_bot, aws: FaithfulAws, org: Org
) -> None:
    bot: Bot = make_bot(listed_config(org))
    seeded = len(aws.calls())
    request = open_request(bot, OFFBOARD_CAROL)
    # staging deletes a policy of the same name: production's must still be deleted on retry
    aws.fail("DeleteUserPolicy", account=org.production, code="AccessDenied", status=403)
    bot.press(request, "Approve", user="U0SEC1")
    said = _finished(bot, request)
    assert ":x:" in said, said
    assert f"staging ({org.staging}): carol removed" in said
    assert f"production ({org.production}): Step *delete inline policy `inline`* failed" in said
    assert "carol" not in _users(aws, org.staging)  # the other account finished
    assert "cjones" in _users(aws, org.production)

    staging_calls = len(aws.calls(account=org.staging))
    bot.press(current(bot, request), "Retry", user="U0SEC2")
    said = _finished(bot, request)
    assert "Done." in said, said
    assert f"staging ({org.staging}): carol removed: 3 steps finished earlier" in said
    assert "cjones" not in _users(aws, org.production)
    assert aws.count("DeleteUser", account=org.staging) == 1
    assert aws.count("DeleteUser", account=org.production) == 1
    staging_changes = [
        c
        for c in aws.calls(account=org.staging)[staging_calls:]
        if is_mutating(c.action) and c.action != "AssumeRole"
    ]
    assert not staging_changes  # nothing finished is repeated
    changes = [c for c in aws.calls()[seeded:] if is_mutating(c.action)]
    assert {c.account for c in changes if c.action != "AssumeRole"} == {org.staging, org.production}
    for change in changes:
        if change.action != "AssumeRole":
            assert change.source_identity == source_identity("U0ALICE"), change


def test_a_protected_user_of_the_person_is_refused_by_name(
    make_bot, aws: FaithfulAws, org: Org
) -> None:
    production = aws.client("iam", org.production)
    tag = [{"Key": "slack-user-id", "Value": "U0CAROL"}]
    production.create_user(UserName="break-glass-admin", Tags=tag)
    bot: Bot = make_bot(listed_config(org))
    said = bot.said(bot.command(OFFBOARD_CAROL))
    assert f"in production ({org.production}), `break-glass-admin` is a protected user" in said
    assert not bot.channel()  # nothing was asked
    assert "carol" in _users(aws, org.staging)
