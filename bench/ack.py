"""Ack latency under a slow AWS: 50 concurrent `/iam keys` while every AWS call takes 1 s.

Slack gives an app 3 seconds to acknowledge. The bot acks on the request thread before any AWS
work, so the ack should not move when AWS slows down. The bot runs as in production, its own
`iam-bot serve` process; the sandbox AWS runs in another, Slack's side (the fake Web API and
the signed requests) in this one. Measured in one run: the same burst with no AWS delay
(baseline) and with a 1 s delay; printed as p50/p99 and ratios. Goal: p99 under 100 ms.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3

from sandbox.harness import point_boto3_at
from sandbox.process import SandboxProcess
from sandbox.slack_api import FakeSlack
from sandbox.slack_requests import SlackSender

CONCURRENT = 50
AWS_DELAY_S = 1.0
CONFIG = 'permissions:\n  keys: ["*"]\n'


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def serve_bot(state: Path, slack: FakeSlack, secret: str) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    (state / "config.yml").write_text(CONFIG)
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": "xoxb-bench",
        "SLACK_SIGNING_SECRET": secret,
        "SLACK_API_URL": slack.api_url,
        "IAM_BOT_CONFIG": str(state / "config.yml"),
        "IAM_BOT_STATE": f"sqlite:///{state}/state.sqlite3",
    }
    bot = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--port", str(port)],
        env=env,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(300):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return bot, f"http://127.0.0.1:{port}/slack/events"
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("iam-bot serve did not start")


def burst(sender: SlackSender, slack: FakeSlack) -> tuple[list[float], float]:
    """CONCURRENT commands at once: ack latencies (s), and time until every one was answered."""
    start = time.perf_counter()
    with ThreadPoolExecutor(CONCURRENT) as pool:
        replies = list(
            pool.map(lambda _: sender.command("keys dave", user_id="U0ALICE"), range(CONCURRENT))
        )
    assert all(r.status == 200 for r in replies), [r.status for r in replies]
    keys = {r.response_key for r in replies}
    slack.wait_for(lambda: keys <= {m.response_key for m in slack.messages()}, timeout=120)
    return [r.elapsed_s for r in replies], time.perf_counter() - start


def report(label: str, acks: list[float], total: float) -> None:
    p50, p99 = percentile(acks, 50) * 1000, percentile(acks, 99) * 1000
    print(
        f"{label}: {len(acks)} acks, p50 {p50:.1f} ms, p99 {p99:.1f} ms; answered in {total:.2f} s"
    )


def main() -> None:
    secret = secrets.token_hex(16)
    with SandboxProcess() as aws, FakeSlack() as slack, tempfile.TemporaryDirectory() as state:
        point_boto3_at(aws.endpoint_url)
        iam = boto3.client("iam", endpoint_url=aws.endpoint_url, region_name="us-east-1")
        iam.create_user(UserName="dave")
        iam.create_access_key(UserName="dave")
        bot, events_url = serve_bot(Path(state), slack, secret)
        try:
            sender = SlackSender(events_url, secret, slack)
            burst(sender, slack)  # warm-up: connections, auth.test, first-request imports
            slack.clear()
            base, base_total = burst(sender, slack)
            aws.set_delay(AWS_DELAY_S)
            slow, slow_total = burst(sender, slack)
        finally:
            bot.terminate()
            bot.wait(10)
    print(f"{CONCURRENT} concurrent /iam keys, 2 AWS calls each (list keys, last use of the key)")
    report("baseline (no AWS delay)", base, base_total)
    report(f"AWS delay {AWS_DELAY_S:.0f} s per call", slow, slow_total)
    p99 = percentile(slow, 99)
    print(f"ack p99 / AWS delay: {p99 / AWS_DELAY_S:.3f}")
    print(f"ack p99 with delay / baseline p99: {p99 / percentile(base, 99):.2f}")
    print(f"goal p99 < 100 ms: {'met' if p99 < 0.1 else 'NOT met'}")


if __name__ == "__main__":
    main()
