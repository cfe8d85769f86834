"""`iam-bot serve --socket` stopped as an orchestrator stops it (SIGTERM): the socket is closed
at once, readiness on the side port says "stopping" while the command in flight finishes, then
the process exits 0."""

from __future__ import annotations

import json
from pathlib import Path

from sandbox.aws import FaithfulAws
from sandbox.slack_api import FakeSlack
from tests.fixtures.aws import user_with_key
from tests.fixtures.slack import flatten
from tests.fixtures.socket_mode import socket_bot_process

HELD = "ListAccessKeys"  # the AWS call behind `/iam keys`


def test_sigterm_closes_the_socket_and_lets_the_command_in_flight_finish(
    aws: FaithfulAws, slack: FakeSlack, iam, tmp_path: Path
) -> None:
    key_id = user_with_key(iam)
    with socket_bot_process(aws, slack, tmp_path) as bot:
        peer, process = bot.peer, bot.process
        try:
            peer.wait_for(lambda: peer.connected() == 1, timeout=30)
            aws.hold(HELD)
            envelope_id, key = peer.command(slack, "keys dave", user_id="U0ALICE")
            peer.wait_for(lambda: peer.ack(envelope_id))
            assert aws.wait_held(HELD)

            process.terminate()
            peer.wait_for(lambda: peer.connected() == 0)
            readiness = bot.get("/readyz")
            liveness = bot.get("/healthz")[0]
            aws.release(HELD)
            code = process.wait(30)
        finally:
            aws.release(HELD)

    assert code == 0, bot.log.read_text()
    assert (readiness[0], json.loads(readiness[1])) == (
        503,
        {"ready": False, "failed": {"bot": "stopping"}},
    )
    assert liveness == 200
    answer = [m for m in slack.messages() if m.response_key == key]
    assert key_id in "\n".join(flatten(m) for m in answer)
    assert "1 job(s) in flight finished" in bot.log.read_text()
