"""The test peer's CloudTrail ``LookupEvents`` (moto has none): built from the calls the sandbox
records, per region, paged, 90 days, newest first, throttled over 2 requests per second per
account and region, in AWS's documented shapes. Clients here never retry, so every throttle is
seen; lookups in one region are paced as CloudTrail's limit asks."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from sandbox.aws import FaithfulAws

NO_RETRY = Config(retries={"mode": "standard", "total_max_attempts": 1})
PACE = 0.5  # CloudTrail's 2 lookups per second in one account and region


def _client(aws: FaithfulAws, service: str, key: dict[str, str], region: str, **config: Any):
    return boto3.client(
        service,
        endpoint_url=aws.endpoint_url,
        region_name=region,
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
        config=NO_RETRY.merge(Config(**config)),
    )


@pytest.fixture
def leaked(aws: FaithfulAws, iam) -> dict[str, str]:
    """A user's key that the test then uses as an attacker would."""
    iam.create_user(UserName="dave")
    return iam.create_access_key(UserName="dave")["AccessKey"]


def _lookup(aws: FaithfulAws, region: str, key_id: str, **params: Any) -> dict[str, Any]:
    trail = boto3.client(
        "cloudtrail", endpoint_url=aws.endpoint_url, region_name=region, config=NO_RETRY
    )
    attribute = [{"AttributeKey": "AccessKeyId", "AttributeValue": key_id}]
    return trail.lookup_events(LookupAttributes=attribute, **params)


def test_a_keys_calls_are_its_events_newest_first_in_aws_shape(aws: FaithfulAws, leaked) -> None:
    attacker = _client(aws, "iam", leaked, "us-east-1", user_agent_extra="evil/1.0")
    attacker.list_users()
    attacker.create_user(UserName="backdoor")
    aws.fail("ListRoles", code="AccessDenied", status=403)
    with pytest.raises(ClientError):
        attacker.list_roles()
    boto3.client("iam", endpoint_url=aws.endpoint_url, region_name="us-east-1").list_users()

    events = _lookup(aws, "us-east-1", leaked["AccessKeyId"])["Events"]
    assert [e["EventName"] for e in events] == ["ListRoles", "CreateUser", "ListUsers"]
    denied, created, listed = events
    assert created["ReadOnly"] == "false" and listed["ReadOnly"] == "true"
    assert created["AccessKeyId"] == leaked["AccessKeyId"]
    assert created["EventSource"] == "iam.amazonaws.com"
    assert created["Username"] == "dave"
    assert isinstance(created["EventTime"], datetime)
    assert {"ResourceType": "AWS::IAM::User", "ResourceName": "backdoor"} in created["Resources"]
    detail = json.loads(created["CloudTrailEvent"])
    assert detail["userIdentity"]["accessKeyId"] == leaked["AccessKeyId"]
    assert detail["userIdentity"]["type"] == "IAMUser"
    assert detail["requestParameters"] == {"userName": "backdoor"}
    assert detail["awsRegion"] == "us-east-1" and detail["sourceIPAddress"]
    assert "evil/1.0" in detail["userAgent"]
    assert "errorCode" not in detail
    assert json.loads(denied["CloudTrailEvent"])["errorCode"] == "AccessDenied"


def test_events_are_kept_per_region_iam_in_us_east_1(aws: FaithfulAws, leaked) -> None:
    _client(aws, "iam", leaked, "eu-west-1").list_users()  # global: recorded in us-east-1
    _client(aws, "sts", leaked, "eu-west-1").get_caller_identity()

    key = leaked["AccessKeyId"]
    assert [e["EventName"] for e in _lookup(aws, "us-east-1", key)["Events"]] == ["ListUsers"]
    assert [e["EventName"] for e in _lookup(aws, "eu-west-1", key)["Events"]] == [
        "GetCallerIdentity"
    ]
    assert _lookup(aws, "ap-south-1", key)["Events"] == []


def test_pages_follow_next_token_and_new_events_do_not_shift_them(aws: FaithfulAws, leaked) -> None:
    attacker = _client(aws, "iam", leaked, "us-east-1")
    for _ in range(5):
        attacker.list_users()
    key, seen, token = leaked["AccessKeyId"], [], {}
    while True:
        page = _lookup(aws, "us-east-1", key, MaxResults=2, **token)
        seen += [e["EventId"] for e in page["Events"]]
        attacker.get_user()  # after the first page: not in this lookup
        if "NextToken" not in page:
            break
        token = {"NextToken": page["NextToken"]}
        time.sleep(PACE)
    assert len(seen) == len(set(seen)) == 5


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"MaxResults": 51}, "InvalidMaxResultsException"),
        ({"NextToken": "bogus"}, "InvalidNextTokenException"),
        (
            {"StartTime": datetime(2026, 2, 1, tzinfo=UTC), "EndTime": datetime(2026, 1, 1)},
            "InvalidTimeRangeException",
        ),
    ],
)
def test_bad_lookups_are_refused(aws: FaithfulAws, params: dict[str, Any], code: str) -> None:
    with pytest.raises(ClientError) as refused:
        _lookup(aws, "us-east-1", "AKIAEXAMPLE000000000", **params)
    assert refused.value.response["Error"]["Code"] == code


def test_one_lookup_attribute_at_most(aws: FaithfulAws) -> None:
    trail = boto3.client("cloudtrail", endpoint_url=aws.endpoint_url, region_name="us-east-1")
    two = [
        {"AttributeKey": "AccessKeyId", "AttributeValue": "AKIAEXAMPLE000000000"},
        {"AttributeKey": "EventName", "AttributeValue": "ListUsers"},
    ]
    with pytest.raises(ClientError) as refused:
        trail.lookup_events(LookupAttributes=two)
    assert refused.value.response["Error"]["Code"] == "InvalidLookupAttributesException"


def test_ninety_days_are_kept_and_the_time_range_filters(aws: FaithfulAws, leaked) -> None:
    attacker = _client(aws, "iam", leaked, "us-east-1")
    attacker.list_users()
    aws.age_calls(leaked["AccessKeyId"], timedelta(days=91))
    attacker.get_user()
    aws.age_calls(leaked["AccessKeyId"], timedelta(hours=3))
    attacker.list_groups()

    key, now = leaked["AccessKeyId"], datetime.now(UTC)
    assert [e["EventName"] for e in _lookup(aws, "us-east-1", key)["Events"]] == [
        "ListGroups",
        "GetUser",
    ]
    time.sleep(PACE)
    recent = _lookup(aws, "us-east-1", key, StartTime=now - timedelta(hours=1), EndTime=now)
    assert [e["EventName"] for e in recent["Events"]] == ["ListGroups"]


def test_more_than_two_lookups_a_second_in_one_region_are_throttled(aws: FaithfulAws) -> None:
    key = "AKIAEXAMPLE000000000"
    _lookup(aws, "us-east-1", key)
    _lookup(aws, "us-east-1", key)
    with pytest.raises(ClientError) as throttled:
        _lookup(aws, "us-east-1", key)
    assert throttled.value.response["Error"]["Code"] == "ThrottlingException"
    assert throttled.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert _lookup(aws, "eu-west-1", key)["Events"] == []  # another region has its own limit
    time.sleep(1.0)
    assert _lookup(aws, "us-east-1", key)["Events"] == []


def test_events_can_be_looked_up_by_event_name_or_user_name(aws: FaithfulAws, leaked) -> None:
    attacker = _client(aws, "iam", leaked, "us-east-1")
    attacker.list_users()
    attacker.get_user()
    trail = boto3.client(
        "cloudtrail", endpoint_url=aws.endpoint_url, region_name="us-east-1", config=NO_RETRY
    )

    by_name = trail.lookup_events(
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "GetUser"}]
    )["Events"]
    assert [(e["EventName"], e["AccessKeyId"]) for e in by_name] == [
        ("GetUser", leaked["AccessKeyId"])
    ]
    by_user = trail.lookup_events(
        LookupAttributes=[{"AttributeKey": "Username", "AttributeValue": "dave"}]
    )["Events"]
    assert [e["EventName"] for e in by_user] == ["GetUser", "ListUsers"]
