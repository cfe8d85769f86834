"""Ack latency under a slow AWS: 50 concurrent `/iam keys` while every AWS call takes 1 s.

Slack gives an app 3 seconds to acknowledge. The bot acks on the request thread before any
AWS work, so the ack should not move when AWS slows down. Measured in one run: the same burst
with no AWS delay (baseline) and with a 1 s delay; printed as p50/p99, their ratio to the AWS
delay and to the baseline. Goal: p99 under 100 ms with the delay.
"""

from __future__ import annotations

import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.sandbox.aws import FaithfulAws  # noqa: E402
from bot.sandbox.harness import RunningBot, point_boto3_at, start_bot  # noqa: E402
from bot.sandbox.slack_api import FakeSlack  # noqa: E402

CONCURRENT = 50
AWS_DELAY_S = 1.0
CONFIG = 'permissions:\n  keys: ["*"]\n'


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def burst(bot: RunningBot) -> tuple[list[float], float]:
    """Send CONCURRENT commands at once; ack latencies (s) and time until all were answered."""
    start = time.perf_counter()
    with ThreadPoolExecutor(CONCURRENT) as pool:
        replies = list(
            pool.map(
                lambda _: bot.sender.command("keys dave", user_id="U0ALICE"), range(CONCURRENT)
            )
        )
    bot.settle(120)
    answered = time.perf_counter() - start
    assert all(r.status == 200 for r in replies), [r.status for r in replies]
    answers = {m.response_key for m in bot.slack.messages() if m.response_key}
    assert all(r.response_key in answers for r in replies), "a command went unanswered"
    return [r.elapsed_s for r in replies], answered


def main() -> None:
    with FaithfulAws() as aws, FakeSlack() as slack, tempfile.TemporaryDirectory() as state:
        point_boto3_at(aws)
        iam = boto3.client("iam", endpoint_url=aws.endpoint_url, region_name="us-east-1")
        iam.create_user(UserName="dave")
        iam.create_access_key(UserName="dave")
        bot = start_bot(slack, CONFIG, Path(state) / "s.db", workers=CONCURRENT)
        try:
            burst(bot)  # warm-up: connections, auth.test, first-request imports
            base, base_total = burst(bot)
            aws.set_delay(AWS_DELAY_S)
            slow, slow_total = burst(bot)
        finally:
            bot.stop()
    report("baseline (no AWS delay)", base, base_total)
    report(f"AWS delay {AWS_DELAY_S:.0f} s per call", slow, slow_total)
    p99 = percentile(slow, 99)
    print(f"ack p99 / AWS delay: {p99 / AWS_DELAY_S:.3f}")
    print(f"ack p99 with delay / baseline p99: {p99 / percentile(base, 99):.2f}")
    print(f"goal p99 < 100 ms: {'met' if p99 < 0.1 else 'NOT met'}")


def report(label: str, acks: list[float], total: float) -> None:
    p50, p99 = percentile(acks, 50) * 1000, percentile(acks, 99) * 1000
    print(
        f"{label}: {len(acks)} acks, p50 {p50:.1f} ms, p99 {p99:.1f} ms; answered in {total:.2f} s"
    )


if __name__ == "__main__":
    main()
