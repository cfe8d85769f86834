"""The demo across an Organization's accounts: its welcome names them, and its tour's part on
them lists them, finds production's leaked key by whois and deactivates it from its button
there (read back from AWS), and shows dave's keys in staging with `--account`."""

from __future__ import annotations

import io
import os
import re

import pytest

from sandbox.aws import FaithfulAws
from sandbox.demo import TOUR, run_demo

_LAST = "/iam keys dave --account staging"


@pytest.fixture
def demo_env(aws: FaithfulAws, monkeypatch: pytest.MonkeyPatch) -> FaithfulAws:
    """moto's state is one per process (the ``aws`` fixture resets it, and reads what the demo
    left); the demo points boto3 at its own AWS through the environment, put back after."""
    for name in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, os.environ.get(name, ""))
    monkeypatch.setenv("AWS_DEFAULT_REGION", os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
    return aws


def _tour_until_accounts_done() -> list[str]:
    """The tour's lines from its start to its last line about accounts."""
    lines = TOUR.read_text(encoding="utf-8").splitlines()
    return lines[: lines.index(_LAST) + 1]


def test_the_tour_deactivates_the_production_key_in_production(demo_env: FaithfulAws) -> None:
    out = io.StringIO()
    lines = iter(_tour_until_accounts_done())
    assert run_demo(lambda _prompt: next(lines, None), out=out) == 0
    text = out.getvalue()
    assert "Traceback" not in text and "no such" not in text

    ids = dict(re.findall(r"^  (management|staging|production) +(\d{12})", text, re.MULTILINE))
    assert set(ids) == {"management", "staging", "production"}  # the welcome names them
    assert re.search(rf"production +{ids['production']} +offboard needs 2 approvers", text)
    for name, account in ids.items():
        assert f"• {name} `{account}`" in text and "✅ reachable" in text  # /iam accounts

    [leaked] = re.findall(r"`(AKIA\w+)` belongs to IAM user ci-deployer", text)
    assert f"(AWS account production `{ids['production']}`)" in text
    assert f"of ci-deployer in production ({ids['production']})" in text  # the request
    production = demo_env.client("iam", ids["production"])
    [key] = production.list_access_keys(UserName="ci-deployer")["AccessKeyMetadata"]
    assert (key["AccessKeyId"], key["Status"]) == (leaked, "Inactive")

    staging = demo_env.client("iam", ids["staging"])
    [dave] = staging.list_access_keys(UserName="dave")["AccessKeyMetadata"]
    shown = text.rpartition(f"alice> {_LAST}")[2]
    assert dave["AccessKeyId"] in shown and f"(AWS account staging `{ids['staging']}`)" in shown
