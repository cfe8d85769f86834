"""`iam-bot serve --socket` as an operator runs it, against Slack's Socket Mode end
(sandbox/slack_socket.py): the bot opens its WebSocket with the URL ``apps.connections.open``
gives, acks each envelope over it, answers at the response_url, and says on its side port
whether it is ready, the socket included."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.aws import FaithfulAws
from sandbox.slack_api import FakeSlack
from tests.fixtures.aws import user_with_key
from tests.fixtures.slack import flatten
from tests.fixtures.socket_mode import SocketBot, socket_bot_process


@pytest.fixture
def socket_bot(aws: FaithfulAws, slack: FakeSlack, tmp_path: Path) -> Iterator[SocketBot]:
    with socket_bot_process(aws, slack, tmp_path) as bot:
        yield bot


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
    # the count follows the answer: wait for it, never for a clock
    slack.wait_for(
        lambda: bot.metric("iambot_commands_total", subcommand="keys", outcome="ok") == 1
    )

    bot.peer.refuse()
    bot.peer.drop()  # the client tries to reconnect at once, and is refused
    down = json.loads(bot.ready_becomes(503))
    assert list(down["failed"]) == ["socket"], down
    assert bot.get("/healthz")[0] == 200  # alive all the same

    bot.peer.accept()
    assert json.loads(bot.ready_becomes(200)) == {"ready": True}
    assert bot.peer.connected() == 1
    assert key_id in _answered(bot, slack, "keys dave")
    slack.wait_for(
        lambda: bot.metric("iambot_commands_total", subcommand="keys", outcome="ok") == 2
    )
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
