"""How a command names its account, over signed HTTP: a 12-digit word is an ID, a name the
operator gave wins over the Organization's, names shared in the Organization are shown (and
only an ambiguous `--account` is refused), a stored request acts in its own account by ID,
`--account` goes anywhere in a command, and `/iam accounts` answers in every setup."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from sandbox.aws import FaithfulAws
from tests.fixtures.accounts import (
    EVERYONE_LISTS,
    ROLE,
    Org,
    discovered_for_everyone,
    listed_config,
    listing_organization,
)
from tests.fixtures.aws import aged_key
from tests.fixtures.serve import serve_env, serve_once
from tests.fixtures.slack import CONFIG, Bot, current, flatten, open_request
from tests.ship.test_operations import moved, scrape


@pytest.fixture
def org(aws: FaithfulAws) -> Org:
    return listing_organization(aws)


def _listed(org: Org, **kwargs) -> str:
    return listed_config(org, **kwargs).replace("permissions:\n", EVERYONE_LISTS)


def _member(aws: FaithfulAws, name: str) -> str:
    """One more account of the Organization, named ``name``, with the bot's role in it."""
    account = aws.add_account(name)
    aws.add_bot_role(account, ROLE)
    return account


def test_an_organization_account_named_like_the_default_breaks_nothing(
    make_bot, aws: FaithfulAws, org: Org
) -> None:
    other = _member(aws, "Management")
    aws.client("iam", org.management).create_user(UserName="dave")
    key = aged_key(aws.client("iam", org.management), aws, "dave", age_days=5)
    bot: Bot = make_bot(discovered_for_everyone(org))

    here = bot.said(bot.command("keys dave"))  # the default is the operator's `management`
    assert key in here and f"management* `{org.management}`" in here
    assert key in bot.said(bot.command("keys dave --account management"))

    listed = bot.said(bot.command("accounts"))
    assert f"management* `{org.management}` (default): ✅ reachable" in listed
    assert f"management* `{other}`" in listed and f"`--account {other}`" in listed


def test_names_shared_in_the_organization_are_shown_and_only_asking_by_them_is_refused(
    make_bot, aws: FaithfulAws, org: Org
) -> None:
    first, second = _member(aws, "Sandbox"), _member(aws, "sandbox")
    aws.client("iam", second).create_user(UserName="dave")
    bot: Bot = make_bot(discovered_for_everyone(org))
    listed = bot.said(bot.command("accounts"))
    assert f"`--account {first}`" in listed and f"`--account {second}`" in listed
    said = bot.said(bot.command("keys dave --account sandbox"))
    assert "More than one account is called `sandbox`" in said
    assert first in said and second in said
    assert "has no access keys" in bot.said(bot.command(f"keys dave --account {second}"))


def test_a_12_digit_word_is_an_account_id_even_if_another_account_is_named_so(
    make_bot, aws: FaithfulAws, org: Org
) -> None:
    impostor = _member(aws, org.production)  # an account whose name is production's ID
    production = aws.client("iam", org.production)
    production.create_user(UserName="leaver")
    key = aged_key(production, aws, "leaver", age_days=5)
    bot: Bot = make_bot(discovered_for_everyone(org))

    said = bot.said(bot.command(f"keys leaver --account {org.production}"))
    assert key in said and org.production in said
    assert f"`--account {impostor}`" in bot.said(bot.command("accounts"))

    request = open_request(bot, f"offboard leaver left the company --account {org.production}")
    bot.press(request, "Approve", user="U0SEC1")
    bot.slack.wait_for(lambda: "Done." in flatten(current(bot, request)))
    assert "leaver" not in [u["UserName"] for u in production.list_users()["Users"]]


def test_account_goes_anywhere_in_a_command_and_help_says_so(
    make_bot, aws: FaithfulAws, org: Org
) -> None:
    production = aws.client("iam", org.production)
    production.create_user(UserName="dave")
    key = aged_key(production, aws, "dave", age_days=5)
    bot: Bot = make_bot(listed_config(org))
    said = bot.said(bot.command("--account production keys dave"))
    assert key in said and f"production* `{org.production}`" in said
    assert "--account" in bot.said(bot.command("help"))


def test_an_em_dashed_account_flag_first_is_counted_as_its_subcommand(
    make_bot, aws: FaithfulAws, org: Org
) -> None:
    """Slack on macOS and iOS turns a typed `--` into `—`."""
    aws.client("iam", org.production).create_user(UserName="dave")
    bot: Bot = make_bot(listed_config(org))
    before = scrape(bot)
    said = bot.said(bot.command("\u2014account production keys dave"))
    assert "has no access keys" in said and f"production* `{org.production}`" in said
    counted = moved(before, scrape(bot), "iambot_commands_total", subcommand="keys", outcome="ok")
    assert counted == 1


def test_a_refusal_names_the_account_by_name_and_id(make_bot, aws: FaithfulAws, org: Org) -> None:
    bot: Bot = make_bot(
        listed_config(org, rules="      permissions:\n        rotate: [S0SECURITY]\n")
    )
    said = bot.said(bot.command("rotate dave --account production"))
    assert f"You need the `rotate` permission in account production ({org.production})" in said


def test_accounts_answers_with_no_accounts_config(make_bot) -> None:
    bot: Bot = make_bot(CONFIG.replace("permissions:\n", EVERYONE_LISTS))
    said = bot.said(bot.command("accounts"))
    assert "123456789012" in said and "✅ reachable" in said


def test_accounts_answers_with_several_and_no_default(make_bot, org: Org) -> None:
    bot: Bot = make_bot(_listed(org, default=None))
    said = bot.said(bot.command("accounts"))
    for account in (org.management, org.staging, org.production):
        assert f"`{account}`" in said and "(default)" not in said
    assert "No default account" in said and "--account" in said
    refused = bot.said(bot.command("keys dave"))
    assert "No default account" in refused and "--account" in refused


def test_account_is_refused_by_a_bot_that_knows_one_account(make_bot) -> None:
    bot: Bot = make_bot(CONFIG)
    said = bot.said(bot.command("keys dave --account production"))
    assert "acts in one AWS account" in said


def test_an_organization_default_naming_no_account_is_reported(
    make_bot, aws: FaithfulAws, org: Org, caplog: pytest.LogCaptureFixture
) -> None:
    bot: Bot = make_bot(
        discovered_for_everyone(org).replace("default: management", "default: prod")
    )
    with caplog.at_level(logging.WARNING):
        listed = bot.said(bot.command("accounts"))
    [warned] = [r.getMessage() for r in caplog.records if "accounts.default" in r.getMessage()]
    assert "'prod' names none of the accounts" in warned
    assert f"`{org.staging}`" in listed and "(default)" not in listed
    assert "`accounts.default` says `prod`" in listed
    refused = bot.said(bot.command("keys dave"))
    assert "`accounts.default` says `prod`" in refused and "--account" in refused


def test_a_listed_default_naming_no_account_stops_startup(org: Org, tmp_path: Path) -> None:
    config = tmp_path / "iam-bot.yml"
    config.write_text(listed_config(org, default="prod"))
    result = serve_once(serve_env(IAM_BOT_CONFIG=str(config)))
    assert (result.returncode, result.stderr.splitlines()) == (
        2,
        [
            "iam-bot: IAM_BOT_CONFIG: accounts.default: `prod` is none of the listed accounts "
            "(management, staging, production)"
        ],
    ), result.stderr
