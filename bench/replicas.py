"""Commands answered per second by two replicas against one, on one DynamoDB table.

Each replica is `iam-bot serve` in its own process (sandbox/process.BotProcess), behind the
round-robin load balancer (sandbox/balancer.py); the state is one DynamoDB table (moto). The
sandbox AWS runs in a process of its own with 1 s added to every IAM call; the table is reached
on moto directly (``AWS_ENDPOINT_URL_DYNAMODB``), as real DynamoDB answers in milliseconds and
the figure is about the IAM work, not the store. Slack's side (fake Web API, signed requests)
is this process.

A burst of BURST `/iam keys dave` (two IAM calls each: list keys, last use of the key) is sent at
once; the rate is BURST over the time until every command was answered by its response URL.
Measured in one run on the same table: one replica, then two. Goal: two at least 1.8x one.

Each replica answers at most WORKERS commands at once (``IAM_BOT_WORKERS``), so a replica's own
capacity is what runs out, as it does in production where each replica has its own host: here
all of them share this machine's cores, and without that cap the figure would be this
machine's CPU (printed as well: the same bursts with no AWS delay), not the fleet's scaling.
"""

from __future__ import annotations

import os
import secrets
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3

from bot.access import dynamo
from sandbox.balancer import Balancer
from sandbox.harness import point_boto3_at
from sandbox.process import BotProcess, SandboxProcess
from sandbox.slack_api import FakeSlack
from sandbox.slack_requests import SlackSender

BURST = 64
WORKERS = 8
AWS_DELAY_S = 1.0
GOAL = 1.8
CONFIG = 'permissions:\n  keys: ["*"]\n'


def answered_per_second(sender: SlackSender, slack: FakeSlack) -> float:
    """BURST commands at once; how many were answered per second, the last answer included."""
    slack.clear()
    start = time.perf_counter()
    with ThreadPoolExecutor(BURST) as pool:
        replies = list(pool.map(lambda _: sender.command("keys dave"), range(BURST)))
    assert all(r.status == 200 for r in replies), [r.status for r in replies]
    keys = {r.response_key for r in replies}
    slack.wait_for(lambda: keys <= {m.response_key for m in slack.messages()}, timeout=300)
    return BURST / (time.perf_counter() - start)


def measure(
    aws: SandboxProcess, slack: FakeSlack, env: dict[str, str], logs: Path, replicas: int
) -> tuple[float, float]:
    """Commands answered per second by ``replicas`` replicas: with no AWS delay (what this
    machine's CPU allows), and with AWS_DELAY_S per IAM call."""
    secret = env["SLACK_SIGNING_SECRET"]
    with ThreadPoolExecutor(replicas) as pool:
        bots = list(
            pool.map(lambda n: BotProcess(env, logs / f"{replicas}-{n}.log"), range(replicas))
        )
    try:
        with Balancer([bot.url for bot in bots]) as balancer:
            sender = SlackSender(f"{balancer.url}/slack/events", secret, slack)
            aws.set_delay(0)
            answered_per_second(sender, slack)  # warm-up: connections, auth.test, imports
            cpu_bound = answered_per_second(sender, slack)
            aws.set_delay(AWS_DELAY_S)
            return cpu_bound, answered_per_second(sender, slack)
    finally:
        for bot in bots:
            bot.stop()


def main() -> None:
    with SandboxProcess() as aws, FakeSlack() as slack, tempfile.TemporaryDirectory() as logs:
        point_boto3_at(aws.endpoint_url)
        iam = boto3.client("iam", endpoint_url=aws.endpoint_url, region_name="us-east-1")
        iam.create_user(UserName="dave")
        iam.create_access_key(UserName="dave")
        # The person asking is linked to their IAM user, as the people a bot serves are: each
        # replica loads its identity index once, not again on every miss.
        iam.create_user(UserName="alice", Tags=[{"Key": "slack-user-id", "Value": "U0ALICE"}])
        os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = aws.moto_url()  # the store: no added delay
        table = f"iam-bot-bench-{uuid.uuid4().hex[:8]}"
        dynamo.create_table(table)
        env = {
            "SLACK_BOT_TOKEN": "xoxb-bench",
            "SLACK_SIGNING_SECRET": secrets.token_hex(16),
            "SLACK_API_URL": slack.api_url,
            "IAM_BOT_CONFIG": str(Path(logs) / "config.yml"),
            "IAM_BOT_STATE": f"dynamodb://{table}",
            "IAM_BOT_WORKERS": str(WORKERS),
        }
        Path(env["IAM_BOT_CONFIG"]).write_text(CONFIG)
        one_free, one = measure(aws, slack, env, Path(logs), 1)
        two_free, two = measure(aws, slack, env, Path(logs), 2)
    print(f"{BURST} concurrent /iam keys, 2 IAM calls each, {WORKERS} workers per replica")
    print("commands answered per second:")
    print(f"no AWS delay (this machine's CPU): one {one_free:.2f}, two {two_free:.2f}")
    print(f"{AWS_DELAY_S:.0f} s per IAM call: one replica {one:.2f}, two replicas {two:.2f}")
    verdict = "met" if two / one >= GOAL else "NOT met"
    print(f"two / one: {two / one:.2f}x (goal >= {GOAL}x: {verdict})")


if __name__ == "__main__":
    main()
