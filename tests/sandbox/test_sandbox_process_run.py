"""SandboxProcess.run: seeding that reaches into moto's own model, done in the sandbox's
process, seen by clients of this one; an error there is raised here, and the sandbox goes on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest

from sandbox.aws import FaithfulAws
from sandbox.process import SandboxProcess


def aged_key(sandbox: FaithfulAws, user: str, days: int) -> str:
    """In the sandbox's process: ``user`` with one key created ``days`` ago."""
    iam = sandbox.client("iam")
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]["AccessKeyId"]
    sandbox.backdate_access_key(key, datetime.now(UTC) - timedelta(days=days))
    return str(key)


def refused(sandbox: FaithfulAws) -> None:
    raise ValueError("no such thing")


def test_run_seeds_in_the_sandbox_process() -> None:
    with SandboxProcess() as sandbox:
        key = sandbox.run(aged_key, "old", 400)
        iam = boto3.client(
            "iam",
            endpoint_url=sandbox.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        listed = iam.list_access_keys(UserName="old")["AccessKeyMetadata"]
        assert [k["AccessKeyId"] for k in listed] == [key]
        assert (datetime.now(UTC) - listed[0]["CreateDate"]).days >= 399
        with pytest.raises(RuntimeError, match="ValueError: no such thing"):
            sandbox.run(refused)
        assert sandbox.call_count() == 1  # still serving: the one ListAccessKeys
