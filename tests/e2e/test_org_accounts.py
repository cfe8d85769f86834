"""Accounts discovered through AWS Organizations, over signed HTTP: `/iam accounts` names the
Organization's accounts and shows one the bot cannot assume into; when Organizations stops
answering, commands go on from the list kept in the store, and every reply says so."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sandbox.aws import FaithfulAws
from sandbox.harness import ShiftedClock
from tests.fixtures.accounts import Org, discovered_for_everyone, listing_organization
from tests.fixtures.aws import aged_key
from tests.fixtures.slack import Bot

STALE = "AWS Organizations did not answer: the list of accounts is the one fetched"


@pytest.fixture
def org(aws: FaithfulAws) -> Org:
    return listing_organization(aws)


def test_accounts_lists_the_organization_and_shows_one_out_of_reach(
    make_bot, aws: FaithfulAws, org: Org
) -> None:
    sandbox = aws.add_account("Data Sandbox")  # no role for the bot there
    bot: Bot = make_bot(discovered_for_everyone(org))

    said = bot.said(bot.command("accounts"))
    assert f"management* `{org.management}` (default): ✅ reachable" in said
    assert f"staging* `{org.staging}`: ✅ reachable" in said
    assert f"production* `{org.production}`: ✅ reachable" in said
    assert (
        f"data-sandbox* `{sandbox}`: ❌ cannot assume arn:aws:iam::{sandbox}:role/iam-bot-action "
        "(missing, or its trust policy refuses the bot: deploy member-role.yaml there)"
    ) in said
    assert "4 AWS accounts, 1 not reachable" in said
    assert aws.count("ListAccounts") == 1
    assert STALE not in said


def test_without_organizations_commands_go_on_from_the_cached_list(
    make_bot, aws: FaithfulAws, org: Org
) -> None:
    production = aws.client("iam", org.production)
    production.create_user(UserName="ci-deployer")
    key = aged_key(production, aws, "ci-deployer", age_days=30)
    clock = ShiftedClock()
    bot: Bot = make_bot(discovered_for_everyone(org), clock=clock)
    assert STALE not in bot.said(bot.command("keys ci-deployer --account production"))

    clock.advance(timedelta(minutes=61))  # past cache_minutes: the list is asked for again
    aws.fail("ListAccounts", code="AccessDeniedException", status=400, times=1000)
    said = bot.said(bot.command("keys ci-deployer --account production"))
    assert key in said and f"production* `{org.production}`" in said
    assert STALE in said

    listed = bot.said(bot.command("accounts"))
    assert f"production* `{org.production}`: ✅ reachable" in listed
    assert listed.count(STALE) == 1  # the list's own note; the foot does not say it twice


def test_a_failing_organizations_is_asked_again_only_after_a_minute(
    make_bot, aws: FaithfulAws, org: Org
) -> None:
    aws.client("iam", org.production).create_user(UserName="ci-deployer")
    clock = ShiftedClock()
    bot: Bot = make_bot(discovered_for_everyone(org), clock=clock)
    bot.command("accounts")
    clock.advance(timedelta(minutes=61))
    aws.fail("ListAccounts", code="ServiceUnavailableException", status=503, times=1000)
    before = aws.count("ListAccounts", ok_only=False)
    for _ in range(3):
        assert STALE in bot.said(bot.command("keys ci-deployer --account production"))
    asked = aws.count("ListAccounts", ok_only=False) - before
    assert 1 <= asked <= 5  # one command's asking (botocore retries a 503), not one per command
    clock.advance(timedelta(minutes=2))
    bot.command("keys ci-deployer --account production")
    assert aws.count("ListAccounts", ok_only=False) - before > asked
