"""A run taken over while one of its AWS calls is being retried sends no further attempt: the
replica that took it is then the only one acting in AWS, not just the only one starting steps."""

from __future__ import annotations

import time
from dataclasses import replace

from bot.access.leases import Lease
from bot.access.store import Record
from tests.fixtures.aws import make_full_user
from tests.fixtures.slack import Bot, flatten, posted

ELSEWHERE = "0123abcd@another-machine/pid:[4026531836]/4242"  # a live replica elsewhere
STEP = "DeleteLoginProfile"  # an offboarding step of the first wave


def _take_over(bot: Bot) -> Record:
    """What another replica's claim does: the running request's lease is now its own, for an
    hour (compare-and-set, as the runner's renewals race it)."""
    while True:
        (running,) = bot.store.list_by_state("request", ["running"])
        lease = Lease(ELSEWHERE, time.time() + 3600).to_dict()
        taken = replace(running, data={**running.data, "lease": lease})
        if bot.store.put_if_version(taken):
            return running


def test_a_call_being_retried_stops_once_another_replica_took_the_run(
    make_bot, iam, aws, log_output
) -> None:
    make_full_user(iam)
    bot = make_bot(lease_seconds=2)  # renewed every half second
    bot.command("offboard leaver left the company", user="U0ALICE")
    plan = posted(bot, "Offboard")
    aws.fail(STEP)  # its first attempt fails, so botocore would try again
    aws.hold(STEP)
    assert bot.sender.press(plan, user_id="U0SEC1", label="Approve").status == 200
    assert aws.wait_held(STEP)

    request = _take_over(bot)
    print("JOURNAL", [(e.step, e.event) for e in bot.store.journal(request.id)])
    bot.slack.wait_for(lambda: "lost the lease on running work" in log_output.getvalue())
    aws.release(STEP)  # the failed answer arrives; the retry is where the loss is seen
    bot.slack.wait_for(lambda: "another replica took its run over" in log_output.getvalue())
    bot.settle()
    print("JOURNAL2", [(e.step, e.event) for e in bot.store.journal(request.id)])

    assert aws.count(STEP, ok_only=False) == 1  # no retry reached AWS
    assert iam.get_login_profile(UserName="leaver")  # the new holder removes it, not this one
    login = [
        e.event for e in bot.store.journal(request.id) if e.step == "delete_login_profile:leaver"
    ]
    assert login == ["start"]  # neither done nor failed here: the new holder resumes it
    assert "Failed" not in flatten(next(m for m in bot.channel() if m.ts == plan.ts))
