"""Leaked-key incidents: from AWS's alarm to the card, and a 90-day, all-region investigation.

``card()``: from AWS's alarm to what the incident card shows, with 1 s per AWS call.

An event arrives (AWS Health naming the key; CloudTrail's quarantine policy naming only the
user), its incident is stored, and the card's facts are read in the key's account: the key's
user and last use, the user's keys with their last use, its tags (the owner) and its attached
policies (the quarantine). Posting the card is Slack's, not timed here (the benchmarks leave the
chat room out). The goal: independent reads in parallel, so the time is the longest chain of
calls, well under their sum (the floor a one-after-another reader would pay).

``investigation()``: a key used in three regions over 90 days (2,000 events in us-east-1, 500 in
eu-west-1, 250 in ap-southeast-2: 40, 10 and 5 pages of 50), then ``/iam investigate <key>
--hours 2160`` through the bot's code path (``investigate.summary``: every region the account
has enabled, read in parallel, each one's pages through the per-(account, region) limiter), with
50 and 200 ms per AWS call. CloudTrail answers 2 lookups a second per account and region, so
no client can read a region's ``p`` pages faster than ``p / 2`` seconds; regions are read in
parallel, so the floor is the busiest region's. Goal: within 1.3x of that floor, with no
lookup throttled. Each run also gives the bot's CPU (a new gateway: a CloudTrail client per
region is built, ~40 of them) and when the first lookup arrived, after DescribeRegions and
those clients: on a shared machine that set-up, not the pacing, is what grows.

Each region's pages follow one another (a page needs the last one's NextToken), and a lookup
leaves only when at most one other was answered within the last second: CloudTrail counts a
lookup when it arrives, which the bot cannot see. So two pages take a second and a round trip,
about ``1.02 + latency`` times the floor. The sandbox runs in a process of its own
(sandbox/process.py), as in the other benchmarks; the machine's load average is printed at
the start and the end.
"""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from tempfile import TemporaryDirectory

import boto3
from botocore.config import Config

from bench.org_audit import load_average
from bench.rig import bot_ops, timed
from bot.access.incidents import Incident
from bot.access.store import SqliteStore
from bot.iam.aws import Aws
from bot.iam.cloudtrail import PAGE_SIZE
from bot.ops import incidents, investigate
from bot.ops.context import Ops
from sandbox.aws import FaithfulAws
from sandbox.aws_events import health_event, quarantine_event
from sandbox.harness import point_boto3_at
from sandbox.process import SandboxProcess

DELAY_S = 1.0
CONFIG = "permissions:\n  keys: ['*']\nincidents: {channel: C0SEC}\n"


def seed(sandbox: FaithfulAws) -> list[str]:
    """In the sandbox's process: dave with two keys (one leaked), linked to a chat user."""
    iam = sandbox.client("iam")
    iam.create_user(UserName="dave", Tags=[{"Key": "slack-user-id", "Value": "U0DAVE"}])
    return [iam.create_access_key(UserName="dave")["AccessKey"]["AccessKeyId"] for _ in range(2)]


class CardFacts:
    """The cards' deliveries, without Slack: the facts read for each changed incident, each on
    a thread of its own, as the outbox delivers each key's card on the job pool."""

    def __init__(self, ops: Ops, pool: ThreadPoolExecutor) -> None:
        self.ops, self.pool = ops, pool
        self.reads: list[Future[incidents.KeyFacts]] = []

    def changed(self, incident: Incident, new: bool) -> None:
        self.reads.append(self.pool.submit(incidents.key_facts, self.ops, incident))


def card() -> None:
    with SandboxProcess() as sandbox, TemporaryDirectory() as scratch, ThreadPoolExecutor() as pool:
        point_boto3_at(sandbox.endpoint_url)
        leaked, _ = sandbox.run(seed)
        aws = Aws()
        aws.client("iam")  # a ready client, as a running bot has
        ops = bot_ops(aws, SqliteStore(Path(scratch) / "state.db"), CONFIG)
        for label, event in (
            ("Health event naming the key", health_event(leaked)),
            ("quarantine policy naming the user", quarantine_event("dave")),
        ):
            desk = CardFacts(ops, pool)
            elapsed, calls, _ = timed(
                sandbox, DELAY_S, label, "cards", lambda e=event, d=desk: _intake(ops, e, d)
            )
            floor = calls * DELAY_S
            print(
                f"  {calls} calls of {DELAY_S:g} s: {elapsed:.2f} s against {floor:.0f} s one after"
                f" another ({elapsed / floor:.2f}x their sum)"
            )


def _intake(ops: Ops, event: dict, desk: CardFacts) -> list[incidents.KeyFacts]:
    incidents.intake(ops, event, desk)
    return [read.result() for read in desk.reads]


EVENTS = {"us-east-1": 2000, "eu-west-1": 500, "ap-southeast-2": 250}
DAYS = 89  # spread over (CloudTrail keeps 90)
BATCHES = 10
DELAYS_S = (0.05, 0.2)
GOAL = 1.3


def seed_events(sandbox: FaithfulAws) -> str:
    """In the sandbox's process: a user's key, used ``EVENTS`` times in each region, spread
    over ``DAYS`` days (each batch made older as the next one comes); the key's ID."""
    iam = sandbox.client("iam")
    iam.create_user(UserName="leaker")
    key = iam.create_access_key(UserName="leaker")["AccessKey"]
    clients = {
        region: boto3.client(
            "sts",
            endpoint_url=sandbox.endpoint_url,
            region_name=region,
            aws_access_key_id=key["AccessKeyId"],
            aws_secret_access_key=key["SecretAccessKey"],
            config=Config(max_pool_connections=8),
        )
        for region in EVENTS
    }
    calls = [region for region, count in EVENTS.items() for _ in range(count // BATCHES)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        for _ in range(BATCHES):
            list(pool.map(lambda region: clients[region].get_caller_identity(), calls))
            sandbox.age_calls(key["AccessKeyId"], timedelta(days=DAYS / BATCHES))
    return str(key["AccessKeyId"])


def lookups(sandbox: FaithfulAws, before: int) -> tuple[int, float]:
    """In the sandbox's process: of the calls after the first ``before``, how many lookups
    were throttled, and when the first lookup arrived (a UNIX time)."""
    made = [c for c in sandbox.calls()[before:] if c.action == "LookupEvents"]
    throttled = sum(1 for c in made if c.error == "ThrottlingException")
    return throttled, min(c.at.timestamp() for c in made)


def investigation() -> None:
    """The 90-day, all-region investigation at each latency, against its floor."""
    with SandboxProcess() as sandbox, TemporaryDirectory() as tmp:
        point_boto3_at(sandbox.endpoint_url)
        start = time.perf_counter()
        key = sandbox.run(seed_events)
        print(f"seeded {sum(EVENTS.values())} events in {time.perf_counter() - start:.0f} s")
        busiest = max(-(-count // PAGE_SIZE) for count in EVENTS.values())
        floor = busiest / 2
        store = SqliteStore(Path(tmp) / "state.sqlite3")
        for delay_s in DELAYS_S:
            ops = bot_ops(Aws(), store, "permissions: {keys: ['*']}\n")
            before = sandbox.call_count()
            sandbox.set_delay(delay_s)
            started, cpu = time.time(), time.process_time()
            found = investigate.summary(ops, key, investigate.MAX_HOURS)
            elapsed, cpu = time.time() - started, time.process_time() - cpu
            sandbox.set_delay(0)
            throttled, first = sandbox.run(lookups, before)
            assert found.events == sum(EVENTS.values()), found.events
            ratio = elapsed / floor
            met = "met" if ratio <= GOAL and not throttled else "NOT met"
            print(
                f"{delay_s * 1000:.0f} ms per call: {found.regions} regions, {found.pages} pages "
                f"({busiest} in the busiest), {found.events} events in {elapsed:.2f} s (first "
                f"lookup at {first - started:.2f} s; the bot's CPU {cpu:.2f} s); floor "
                f"{floor:.1f} s; {ratio:.2f}x the floor, {throttled} lookups throttled "
                f"(goal {GOAL}x, none throttled: {met})"
            )


def main() -> None:
    print(f"load average at the start: {load_average()}")
    card()
    investigation()
    print(f"load average at the end: {load_average()}")


if __name__ == "__main__":
    main()
