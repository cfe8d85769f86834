"""The pending queries as plain data, without Slack: what waits on an approver, what a
requester opened that is not over, and the latest requests each may see."""

from __future__ import annotations

from bot.access.approvals import Request
from bot.ops import offboard, pending


def _ids(found: list[Request]) -> list[str]:
    return [r.id for r in found]


def test_a_request_waits_on_who_may_approve_it_and_is_listed_as_its_requesters(direct, iam) -> None:
    world = direct()
    iam.create_user(UserName="dave")
    opened = offboard.open_request(
        world.ops, "dave", "left", disable=False, requester="U0ALICE", channel="C0OPS"
    )

    assert _ids(pending.waiting_on(world.ops, "U0SEC1")) == [opened.id]
    assert _ids(pending.waiting_on(world.ops, "U0ALICE")) == []  # never one's own
    assert _ids(pending.waiting_on(world.ops, "U0BOB")) == []  # no `approve`
    assert _ids(pending.opened_by(world.ops, "U0ALICE")) == [opened.id]
    assert _ids(pending.opened_by(world.ops, "U0SEC1")) == []
    assert _ids(pending.latest_for(world.ops.services, "U0BOB", 10)) == [opened.id]  # offboard
    assert _ids(pending.latest_for(world.ops.services, "U0NOBODY", 10)) == []

    world.approve_and_run(opened)
    assert _ids(pending.waiting_on(world.ops, "U0SEC1")) == []
    assert _ids(pending.opened_by(world.ops, "U0ALICE")) == []
