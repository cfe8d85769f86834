"""A crash mid-run loses nothing and repeats nothing: kill -9 the bot, start it again, it resumes
within seconds with the default settings (a restart on the same machine sees that the process
holding the run is gone; a replica elsewhere waits for the lease: tests/access/test_leases.py)."""

from __future__ import annotations

import time
from pathlib import Path

from tests.fixtures.aws import make_full_user, succeeded_changes, user_exists
from tests.fixtures.served import served
from tests.fixtures.slack import CONFIG, flatten

DEFAULTS = {"IAM_BOT_LEASE_SECONDS": ""}  # the lease an operator gets without setting one


def test_killed_mid_run_resumes_within_seconds_of_a_restart_with_default_settings(
    aws, slack, iam, tmp_path: Path
) -> None:
    make_full_user(iam)
    arranged = len(aws.calls())
    with served(tmp_path, slack, CONFIG, **DEFAULTS) as sender:  # SIGKILL at the block's end
        assert sender.command("offboard leaver contract ended", user_id="U0ALICE").status == 200
        plan = slack.wait_for(lambda: [m for m in slack.messages("C0OPS") if m.blocks])[0]
        aws.hold("DeleteAccessKey")  # the run will stop inside its first wave
        assert sender.press(plan, user_id="U0SEC1", label="Approve").status == 200
        slack.wait_for(lambda: aws.calls("DeleteLoginProfile"))
        time.sleep(0.5)  # let the other steps of the wave finish while the key deletions hang
    aws.release("DeleteAccessKey")  # the held deletions now reach AWS with nobody listening
    assert iam.get_user(UserName="leaver")  # the crash left the user half-removed

    def shown() -> str:
        return flatten(next(m for m in slack.messages("C0OPS") if m.ts == plan.ts))

    with served(tmp_path, slack, CONFIG, **DEFAULTS):  # the same state; the dead run's lease holds
        restarted = time.monotonic()
        audit = slack.wait_for(
            lambda: (
                "\n".join(flatten(m) for m in slack.messages("C0AUDIT"))
                if any("done:" in flatten(m) for m in slack.messages("C0AUDIT"))
                else ""
            ),
            timeout=30,
        )
        slack.wait_for(lambda: "Done." in shown())  # the message is its own delivery
        assert time.monotonic() - restarted < 30
    assert not user_exists(iam, "leaver"), "the user should be gone"
    succeeded = succeeded_changes(aws, arranged)
    assert len(succeeded) == len(set(succeeded)), "a change succeeded twice"
    assert aws.count("DeleteUser") == 1
    assert "interrupted by a restart; resuming" in audit
    assert "Done." in shown()
