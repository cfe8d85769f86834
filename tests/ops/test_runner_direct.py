"""The runner's look for approved runs nobody started: the replica that took the approval
starts its run at once; another look starts it only when that did not happen by the next one
(the replica died between the approval and the start)."""

from __future__ import annotations

from bot.access.approvals import State
from bot.ops import offboard
from tests.fixtures.aws import user_exists


def _approved(world, iam) -> str:
    """dave's offboarding, approved by U0SEC1 and not started (its replica died there)."""
    iam.create_user(UserName="dave")
    opened = offboard.open_request(
        world.ops, "dave", "left", disable=False, requester="U0ALICE", channel="C0OPS"
    )
    assert world.ops.services.approvals.approve(opened.id, "U0SEC1").now is State.APPROVED
    return opened.id


def test_an_approved_run_nobody_started_starts_at_the_second_look(direct, iam) -> None:
    world = direct()
    request_id = _approved(world, iam)
    approvals = world.ops.services.approvals

    world.runner.recover()
    assert approvals.get(request_id).state is State.APPROVED  # the approver's job may yet
    assert user_exists(iam, "dave")

    world.runner.recover()
    done = approvals.get(request_id)
    assert done.state is State.DONE
    assert not user_exists(iam, "dave")
    assert [(d.who, d.verdict) for d in done.decisions][-1] == ("iam-bot", "resume")


def test_a_run_its_approver_started_between_two_looks_is_run_once_as_the_approver(
    direct, iam
) -> None:
    world = direct()
    request_id = _approved(world, iam)
    approvals = world.ops.services.approvals

    world.runner.recover()
    world.runner.run(request_id, "U0SEC1", "approve")  # the approving replica's job
    world.runner.recover()

    done = approvals.get(request_id)
    assert done.state is State.DONE and not user_exists(iam, "dave")
    assert [d.who for d in done.decisions].count("iam-bot") == 0
    assert world.aws.count("DeleteUser") == 1
