"""JSON log lines name the AWS account each entry's work acted in."""

from __future__ import annotations

import json

from bot.iam.sessions import current_account_id
from bot.logs import JsonLines
from sandbox.aws import FaithfulAws
from tests.fixtures.accounts import listed_config, organization
from tests.fixtures.aws import aged_key
from tests.fixtures.logs import captured_log
from tests.fixtures.slack import Bot


def test_entries_name_the_account_their_aws_work_acted_in(make_bot, aws: FaithfulAws) -> None:
    org = organization(aws)
    bot: Bot = make_bot(listed_config(org))
    staging = aws.client("iam", org.staging)
    staging.create_user(UserName="dave")
    aged_key(staging, aws, "dave", age_days=5)
    with captured_log(JsonLines(current_account_id)) as stream:
        bot.command("keys dave --account staging")
    entries = [json.loads(line) for line in stream.getvalue().splitlines()]
    calls = [e for e in entries if "ListAccessKeys" in e["message"]]
    assert calls and {e["account"] for e in calls} == {org.staging}
    assert {e["command"] for e in calls} == {"keys"}
