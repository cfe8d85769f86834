"""From AWS's alarm to what the incident card shows, with 1 s per AWS call.

An event arrives (AWS Health naming the key; CloudTrail's quarantine policy naming only the
user), its incident is stored, and the card's facts are read in the key's account: the key's
user and last use, the user's keys with their last use, its tags (the owner) and its attached
policies (the quarantine). Posting the card is Slack's, not timed here (the benchmarks leave the
chat room out). The goal: independent reads in parallel, so the time is the longest chain of
calls, well under their sum (the floor a one-after-another reader would pay).
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from tempfile import TemporaryDirectory

from bench.rig import bot_ops, timed
from bot.access.incidents import Incident
from bot.access.store import SqliteStore
from bot.iam.aws import Aws
from bot.ops import incidents
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


def main() -> None:
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


if __name__ == "__main__":
    main()
