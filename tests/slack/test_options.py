"""A typed word can never turn a disable into a deletion: the dashes Slack clients make of
`--` are read as typed, `--flag=value` is `--flag value`, and any other word shaped like an
option is refused in the ack with the subcommand's options listed, before anything is opened.
"""

from __future__ import annotations

import pytest

from sandbox.aws import FaithfulAws
from tests.fixtures.accounts import Org, listed_config, organization
from tests.fixtures.aws import aged_key
from tests.fixtures.slack import CONFIG, Bot, flatten, open_request

# What macOS and iOS (em dash), other editors (en dash, horizontal bar) and some keyboards
# (a pair of minus signs or of Unicode hyphens) make of a typed `--`.
TYPED_DASHES = ["\u2014", "\u2013", "\u2015", "\u2212\u2212", "\u2010\u2010", "\uff0d\uff0d"]


@pytest.mark.parametrize("dashes", ["--", *TYPED_DASHES])
def test_disable_typed_with_any_dash_opens_a_disable(bot: Bot, iam, dashes: str) -> None:
    iam.create_user(UserName="dave")
    plan = flatten(open_request(bot, f"offboard dave on leave {dashes}disable"))
    assert "Disable IAM user dave" in plan
    assert "Offboard IAM user dave" not in plan
    assert "*Reason*:\n>on leave\n" in plan  # the option is not part of the reason


@pytest.mark.parametrize(
    "word",
    [
        "--Disable",
        "-disable",
        "--disabled",
        "--DISABLE",
        "\u2014Disable",
        "\u2014-disable",
        "-\u2014disable",
        "\u2212disable",
        "--disable=yes",
        "--dry-run",
        "--frobnicate",
    ],
)
def test_a_mistyped_option_opens_nothing_and_lists_the_options(
    bot: Bot, iam, aws: FaithfulAws, word: str
) -> None:
    iam.create_user(UserName="dave")
    arranged = len(aws.calls())
    reply = bot.command(f"offboard dave on leave {word}")
    said = bot.said(reply)
    assert "is not an option of `/iam offboard`" in said or "takes no value" in said
    if "takes no value" not in said:
        assert "`--disable`" in said and "`--account &lt;name or ID&gt;`" in said
    assert bot.channel() == [] and bot.replies(reply) == []  # answered in the ack
    assert aws.calls()[arranged:] == []
    assert iam.get_user(UserName="dave")["User"]["UserName"] == "dave"


@pytest.mark.parametrize("word", ["-", "\u2014", "\u2013", "-5", "--", "re-issue", "a=b"])
def test_a_dash_that_is_not_an_option_stays_in_the_reason(bot: Bot, iam, word: str) -> None:
    iam.create_user(UserName="dave")
    plan = flatten(open_request(bot, f"offboard dave left {word} see HR"))
    assert "Offboard IAM user dave" in plan
    assert f"*Reason*:\n>left {word} see HR\n" in plan


@pytest.mark.parametrize(
    ("text", "listed"),
    [
        ("keys dave --all", "its options: `--account &lt;name or ID&gt;`"),
        ("pending --mine", "it takes no options"),
        ("audit --Org", "its options: `--org`, `--days N`, `--account"),
        ("onboard newbie --Console", "its options: `--console`, `--key`, `--for @person`"),
    ],
)
def test_every_subcommand_lists_its_own_options(bot: Bot, text: str, listed: str) -> None:
    reply = bot.command(text)
    assert listed in reply.body
    assert bot.replies(reply) == [] and bot.channel() == []


def test_a_user_name_starting_with_a_dash_is_named_in_backticks(bot: Bot, iam) -> None:
    iam.create_user(UserName="-svc")
    refused = bot.command("keys -svc")
    assert "A user name that starts with a dash goes in backticks" in refused.body
    assert "Access keys of -svc" in bot.said(bot.command("keys `-svc`"))


def test_days_may_be_given_with_an_equals_sign(make_bot, iam, aws: FaithfulAws) -> None:
    bot: Bot = make_bot(CONFIG.replace("permissions:\n", "permissions:\n  audit: [S0SECURITY]\n"))
    iam.create_user(UserName="month")
    key = aged_key(iam, aws, "month", age_days=31, used_days_ago=1)
    assert key in bot.said(bot.command("audit \u2014days=30", user="U0SEC1"))


@pytest.fixture
def org(aws: FaithfulAws) -> Org:
    return organization(aws)


@pytest.mark.parametrize(
    "flag",
    [
        "--account production",
        "--account=production",
        "\u2014account production",
        "\u2014account=production",
        "\u2013account production",
        "\u2212\u2212account production",
    ],
)
def test_every_way_of_typing_account_acts_in_that_account(
    make_bot, aws: FaithfulAws, org: Org, flag: str
) -> None:
    bot: Bot = make_bot(listed_config(org))
    production = aws.client("iam", org.production)
    production.create_user(UserName="dave")
    key = aged_key(production, aws, "dave", age_days=5)
    aws.client("iam", org.management).create_user(UserName="dave")

    said = bot.said(bot.command(f"keys dave {flag}"))
    assert key in said and f"production* `{org.production}`" in said
    first = bot.said(bot.command(f"{flag} keys dave"))
    assert key in first and f"production* `{org.production}`" in first


def test_an_offboard_with_account_equals_is_planned_in_that_account(
    make_bot, aws: FaithfulAws, org: Org
) -> None:
    bot: Bot = make_bot(listed_config(org))
    for account in (org.management, org.production):
        aws.client("iam", account).create_user(UserName="leaver")
    plan = flatten(open_request(bot, "offboard leaver left \u2014account=production \u2014disable"))
    assert f"Disable IAM user leaver in production ({org.production})" in plan
    assert "*Reason*:\n>left\n" in plan


def test_the_usage_card_says_how_options_are_read(bot: Bot) -> None:
    said = bot.said(bot.command("help"))
    assert "any other word that starts with a dash is refused" in said
