"""`/iam investigate <AKIA…> [--hours N]` over signed HTTP: the test uses a leaked key through
the sandbox as an attacker would, and the bot reads back from CloudTrail (the sandbox's
LookupEvents) what that key did, in every region, within CloudTrail's 2 lookups a second."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from sandbox.aws import FaithfulAws
from tests.fixtures.accounts import listed_config, organization, source_identity
from tests.fixtures.slack import CONFIG, Bot

NO_RETRY = Config(retries={"mode": "standard", "total_max_attempts": 1})
# Three regions read (a few pages each keeps a test short); the first test reads every
# region the account has enabled, as the bot does with no cloudtrail_regions.
REGIONS = ["us-east-1", "eu-west-1", "ap-south-1"]
THREE_REGIONS = CONFIG + f"cloudtrail_regions: [{', '.join(REGIONS)}]\n"


class Attacker:
    """Whoever holds the leaked key: boto3 clients signed with it, at the sandbox."""

    def __init__(self, aws: FaithfulAws, key: dict[str, str], user_agent: str = "") -> None:
        self._aws, self._key, self._agent = aws, key, user_agent

    def client(self, service: str, region: str = "us-east-1") -> Any:
        return boto3.client(
            service,
            endpoint_url=self._aws.endpoint_url,
            region_name=region,
            aws_access_key_id=self._key["AccessKeyId"],
            aws_secret_access_key=self._key["SecretAccessKey"],
            config=NO_RETRY.merge(Config(user_agent_extra=self._agent or None)),
        )


@pytest.fixture
def bot(make_bot) -> Bot:
    return make_bot(THREE_REGIONS)


@pytest.fixture
def leaked(iam) -> dict[str, str]:
    iam.create_user(UserName="ci-deployer")
    return iam.create_access_key(UserName="ci-deployer")["AccessKey"]


def test_what_a_leaked_key_did_is_listed_with_persistence_flagged(
    make_bot, aws: FaithfulAws, leaked
) -> None:
    bot: Bot = make_bot()  # no cloudtrail_regions: every region the account has enabled
    role = aws.add_bot_role(aws.account_id, "ops-admin", require_source_identity=False)
    attacker = Attacker(aws, leaked, "leakbot/2.1")
    iam = attacker.client("iam")
    iam.list_users()
    iam.list_users()
    iam.create_user(UserName="backdoor")
    iam.create_access_key(UserName="backdoor")
    aws.fail("ListRoles", code="AccessDenied", status=403)
    with pytest.raises(ClientError):
        iam.list_roles()
    attacker.client("sts", "eu-west-1").assume_role(RoleArn=role, RoleSessionName="pwn")

    said = bot.said(bot.command(f"investigate {leaked['AccessKeyId']}"))
    assert "6 events in the last 48 hours" in said
    for counted in (
        "`ListUsers` (2)",
        "`CreateUser` (1)",
        "`CreateAccessKey` (1)",
        "`ListRoles` (1)",
    ):
        assert counted in said
    assert "`AssumeRole` (1)" in said
    assert "*By region:* `us-east-1` (5), `eu-west-1` (1)" in said
    assert "*Refused (AccessDenied):* 1" in said
    assert "*Changes (write events):* `CreateAccessKey` (1), `CreateUser` (1)" in said
    assert "*CreateUser* on `backdoor`" in said
    assert "*CreateAccessKey* on `backdoor`" in said
    assert f"*AssumeRole* on `{role}`" in said
    assert "leakbot/2.1" in said and "`127.0.0.1` (6)" in said
    assert "GetAccessKeyInfo" not in said  # the bot's own calls are not the key's
    assert "data events" in said and "are not covered" in said
    enabled = boto3.client("ec2", endpoint_url=aws.endpoint_url).describe_regions()["Regions"]
    assert {c.region for c in aws.calls("LookupEvents")} == {r["RegionName"] for r in enabled}


def test_many_pages_in_several_regions_finish_within_the_rate_limit(
    bot: Bot, aws: FaithfulAws, leaked
) -> None:
    attacker = Attacker(aws, leaked)
    iam, sts = attacker.client("iam"), attacker.client("sts", "eu-west-1")
    for _ in range(101):  # three pages of 50 in us-east-1
        iam.get_user()
    for _ in range(51):  # two in eu-west-1
        sts.get_caller_identity()

    said = bot.said(bot.command(f"investigate {leaked['AccessKeyId']} --hours 2160"))
    assert "`GetUser` (101)" in said and "`GetCallerIdentity` (51)" in said
    lookups = aws.calls("LookupEvents")
    assert all(c.error != "ThrottlingException" for c in lookups), "the bot outran CloudTrail"
    assert sorted(c.region for c in lookups) == sorted(REGIONS + ["us-east-1"] * 2 + ["eu-west-1"])
    assert "Read 3 regions, 6 pages" in said


def test_a_region_that_fails_is_named_and_the_others_still_count(
    bot: Bot, aws: FaithfulAws, leaked
) -> None:
    Attacker(aws, leaked).client("iam").list_users()
    aws.fail("LookupEvents", region="eu-west-1", code="AccessDeniedException", status=400)

    said = bot.said(bot.command(f"investigate {leaked['AccessKeyId']}"))
    assert "*Not read to the end:* `eu-west-1` (AccessDeniedException)" in said
    assert "`ListUsers` (1)" in said


def test_text_from_cloudtrail_is_escaped(bot: Bot, aws: FaithfulAws, leaked) -> None:
    Attacker(aws, leaked, "<!channel> <https://evil.example|click>").client("iam").list_users()

    answer = bot.replies(bot.command(f"investigate {leaked['AccessKeyId']}"))[-1]
    text = str(answer.blocks)
    assert "&lt;!channel&gt;" in text
    assert "<!channel>" not in text and "<https://evil" not in text


def test_no_events_is_said_plainly(bot: Bot, leaked) -> None:
    said = bot.said(bot.command(f"investigate {leaked['AccessKeyId']} --hours 1"))
    assert "No CloudTrail event of" in said and "in the last 1 hour" in said


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ("AKIAIOSFODNN7EXAMPLE --hours 0", "a whole number from 1 to 2160"),
        ("AKIAIOSFODNN7EXAMPLE --hours -5", "a whole number from 1 to 2160"),
        ("AKIAIOSFODNN7EXAMPLE --hours 2161", "a whole number from 1 to 2160"),
        ("AKIAIOSFODNN7EXAMPLE --hours", "a whole number from 1 to 2160"),
        ("AKIAIOSFODNN7EXAMPLE --days 3", "is not an option of `/iam investigate`"),
        ("dave", "access key"),
        ("", "Usage: `/iam investigate"),
    ],
)
def test_bad_input_is_a_short_error_and_nothing_is_called(
    bot: Bot, aws: FaithfulAws, args: str, says: str
) -> None:
    before = len(aws.calls())
    said = bot.said(bot.command(f"investigate {args}"))
    assert says in said
    assert len(aws.calls()) == before


def test_only_who_may_see_keys_may_investigate(bot: Bot, aws: FaithfulAws, leaked) -> None:
    before = len(aws.calls())
    said = bot.said(bot.command(f"investigate {leaked['AccessKeyId']}", user="U0NOBODY"))
    assert "`keys` permission" in said
    assert len(aws.calls()) == before


def test_a_key_of_another_account_is_investigated_in_its_own_account(
    make_bot, aws: FaithfulAws
) -> None:
    org = organization(aws)
    bot: Bot = make_bot(listed_config(org).replace(CONFIG, THREE_REGIONS))
    production = aws.client("iam", org.production)
    production.create_user(UserName="ci-deployer")
    key = production.create_access_key(UserName="ci-deployer")["AccessKey"]
    Attacker(aws, key).client("iam").list_users()

    said = bot.said(bot.command(f"investigate {key['AccessKeyId']}"))  # asked from management
    assert "`ListUsers` (1)" in said
    lookups = aws.calls("LookupEvents")
    assert lookups and {c.account for c in lookups} == {org.production}
    assert {c.source_identity for c in lookups} == {source_identity("U0ALICE")}


def test_a_throttled_lookup_is_retried_and_never_reaches_the_user(
    bot: Bot, aws: FaithfulAws, leaked
) -> None:
    Attacker(aws, leaked).client("iam").list_users()
    aws.fail("LookupEvents", region="us-east-1", code="ThrottlingException", status=400)

    said = bot.said(bot.command(f"investigate {leaked['AccessKeyId']}"))
    assert "`ListUsers` (1)" in said and "Not read" not in said
    assert [c.error for c in aws.calls("LookupEvents") if c.region == "us-east-1"] == [
        "ThrottlingException",
        None,
    ]
