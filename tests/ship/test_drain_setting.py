"""IAM_BOT_DRAIN_SECONDS, how long a stopping replica lets its work in flight run on: a value that
is not a sensible number of seconds stops `iam-bot serve` with one line, before anything starts."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.fixtures.project import ROOT


def _serve(drain: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "IAM_BOT_", "AWS_"))}
    env.update(
        SLACK_BOT_TOKEN="xoxb-1-2-drain",
        SLACK_SIGNING_SECRET="drain-signing-secret",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_EC2_METADATA_DISABLED="true",
        PORT="0",
        IAM_BOT_DRAIN_SECONDS=drain,
    )
    return subprocess.run(
        [sys.executable, "-m", "bot", "serve"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("drain", ["-1", "3601", "soon", "nan", "inf"])
def test_a_bad_drain_time_stops_startup_with_one_line(drain: str) -> None:
    result = _serve(drain)
    line = "iam-bot: IAM_BOT_DRAIN_SECONDS must be a number of seconds between 0 and 3600"
    assert (result.returncode, result.stderr.splitlines()) == (2, [line]), result.stderr
