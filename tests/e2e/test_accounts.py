"""Several AWS accounts from one bot, over signed HTTP: `--account`, per-account rules, a key
found in whichever account it belongs to, and every change attributed in CloudTrail to the
Slack user who asked (the sandbox records each call's account and source identity)."""

from __future__ import annotations

import pytest

from sandbox.aws import FaithfulAws, is_mutating
from tests.fixtures.accounts import Org, listed_config, organization, source_identity
from tests.fixtures.aws import aged_key, key_statuses
from tests.fixtures.slack import Bot, current, flatten, open_request, posted, request_id


@pytest.fixture
def org(aws: FaithfulAws) -> Org:
    return organization(aws)


def test_keys_in_another_account_name_it(make_bot, aws: FaithfulAws, org: Org) -> None:
    bot: Bot = make_bot(listed_config(org))
    staging = aws.client("iam", org.staging)
    staging.create_user(UserName="dave")
    key = aged_key(staging, aws, "dave", age_days=5)
    aws.client("iam", org.management).create_user(UserName="dave")

    said = bot.said(bot.command("keys dave --account staging"))
    assert key in said
    assert f"staging* `{org.staging}`" in said
    here = bot.said(bot.command("keys dave"))
    assert key not in here and "has no access keys" in here
    assert f"management* `{org.management}`" in here


def test_an_unknown_account_is_a_clear_error(make_bot, org: Org) -> None:
    bot: Bot = make_bot(listed_config(org))
    said = bot.said(bot.command("keys dave --account prod"))
    assert "`prod` is not an account the bot knows" in said
    assert "`--account` takes" in bot.said(bot.command("keys dave --account"))


def test_an_account_can_narrow_who_may_act(make_bot, aws: FaithfulAws, org: Org) -> None:
    rules = "      permissions:\n        rotate: [S0SECURITY]\n"
    bot: Bot = make_bot(listed_config(org, rules=rules))
    production = aws.client("iam", org.production)
    production.create_user(UserName="dave")
    key = aged_key(production, aws, "dave", age_days=400)

    seeded = len(aws.calls())
    said = bot.said(bot.command("rotate dave --account production"))  # alice is on-call only
    assert "You need the `rotate` permission in account" in said
    assert key_statuses(production, "dave") == {key: "Active"}
    assert not [c for c in aws.calls()[seeded:] if c.action != "AssumeRole"]  # not even a read
    assert not bot.channel()  # no request was opened


def test_a_leaked_key_in_production_is_found_and_deactivated_from_its_buttons(
    make_bot, aws: FaithfulAws, org: Org
) -> None:
    bot: Bot = make_bot(listed_config(org))
    production = aws.client("iam", org.production)
    production.create_user(UserName="ci-deployer")
    leaked = aged_key(production, aws, "ci-deployer", age_days=30, used_days_ago=0.1)

    said = bot.said(bot.command(f"whois {leaked}"))
    assert "belongs to IAM user *ci-deployer*" in said
    assert f"production* `{org.production}`" in said
    assert aws.count("GetAccessKeyInfo") == 1

    [answer] = [m for m in bot.slack.messages() if leaked in flatten(m) and m.ephemeral]
    bot.press(answer, "Deactivate now", user="U0ALICE")
    request = posted(bot, "Deactivate the access key")
    assert "in production" in flatten(request)
    bot.press(request, "Confirm", user="U0ALICE")
    bot.slack.wait_for(lambda: "Done." in flatten(current(bot, request)))
    assert key_statuses(production, "ci-deployer") == {leaked: "Inactive"}

    [change] = aws.calls("UpdateAccessKey", account=org.production)
    assert change.source_identity == source_identity("U0ALICE")
    assert change.session_tags.get("iam-bot:request") == request_id(request)


def test_every_change_of_an_offboarding_names_requester_and_approver(
    make_bot, aws: FaithfulAws, org: Org
) -> None:
    bot: Bot = make_bot(listed_config(org))
    staging = aws.client("iam", org.staging, faithful=True)
    staging.create_user(UserName="leaver")
    aged_key(staging, aws, "leaver", age_days=10)
    staging.create_login_profile(UserName="leaver", Password="Aa1!aaaaaaaaaaaa")

    seeded = len(aws.calls())
    request = open_request(bot, "offboard leaver left the company --account staging")
    assert f"Offboard IAM user leaver in staging ({org.staging})" in flatten(request)
    bot.press(request, "Approve", user="U0SEC1")
    bot.slack.wait_for(lambda: "Done." in flatten(current(bot, request)))

    made = aws.calls()[seeded:]
    changes = [c for c in made if c.account == org.staging and is_mutating(c.action)]
    assert {c.action for c in changes} >= {"DeleteAccessKey", "DeleteLoginProfile", "DeleteUser"}
    for change in changes:
        if change.action == "AssumeRole":
            continue
        assert change.source_identity == source_identity("U0ALICE"), change
        assert change.session_tags["iam-bot:request"] == request_id(request)
        assert change.session_tags["iam-bot:approvers"] == "U0SEC1"
    assert not [c for c in made if c.account == org.management and is_mutating(c.action)]


def test_history_is_of_the_user_in_the_account_asked_about(
    make_bot, aws: FaithfulAws, org: Org
) -> None:
    bot: Bot = make_bot(listed_config(org))
    for account in (org.staging, org.production):
        aws.client("iam", account).create_user(UserName="leaver")
    open_request(bot, "offboard leaver left the company --account staging")
    said = bot.said(bot.command("history leaver --account staging"))
    assert f"Offboard IAM user leaver in staging ({org.staging})" in said
    elsewhere = bot.said(bot.command("history leaver --account production"))
    assert "Offboard IAM user leaver" not in elsewhere and "No /iam requests" in elsewhere


def test_org_and_account_together_are_refused(make_bot, org: Org) -> None:
    bot: Bot = make_bot(listed_config(org))
    said = bot.said(bot.command("audit --org --account staging"))
    assert "`--org` covers every account: leave out `--account`." in said


def test_account_facts_are_of_the_account_asked_about(make_bot, aws: FaithfulAws, org: Org) -> None:
    bot: Bot = make_bot(
        listed_config(org).replace("permissions:\n", "permissions:\n  account: [S0SECURITY]\n", 1)
    )
    aws.client("iam", org.staging).create_account_alias(AccountAlias="acme-staging")
    said = bot.said(bot.command("account --account staging", user="U0SEC1"))
    assert "`acme-staging`" in said and f"staging* `{org.staging}`" in said
    assert "acme-staging" not in bot.said(bot.command("account", user="U0SEC1"))


def test_onboarding_creates_the_user_in_the_account_asked_for(
    make_bot, aws: FaithfulAws, org: Org
) -> None:
    config = listed_config(org).replace("permissions:\n", "permissions:\n  onboard: [U0ALICE]\n", 1)
    bot: Bot = make_bot(config)
    request = open_request(bot, "onboard newhire --account staging")
    assert f"in staging ({org.staging})" in flatten(request)
    bot.press(request, "Approve", user="U0SEC1")
    bot.slack.wait_for(lambda: "Done." in flatten(current(bot, request)))
    staging, management = aws.client("iam", org.staging), aws.client("iam", org.management)
    assert staging.get_user(UserName="newhire")["User"]["UserName"] == "newhire"
    assert "newhire" not in [u["UserName"] for u in management.list_users()["Users"]]
    [created] = aws.calls("CreateUser", account=org.staging)
    assert created.source_identity == source_identity("U0ALICE")


def test_a_call_the_role_may_not_make_names_it_its_account_and_the_check(
    make_bot, aws: FaithfulAws, org: Org
) -> None:
    bot: Bot = make_bot(listed_config(org))
    aws.client("iam", org.production).create_user(UserName="dave")
    aws.fail("ListAccessKeys", code="AccessDenied", status=403, account=org.production)

    said = bot.said(bot.command("keys dave --account production"))
    assert (
        f"The bot's AWS role is not allowed to call `iam:ListAccessKeys` in production "
        f"({org.production}). An AWS admin can run `iam-bot config check` (or invoke the "
        'function with `{"source": "iam-bot.check"}`) to see what is missing.'
    ) in said
    assert "iam-policy.json" not in said


def test_a_call_denied_to_the_bots_own_credentials_says_so(bot: Bot, iam, aws) -> None:
    iam.create_user(UserName="dave")
    aws.fail("ListAccessKeys", code="AccessDenied", status=403)

    said = bot.said(bot.command("keys dave"))
    assert "not allowed to call `iam:ListAccessKeys` in its own AWS account." in said
    assert "`iam-bot config check`" in said


def test_accounts_proves_an_iam_read_in_each(make_bot, aws: FaithfulAws, org: Org) -> None:
    """A role that can be assumed but may not read IAM is not "reachable": it says what
    `iam-bot config check` says, and the read is made as the person asking."""
    everyone = "permissions:\n  account: ['*']\n"
    bot: Bot = make_bot(listed_config(org).replace("permissions:\n", everyone))
    aws.fail("GetAccountSummary", code="AccessDenied", status=403, account=org.production)

    said = bot.said(bot.command("accounts"))
    role = f"arn:aws:iam::{org.production}:role/iam-bot-action"
    assert (
        f"production* `{org.production}`: ❌ iam:GetAccountSummary denied to {role} "
        "(its policy is not `iam-bot policy`)"
    ) in said
    assert f"staging* `{org.staging}`: ✅ reachable" in said
    assert "3 AWS accounts, 1 not reachable" in said
    reads = aws.calls("GetAccountSummary")
    assert {c.account for c in reads} == {org.management, org.staging, org.production}
    assert {c.source_identity for c in reads} == {source_identity("U0ALICE")}
