"""`iam-bot serve --socket` as an operator runs it, against Slack's Socket Mode end
(sandbox/slack_socket.py): the bot opens its WebSocket with the URL ``apps.connections.open``
gives, acks each envelope over it, answers at the response_url, and says on its side port
whether it is ready, the socket included."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from sandbox.aws import FaithfulAws
from sandbox.process import free_port
from sandbox.slack_api import FakeSlack
from sandbox.slack_socket import SocketModePeer
from tests.fixtures.aws import user_with_key
from tests.fixtures.project import ROOT
from tests.fixtures.slack import CONFIG, flatten

# slack_sdk's client checks its connection, and reconnects, every ``ping_interval`` (Bolt's
# handler: 10 s); a reconnect is seen within two of them.
RECONNECT_S = 25


@dataclass
class SocketBot:
    """The process, the port of its operators' endpoints, and Slack's side of its socket."""

    process: subprocess.Popen[bytes]
    health: str
    peer: SocketModePeer
    log: Path

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(f"{self.health}{path}", timeout=10) as answer:
                return answer.status, answer.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def ready_becomes(self, status: int, timeout: float = RECONNECT_S) -> str:
        """Poll /readyz until it answers ``status``; its body."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()
            try:
                got, body = self.get("/readyz")
            except OSError:  # the side port is not listening yet
                got, body = 0, ""
            if got == status:
                return body
            time.sleep(0.2)
        raise AssertionError(
            f"/readyz never answered {status}; the bot's log:\n{self.log.read_text()}"
        )

    def metric(self, name: str, **labels: str) -> float:
        families = text_string_to_metric_families(self.get("/metrics")[1])
        return sum(
            s.value
            for f in families
            for s in f.samples
            if s.name == name and labels.items() <= s.labels.items()
        )


@pytest.fixture
def socket_bot(aws: FaithfulAws, slack: FakeSlack, tmp_path: Path) -> Iterator[SocketBot]:
    config = tmp_path / "iam-bot.yml"
    config.write_text(CONFIG)
    health = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "IAM_BOT_"))},
        "SLACK_BOT_TOKEN": "xoxb-1-2-socket",
        "SLACK_APP_TOKEN": "xapp-1-A0IAMBOT-3-socket",
        "SLACK_API_URL": slack.api_url,
        "AWS_ENDPOINT_URL": aws.endpoint_url,
        "IAM_BOT_CONFIG": str(config),
        "IAM_BOT_STATE": f"sqlite:///{tmp_path}/state.db",
    }
    log = tmp_path / "bot.log"
    with SocketModePeer() as peer, log.open("wb") as out:
        slack.use_socket_mode(peer.open_url)
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve", "--socket", "--health-port", str(health)],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            yield SocketBot(process, f"http://127.0.0.1:{health}", peer, log)
        finally:
            process.kill()
            process.wait(10)


def _answered(bot: SocketBot, slack: FakeSlack, text: str, user: str = "U0ALICE") -> str:
    """Send ``/iam <text>`` over the socket; its ack must come back over it, and the answer
    at its response_url: all of that answer's text."""
    envelope_id, key = bot.peer.command(slack, text, user_id=user)
    ack = bot.peer.wait_for(lambda: bot.peer.ack(envelope_id))
    assert ack["envelope_id"] == envelope_id
    shown = slack.wait_for(lambda: [m for m in slack.messages() if m.response_key == key])
    return "\n".join(flatten(m) for m in shown)


def test_a_command_over_the_socket_and_readiness_following_the_socket(
    socket_bot: SocketBot, slack: FakeSlack, iam
) -> None:
    key_id = user_with_key(iam)
    bot = socket_bot
    assert json.loads(bot.ready_becomes(200)) == {"ready": True}
    assert bot.peer.connected() == 1
    assert [c.method for c in slack.calls("apps.connections.open")] == ["apps.connections.open"]

    assert key_id in _answered(bot, slack, "keys dave")
    assert bot.metric("iambot_commands_total", subcommand="keys", outcome="ok") == 1

    bot.peer.refuse()
    bot.peer.drop()  # the client tries to reconnect at once, and is refused
    down = json.loads(bot.ready_becomes(503))
    assert list(down["failed"]) == ["socket"], down
    assert bot.get("/healthz")[0] == 200  # alive all the same

    bot.peer.accept()
    assert json.loads(bot.ready_becomes(200)) == {"ready": True}
    assert bot.peer.connected() == 1
    assert key_id in _answered(bot, slack, "keys dave")
    assert bot.metric("iambot_commands_total", subcommand="keys", outcome="ok") == 2
    assert bot.metric("iambot_ack_seconds_count") == 2  # each command's ack over the socket


def test_a_disconnect_warning_moves_the_bot_to_a_new_connection(
    socket_bot: SocketBot, slack: FakeSlack, iam
) -> None:
    key_id = user_with_key(iam)
    bot = socket_bot
    bot.ready_becomes(200)

    bot.peer.disconnect()  # Slack is about to refresh this connection
    bot.peer.wait_for(lambda: bot.peer.connections() == 2 and bot.peer.connected() == 1)

    assert key_id in _answered(bot, slack, "keys dave")  # over the new connection
    assert len(slack.calls("apps.connections.open")) == 2  # a fresh URL for it
    assert bot.ready_becomes(200)
