"""Several replicas on one DynamoDB table: real ``iam-bot serve`` processes behind a round-robin
load balancer (sandbox/balancer.py), AWS the faithful moto (the table too), Slack the fake.

Clicks spread over the replicas; of many clicks, Slack retries, a crash mid-run, a scheduler on
every replica and a rolling restart, each piece of work still runs exactly once.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pytest
from croniter import croniter
from prometheus_client.parser import text_string_to_metric_families

from bot.access import dynamo
from sandbox.balancer import Balancer
from sandbox.process import BotProcess
from sandbox.slack_api import FakeSlack, Message
from sandbox.slack_requests import SlackSender
from tests.fixtures.aws import make_full_user, succeeded_changes, user_exists
from tests.fixtures.slack import CONFIG, flatten

SECRET = "fleet-test-signing-secret"
# A live replica renews its leases every LEASE_S / 4 seconds and every replica looks for work
# to take over as often; a killed replica's run is taken at the next look (the replicas share a
# machine, where a process that is gone is seen to be gone), a live one's never.
LEASE_S = 2
LOOKED = LEASE_S  # every replica looked at the schedule and its runs at least four times
EVERY_10_S = "* * * * * */10"  # croniter's sixth field: seconds


@dataclass
class Fleet:
    """The replicas, the balancer in front of them and Slack's sender to the balancer."""

    env: dict[str, str]
    logs: Path
    slack: FakeSlack
    balancer: Balancer
    sender: SlackSender
    replicas: list[BotProcess] = field(default_factory=list)

    def start(self, count: int = 1) -> list[BotProcess]:
        """``count`` more replicas, started at once, each behind the balancer once healthy."""
        first = len(self.replicas) + 1
        logs = [self.logs / f"replica{first + n}.log" for n in range(count)]
        with ThreadPoolExecutor(count) as pool:
            started = list(pool.map(lambda log: BotProcess(self.env, log), logs))
        for replica in started:
            self.replicas.append(replica)
            self.balancer.add(replica.url)
        return started

    def retire(self, replica: BotProcess, *, crash: bool = False) -> None:
        """Out of the balancer, as its health check would take it, then SIGTERM (or SIGKILL)."""
        self.balancer.remove(replica.url)
        replica.kill() if crash else replica.stop()

    def live(self) -> list[BotProcess]:
        return [r for r in self.replicas if r.alive()]

    def serving(self, url: str) -> BotProcess:
        return next(r for r in self.replicas if r.url == url)

    def idle(self) -> None:
        """Wait until no live replica has work running or queued (seen twice in a row)."""
        quiet = 0
        deadline = time.monotonic() + 30
        while quiet < 2:
            assert time.monotonic() < deadline, "the replicas did not settle"
            busy = sum(
                metric(r, "iambot_jobs_running") + metric(r, "iambot_jobs_queued")
                for r in self.live()
            )
            quiet = quiet + 1 if busy == 0 else 0
            time.sleep(0.2)

    def stop(self) -> None:
        for replica in self.replicas:
            replica.kill()
        self.balancer.stop()


def metric(replica: BotProcess, sample: str) -> float:
    """One sample of a replica's ``/metrics`` (summed over labels; 0 when absent)."""
    families = text_string_to_metric_families(replica.get("/metrics"))
    return sum(s.value for f in families for s in f.samples if s.name == sample)


@pytest.fixture
def fleet_of(aws, slack, tmp_path) -> Iterator[Callable[..., Fleet]]:
    fleets: list[Fleet] = []

    def make(config: str = CONFIG, replicas: int = 2) -> Fleet:
        table = f"iam-bot-{uuid.uuid4().hex[:8]}"
        dynamo.create_table(table)  # what `iam-bot store create` does
        path = tmp_path / f"{table}.yml"
        path.write_text(config)
        env = {
            "SLACK_BOT_TOKEN": "xoxb-fleet",
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": slack.api_url,
            "IAM_BOT_CONFIG": str(path),
            "IAM_BOT_STATE": f"dynamodb://{table}",
            "IAM_BOT_LEASE_SECONDS": str(LEASE_S),
        }
        balancer = Balancer().start()
        sender = SlackSender(f"{balancer.url}/slack/events", SECRET, slack)
        fleet = Fleet(env, tmp_path, slack, balancer, sender)
        fleets.append(fleet)
        fleet.start(replicas)
        return fleet

    yield make
    for fleet in fleets:
        fleet.stop()


@pytest.fixture
def fleet(fleet_of) -> Fleet:
    return fleet_of()


def _offboarding(fleet: Fleet) -> Message:
    """alice asks to offboard the leaver; the request's message in the channel."""
    assert fleet.sender.command("offboard leaver left the company").status == 200
    return fleet.slack.wait_for(lambda: _titled(fleet.slack, "Offboard"))[0]


def _titled(slack: FakeSlack, words: str) -> list[Message]:
    return [m for m in slack.messages("C0OPS") if not m.ephemeral and words in flatten(m)]


def _now(slack: FakeSlack, message: Message) -> str:
    return flatten(next(m for m in slack.messages(message.channel) if m.ts == message.ts))


def _done(fleet: Fleet, message: Message, timeout: float = 30) -> str:
    """The request's message once it shows the run done."""
    fleet.slack.wait_for(lambda: "Done." in _now(fleet.slack, message), timeout)
    return _now(fleet.slack, message)


def _audit_lines(slack: FakeSlack, words: str) -> int:
    text = "\n".join(flatten(m) for m in slack.messages("C0AUDIT"))
    return sum(words in line for line in text.splitlines())


def _repeated(changes: list) -> list:
    return [change for n, change in enumerate(changes) if change in changes[:n]]


# --- the work spreads ------------------------------------------------------------------------


def test_clicks_alternate_between_the_replicas(fleet: Fleet, iam) -> None:
    make_full_user(iam)
    plan = _offboarding(fleet)
    assert fleet.sender.press(plan, user_id="U0SEC1", label="Approve").status == 200
    _done(fleet, plan)
    for _ in range(2):
        assert fleet.sender.command("keys", user_id="U0ALICE").status == 200

    first, second = (r.url for r in fleet.replicas)
    assert fleet.balancer.answered_by == [first, second, first, second]
    assert [metric(r, "iambot_ack_seconds_count") for r in fleet.replicas] == [2, 2]
    assert not user_exists(iam, "leaver")


# --- exactly once --------------------------------------------------------------------------


def test_twenty_approvals_at_once_give_one_run(fleet: Fleet, iam, aws) -> None:
    make_full_user(iam)
    plan = _offboarding(fleet)

    def approve(n: int) -> int:
        return fleet.sender.press(plan, user_id=("U0SEC1", "U0SEC2")[n % 2], label="Approve").status

    with ThreadPoolExecutor(20) as pool:
        assert list(pool.map(approve, range(20))) == [200] * 20
    shown = _done(fleet, plan)
    fleet.idle()

    assert aws.count("DeleteUser", ok_only=False) == 1
    assert shown.count("Done.") == 1
    assert _audit_lines(fleet.slack, "done:") == 1
    assert all(metric(r, "iambot_ack_seconds_count") >= 9 for r in fleet.replicas)


def test_a_retried_command_reaching_the_other_replica_opens_one_request(fleet: Fleet, iam) -> None:
    make_full_user(iam)
    _offboarding(fleet)
    assert fleet.sender.redeliver(retry_num=1).status == 200  # the balancer's next replica
    fleet.idle()

    assert len(set(fleet.balancer.answered_by)) == 2
    assert len(_titled(fleet.slack, "Offboard")) == 1
    told = [m for m in fleet.slack.messages(seen_by="U0ALICE") if m.ephemeral]
    assert told == []  # not "Already asked for" by the retry


def test_the_replica_killed_mid_run_is_taken_over_and_nothing_repeats(fleet: Fleet, iam, aws):
    make_full_user(iam)
    plan = _offboarding(fleet)
    since = len(aws.calls())
    aws.hold("DeleteLoginProfile")
    assert fleet.sender.press(plan, user_id="U0SEC1", label="Approve").status == 200
    assert aws.wait_held("DeleteLoginProfile")
    runner = fleet.serving(fleet.balancer.answered_by[-1])  # the replica the click reached
    assert metric(runner, "iambot_jobs_running") >= 1

    fleet.retire(runner, crash=True)  # kill -9 with the call in flight
    aws.release("DeleteLoginProfile")  # it reaches IAM with nobody waiting for the answer
    _done(fleet, plan)

    (survivor,) = fleet.live()
    assert metric(survivor, "iambot_lease_takeovers_total") == 1
    assert not user_exists(iam, "leaver")
    assert aws.count("DeleteUser", ok_only=False) == 1
    assert _repeated(succeeded_changes(aws, since, service="iam")) == []


# --- the schedule and restarts -------------------------------------------------------------


def test_the_scheduled_audit_posts_once_per_period_with_two_replicas(fleet_of) -> None:
    """Every replica looks at the schedule several times per LEASE_S; each period's audit is
    posted by one of them. Counted from late in one period (its audit is out) to early in a
    later one, after both replicas had two more looks at it."""
    fleet = fleet_of(CONFIG + f"audit: {{schedule: '{EVERY_10_S}'}}\n")

    def audits() -> int:
        return sum("IAM audit" in flatten(m) for m in fleet.slack.messages("C0AUDIT"))

    def period_when(seconds: Callable[[int], bool]) -> datetime:
        """Wait for a moment whose second (of the 10 s period) passes ``seconds``; its period."""
        while not seconds((now := datetime.now().astimezone()).second % 10):
            time.sleep(0.05)
        return croniter(EVERY_10_S, now).get_prev(datetime)

    time.sleep(LOOKED)  # both replicas looked at the schedule
    first = period_when(lambda s: s >= 7)
    before = audits()
    time.sleep(3)
    period_when(lambda s: s >= 7)  # a whole period later
    last = period_when(lambda s: 1 <= s < 3)
    time.sleep(LOOKED)  # still in the last period, both replicas looked again
    fleet.idle()

    assert before >= 1
    assert audits() - before == (last - first).seconds // 10


def test_a_rolling_restart_repeats_nothing(fleet: Fleet, iam, aws) -> None:
    make_full_user(iam)
    plan = _offboarding(fleet)
    since = len(aws.calls())
    aws.hold("DeleteLoginProfile")
    assert fleet.sender.press(plan, user_id="U0SEC1", label="Approve").status == 200
    assert aws.wait_held("DeleteLoginProfile")
    runner = fleet.serving(fleet.balancer.answered_by[-1])
    old = list(fleet.replicas)

    fleet.start()  # the new replica comes up while the old one is mid-run
    time.sleep(2 * LEASE_S)  # two leases long: only a heartbeat keeps the run where it is
    aws.release("DeleteLoginProfile")
    _done(fleet, plan)
    fleet.retire(runner)
    fleet.start()
    fleet.retire(next(r for r in old if r is not runner))

    first_run = succeeded_changes(aws, since, service="iam")
    make_full_user(iam, "leaver2")  # the new replicas take the next request
    since = len(aws.calls())
    assert fleet.sender.command("offboard leaver2 left too").status == 200
    second = fleet.slack.wait_for(lambda: _titled(fleet.slack, "leaver2"))[0]
    assert fleet.sender.press(second, user_id="U0SEC2", label="Approve").status == 200
    _done(fleet, second)
    fleet.idle()

    assert aws.count("DeleteLoginProfile", ok_only=False) == 2  # one per user
    assert aws.count("DeleteUser", ok_only=False) == 2
    assert _repeated(first_run) == []
    assert _repeated(succeeded_changes(aws, since, service="iam")) == []
    assert [metric(r, "iambot_lease_takeovers_total") for r in fleet.live()] == [0, 0]
    assert not user_exists(iam, "leaver") and not user_exists(iam, "leaver2")
