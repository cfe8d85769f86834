"""`/iam offboard @person` across accounts, over signed HTTP: the person's IAM users found in
every account (by the identity tag in one, the e-mail tag in another), one plan grouped by
account, one approval as strict as the strictest account, each account's part run in its own
account for the requester, and a failure in one account retried without repeating the other."""

from __future__ import annotations

import pytest

from sandbox.aws import FaithfulAws, is_mutating
from tests.fixtures.accounts import Org, listed_config, organization, source_identity
from tests.fixtures.aws import aged_key
from tests.fixtures.hostile import unescaped
from tests.fixtures.slack import Bot, audit_log, current, flatten, open_request, request_id, told

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
    assert f"production ({org.production}): Step delete inline policy `inline` failed" in said
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


def test_a_user_protected_after_approval_is_not_run_in_its_account_only(
    make_bot, aws: FaithfulAws, org: Org
) -> None:
    """Each account's part judges its own user right before it runs: one protected since the
    approval is left whole, the other account's part runs."""
    config = listed_config(org).replace("[break-glass-admin]", '[break-glass-admin, "tag:keep"]')
    bot: Bot = make_bot(config)
    request = open_request(bot, OFFBOARD_CAROL)
    aws.client("iam", org.production).tag_user(
        UserName="cjones", Tags=[{"Key": "keep", "Value": "yes"}]
    )
    bot.press(request, "Approve", user="U0SEC1")
    shown = _finished(bot, request)
    assert "Not run: `cjones` is a protected user." in shown
    assert "cjones" in _users(aws, org.production)
    assert "carol" not in _users(aws, org.staging)


def _header(message) -> str:
    return next(b["text"]["text"] for b in message.blocks if b["type"] == "header")


def test_a_user_linked_by_name_only_is_in_the_plan_and_says_so(
    make_bot, aws: FaithfulAws, org: Org
) -> None:
    """`/iam keys me` takes an untagged IAM user named like the e-mail's local part as the
    person's: offboarding the person finds it by the same rule, and the plan says how."""
    management = aws.client("iam", org.management)
    management.create_user(UserName="carol")  # no tag: found by name only
    key = aged_key(management, aws, "carol", age_days=400)
    bot: Bot = make_bot(listed_config(org))
    assert key in bot.said(bot.command("keys me --account management", user="U0CAROL"))

    request = open_request(bot, OFFBOARD_CAROL)
    shown = flatten(request)
    assert f"management ({org.management}): IAM user carol, found by name only" in shown
    assert f"staging ({org.staging}): IAM user carol, found by identity tag" in shown
    assert f"production ({org.production}): IAM user cjones, found by e-mail tag" in shown
    header = _header(request)
    assert header.startswith("Offboard the IAM users of @carol: "), header
    assert "U0CAROL" not in header

    bot.press(request, "Approve", user="U0SEC1")
    assert "Done." in _finished(bot, request)
    assert _users(aws, org.management) == {"bob"}
    assert "carol" not in _users(aws, org.staging)


def test_a_requester_who_may_not_offboard_in_an_account_of_the_plan_is_refused_at_once(
    make_bot, aws: FaithfulAws, org: Org
) -> None:
    rules = "      permissions:\n        offboard: [S0SECURITY]\n"  # alice is on-call only
    bot: Bot = make_bot(listed_config(org, rules=rules))
    said = bot.said(bot.command(OFFBOARD_CAROL))
    assert f"production ({org.production}), where you need the `offboard` permission" in said
    assert f"staging ({org.staging})" not in said  # she may offboard there
    assert not bot.channel()  # nothing was asked
    assert "cjones" in _users(aws, org.production)


def test_an_approval_counts_only_from_someone_who_may_approve_in_every_account(
    make_bot, aws: FaithfulAws, org: Org
) -> None:
    rules = "      permissions:\n        approve: [U0SEC2]\n"
    bot: Bot = make_bot(listed_config(org, rules=rules))
    request = open_request(bot, OFFBOARD_CAROL)
    assert "<@U0SEC2>" in flatten(request)

    bot.press(request, "Approve", user="U0SEC1")  # may approve in staging, not in production
    assert (
        f"You need the `approve` permission in production ({org.production}) to approve this"
        in told(bot, "U0SEC1")
    )
    assert "1 more approval" in flatten(current(bot, request))
    assert "carol" in _users(aws, org.staging) and "cjones" in _users(aws, org.production)

    bot.press(current(bot, request), "Approve", user="U0SEC2")
    assert "Done." in _finished(bot, request)
    assert "cjones" not in _users(aws, org.production)


def test_the_person_never_decides_their_own_offboarding(
    make_bot, aws: FaithfulAws, org: Org
) -> None:
    approvers = listed_config(org).replace(
        "approve: [S0SECURITY]", "approve: [S0SECURITY, U0CAROL]"
    )
    bot: Bot = make_bot(approvers)
    request = open_request(bot, OFFBOARD_CAROL)
    assert "<@U0CAROL>" not in flatten(request).partition("Waiting for")[2]  # not asked

    bot.press(request, "Approve", user="U0CAROL")
    assert "This request is about you (your own IAM user), so you may not approve it" in told(
        bot, "U0CAROL"
    )
    bot.press(current(bot, request), "Deny", user="U0CAROL")
    assert "so you may not deny it" in told(bot, "U0CAROL")
    assert not bot.slack.calls("views.open")  # refused before she types a reason
    assert "Denied" not in flatten(current(bot, request))
    assert "1 more approval" in flatten(current(bot, request))
    assert "carol" in _users(aws, org.staging)


def test_a_person_wide_disable_is_undone_in_every_account_by_enable_at_person(
    make_bot, aws: FaithfulAws, org: Org
) -> None:
    bot: Bot = make_bot(listed_config(org))
    staging = aws.client("iam", org.staging)
    production = aws.client("iam", org.production)
    disable = open_request(bot, OFFBOARD_CAROL + " --disable")
    bot.press(disable, "Approve", user="U0SEC1")
    assert "Done." in _finished(bot, disable)
    assert _key_statuses(staging, "carol") == {"Inactive"}
    assert _key_statuses(production, "cjones") == {"Inactive"}

    before = {m.ts for m in bot.channel()}
    bot.command("enable <@U0CAROL> back from leave")
    opened = [m for m in bot.channel() if m.ts not in before]
    shown = [flatten(m) for m in opened]
    assert len(opened) == 2, shown
    assert any("carol" in s and f"in staging ({org.staging})" in s for s in shown), shown
    assert any("cjones" in s and f"in production ({org.production})" in s for s in shown), shown
    for message in opened:
        bot.press(message, "Approve", user="U0SEC1")
        assert "Done." in _finished(bot, message)
    assert _key_statuses(staging, "carol") == {"Active"}
    assert _key_statuses(production, "cjones") == {"Active"}
    assert production.get_login_profile(UserName="cjones")  # a new console password


def _key_statuses(iam, user: str) -> set[str]:
    return {k["Status"] for k in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]}


def test_an_account_enabled_on_its_own_is_left_out_of_enable_at_person(
    make_bot, aws: FaithfulAws, org: Org
) -> None:
    """Each account's part of a person-wide disable is that account's disable of its user:
    `/iam enable <user> --account` undoes it alone, and `/iam enable @person` then asks only
    where something is left to enable, saying why not elsewhere."""
    bot: Bot = make_bot(listed_config(org))
    staging = aws.client("iam", org.staging)
    disable = open_request(bot, OFFBOARD_CAROL + " --disable")
    bot.press(disable, "Approve", user="U0SEC1")
    assert "Done." in _finished(bot, disable)

    one = open_request(bot, "enable carol back --account staging")
    bot.press(one, "Approve", user="U0SEC1")
    assert "Done." in _finished(bot, one)
    assert _key_statuses(staging, "carol") == {"Active"}

    before = {m.ts for m in bot.channel()}
    reply = bot.command("enable <@U0CAROL> back from leave")
    opened = [flatten(m) for m in bot.channel() if m.ts not in before]
    assert len(opened) == 1 and f"in production ({org.production})" in opened[0], opened
    said = bot.said(reply)
    assert f"staging ({org.staging}): `carol` has not been disabled" in said, said


def test_a_display_name_cannot_ping_or_link_from_the_audit_channel(
    make_bot, org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The title names the person by their Slack display name, which is theirs to choose: it
    is escaped wherever mrkdwn shows it (the audit channel, the message's text)."""
    bot: Bot = make_bot(listed_config(org))
    monkeypatch.setitem(
        bot.slack.users["U0CAROL"], "name", "carol <!channel> <https://evil.example|x>"
    )
    request = open_request(bot, OFFBOARD_CAROL)
    assert unescaped(audit_log(bot)) == []
    assert unescaped(current(bot, request).text or "") == []
