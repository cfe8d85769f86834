"""A replica stopped as an orchestrator stops it (SIGTERM, in a rolling restart): real
``iam-bot serve`` processes on one SQLite state file, AWS the faithful moto, Slack the fake.

The run in flight finishes in the stopping replica when it can within the drain; when it
cannot, its lease is released on the way out and another replica takes it over at its next look,
long before the lease would have run out.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sandbox.aws import FaithfulAws
from sandbox.process import BotProcess
from sandbox.slack_api import FakeSlack, Message
from sandbox.slack_requests import SlackSender
from tests.fixtures.aws import make_full_user, succeeded_changes, user_exists
from tests.fixtures.slack import CONFIG, flatten

SECRET = "graceful-stop-test-signing-secret"
# Long: a run left to its lease would wait this out. The replicas look every POLL_S, so a run
# handed over is taken at once, a run left to its lease not before LEASE_S.
LEASE_S = 120
POLL_S = 0.5
HELD = "DeleteLoginProfile"  # an offboarding step in the middle of the run


@pytest.fixture
def start(aws, slack, tmp_path) -> Iterator[Callable[..., BotProcess]]:
    """Replicas sharing one state file; each drains for ``drain_s`` seconds when stopped."""
    config = tmp_path / "config.yml"
    config.write_text(CONFIG)
    started: list[BotProcess] = []

    def make(drain_s: float) -> BotProcess:
        env = {
            "SLACK_BOT_TOKEN": "xoxb-graceful",
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": slack.api_url,
            "IAM_BOT_CONFIG": str(config),
            "IAM_BOT_STATE": f"sqlite:///{tmp_path / 'state.sqlite3'}",
            "IAM_BOT_LEASE_SECONDS": str(LEASE_S),
            "IAM_BOT_DRAIN_SECONDS": str(drain_s),
            "IAM_BOT_POLL_SECONDS": str(POLL_S),
        }
        replica = BotProcess(env, tmp_path / f"replica{len(started) + 1}.log")
        started.append(replica)
        return replica

    yield make
    aws.release(HELD)
    for replica in started:
        replica.kill()


def _sender(replica: BotProcess, slack: FakeSlack) -> SlackSender:
    return SlackSender(f"{replica.url}/slack/events", SECRET, slack)


def _approved_and_held(sender: SlackSender, slack: FakeSlack, aws: FaithfulAws) -> Message:
    """alice asks to offboard the leaver, a security engineer approves, and the run stops at
    ``HELD`` on its way to AWS; the request's message."""
    assert sender.command("offboard leaver left the company").status == 200
    plan = slack.wait_for(lambda: _titled(slack, "Offboard"))[0]
    aws.hold(HELD)
    assert sender.press(plan, user_id="U0SEC1", label="Approve").status == 200
    assert aws.wait_held(HELD)
    return plan


def _titled(slack: FakeSlack, words: str) -> list[Message]:
    return [m for m in slack.messages("C0OPS") if not m.ephemeral and words in flatten(m)]


def _now(slack: FakeSlack, message: Message) -> str:
    return flatten(next(m for m in slack.messages(message.channel) if m.ts == message.ts))


def _readyz(connection: http.client.HTTPConnection) -> tuple[int, dict]:
    connection.request("GET", "/readyz")
    answer = connection.getresponse()
    return answer.status, json.loads(answer.read())


def _log(replica: BotProcess) -> str:
    return Path(replica.log_path).read_text()


def test_a_run_that_finishes_within_the_drain_finishes_in_the_stopping_replica(
    start, iam, aws, slack
) -> None:
    make_full_user(iam)
    replica = start(drain_s=20)
    sender = _sender(replica, slack)
    plan = _approved_and_held(sender, slack, aws)
    balancer = http.client.HTTPConnection("127.0.0.1", replica.port, timeout=10)
    assert _readyz(balancer)[0] == 200  # a load balancer's kept-alive connection

    replica.terminate()
    slack.wait_for(lambda: "stopping" in _log(replica))
    readiness = _readyz(balancer)  # answered while draining: not ready, and why
    aws.release(HELD)

    assert replica.exit_code() == 0
    assert readiness == (503, {"ready": False, "failed": {"bot": "stopping"}})
    assert "Done." in _now(slack, plan)
    assert aws.count("DeleteUser", ok_only=False) == 1
    assert not user_exists(iam, "leaver")
    assert "handed over to another replica: nothing" in _log(replica)


def test_a_run_still_held_after_the_drain_is_handed_over_at_once(start, iam, aws, slack) -> None:
    make_full_user(iam)
    stopping, other = start(drain_s=1), start(drain_s=1)  # a rolling restart: both up
    since = len(aws.calls())
    plan = _approved_and_held(_sender(stopping, slack), slack, aws)

    stopping.terminate()
    assert stopping.exit_code() == 0
    aws.release(HELD)  # the held call reaches IAM with nobody waiting for its answer
    # The other replica looks every POLL_S; a lease left to run out would keep the run
    # where it was for LEASE_S.
    slack.wait_for(lambda: "Done." in _now(slack, plan), timeout=LEASE_S / 2)

    assert "handed over to another replica: request" in _log(stopping)
    assert "resuming request" in _log(other)
    assert aws.count("DeleteUser", ok_only=False) == 1
    assert not user_exists(iam, "leaver")
    changes = succeeded_changes(aws, since, service="iam")
    assert [c for n, c in enumerate(changes) if c in changes[:n]] == []  # nothing repeated
