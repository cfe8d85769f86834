"""`iam-bot serve --socket` stopped as an orchestrator stops it (SIGTERM): the socket is closed
at once, readiness on the side port says "stopping" while the command in flight finishes, then
the process exits 0."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

from sandbox.aws import FaithfulAws
from sandbox.process import free_port
from sandbox.slack_api import FakeSlack
from sandbox.slack_socket import SocketModePeer
from tests.fixtures.aws import user_with_key
from tests.fixtures.project import ROOT
from tests.fixtures.slack import CONFIG, flatten

HELD = "ListAccessKeys"  # the AWS call behind `/iam keys`


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_sigterm_closes_the_socket_and_lets_the_command_in_flight_finish(
    aws: FaithfulAws, slack: FakeSlack, iam, tmp_path: Path
) -> None:
    key_id = user_with_key(iam)
    config = tmp_path / "iam-bot.yml"
    config.write_text(CONFIG)
    health = f"http://127.0.0.1:{(port := free_port())}"
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
            [sys.executable, "-m", "bot", "serve", "--socket", "--health-port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            peer.wait_for(lambda: peer.connected() == 1, timeout=30)
            aws.hold(HELD)
            envelope_id, key = peer.command(slack, "keys dave", user_id="U0ALICE")
            peer.wait_for(lambda: peer.ack(envelope_id))
            assert aws.wait_held(HELD)

            process.terminate()
            peer.wait_for(lambda: peer.connected() == 0)
            readiness = _get(f"{health}/readyz")
            liveness = _get(f"{health}/healthz")[0]
            aws.release(HELD)
            code = process.wait(30)
        finally:
            aws.release(HELD)
            process.kill()
            process.wait(10)

    assert code == 0, log.read_text()
    assert (readiness[0], json.loads(readiness[1])) == (
        503,
        {"ready": False, "failed": {"bot": "stopping"}},
    )
    assert liveness == 200
    answer = [m for m in slack.messages() if m.response_key == key]
    assert key_id in "\n".join(flatten(m) for m in answer)
    assert "1 job(s) in flight finished" in log.read_text()
