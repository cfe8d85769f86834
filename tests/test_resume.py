"""A crash mid-run loses nothing and repeats nothing: kill -9 the bot, start it again, it resumes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from sandbox.slack_requests import SlackSender
from tests.conftest import CONFIG, flatten
from tests.test_offboard import make_full_user

SECRET = "resume-test-signing-secret"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(port: int, env: dict[str, str]) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-m", "bot", "serve", "--port", str(port)], env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as answer:
                if answer.status == 200:
                    return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError("iam-bot serve did not come up")


def test_killed_mid_run_resumes_on_restart(aws, slack, iam, tmp_path: Path) -> None:
    config = tmp_path / "iam-bot.yml"
    config.write_text(CONFIG)
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": slack.api_url,
        "IAM_BOT_CONFIG": str(config),
        "IAM_BOT_STATE": f"sqlite:///{tmp_path}/state.sqlite3",
        "IAM_BOT_LEASE_SECONDS": "2",  # the dead runner's lease runs out soon after the restart
    }
    port = _free_port()
    make_full_user(iam)
    arranged = len(aws.calls())
    first = _serve(port, env)
    try:
        sender = SlackSender(f"http://127.0.0.1:{port}/slack/events", SECRET, slack)
        assert sender.command("offboard leaver contract ended", user_id="U0ALICE").status == 200
        plan = slack.wait_for(lambda: [m for m in slack.messages("C0OPS") if m.blocks])[0]
        aws.hold("DeleteAccessKey")  # the run will stop inside its first wave
        assert sender.press(plan, user_id="U0SEC1", label="Approve").status == 200
        slack.wait_for(lambda: aws.calls("DeleteLoginProfile"))
        time.sleep(0.5)  # let the other steps of the wave finish while the key deletions hang
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    aws.release("DeleteAccessKey")  # the held deletions now reach AWS with nobody listening
    assert iam.get_user(UserName="leaver")  # the crash left the user half-removed

    def shown() -> str:
        return flatten(next(m for m in slack.messages("C0OPS") if m.ts == plan.ts))

    second = _serve(port, env)
    try:
        audit = slack.wait_for(
            lambda: (
                "\n".join(flatten(m) for m in slack.messages("C0AUDIT"))
                if any("done:" in flatten(m) for m in slack.messages("C0AUDIT"))
                else ""
            ),
            timeout=30,
        )
        slack.wait_for(lambda: "Done." in shown())  # the message is its own delivery
    finally:
        second.terminate()
        second.wait(10)
    try:
        iam.get_user(UserName="leaver")
        raise AssertionError("the user should be gone")
    except iam.exceptions.NoSuchEntityException:
        pass
    succeeded = [
        (c.action, tuple(sorted(c.params.items())))
        for c in aws.calls()[arranged:]
        if c.status < 300 and c.action.startswith(("Delete", "Detach", "Remove", "Deactivate"))
    ]
    assert len(succeeded) == len(set(succeeded)), "a change succeeded twice"
    assert aws.count("DeleteUser") == 1
    assert "interrupted by a restart; resuming" in audit
    assert "Done." in shown()
