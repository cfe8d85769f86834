"""IAM_BOT_WORKERS, how many Slack answers may wait on AWS at once: a value that is not a
sensible number of threads stops `iam-bot serve` with one line, before anything starts."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.fixtures.project import ROOT


def _serve(workers: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "IAM_BOT_", "AWS_"))}
    env.update(
        SLACK_BOT_TOKEN="xoxb-1-2-workers",
        SLACK_SIGNING_SECRET="workers-signing-secret",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_EC2_METADATA_DISABLED="true",
        PORT="0",
        IAM_BOT_WORKERS=workers,
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


@pytest.mark.parametrize("workers", ["0", "3", "1001", "many", "-8", "16.5"])
def test_a_bad_worker_count_stops_startup_with_one_line(workers: str) -> None:
    result = _serve(workers)
    line = "iam-bot: IAM_BOT_WORKERS must be a number of threads between 4 and 1000"
    assert (result.returncode, result.stderr.splitlines()) == (2, [line]), result.stderr
