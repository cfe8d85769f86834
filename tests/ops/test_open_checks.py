"""A request is checked where it opens (``Ops.ask``), whoever calls the workflow: the channel
rule, the requester's permission and the target's protection, the same check the runner makes
again right before acting. A refused request leaves nothing behind: no record, no message."""

from __future__ import annotations

import pytest

from bot.access.approvals import State
from bot.access.rules import Denied
from bot.ops import grant, rotate
from tests.fixtures.slack import CONFIG

GRANTS = CONFIG.replace("permissions:\n", "permissions:\n  grant: [S0ONCALL]\n").replace(
    "protected_users: [break-glass-admin]", "protected_users: [break-glass-admin, tag:protected]"
)


def _nothing_opened(world) -> None:
    assert world.notifier.shown == []
    assert world.ops.services.approvals.latest(10) == []


def test_a_requester_without_the_permission_is_refused_where_the_request_opens(direct, iam) -> None:
    world = direct()
    iam.create_user(UserName="dave")
    iam.create_access_key(UserName="dave")

    with pytest.raises(Denied, match="does not hold the `rotate` permission"):
        rotate.open_request(world.ops, "dave", None, requester="U0CAROL", channel="C0OPS")

    _nothing_opened(world)


def test_a_request_is_refused_outside_the_channels_iam_works_in(direct, iam) -> None:
    world = direct(GRANTS + "channels: [C0IAM]\n")
    iam.create_user(UserName="dave")
    iam.create_group(GroupName="deployers")

    with pytest.raises(Denied) as refused:
        grant.open_request(
            world.ops, "dave", "deployers", 60, "deploy", requester="U0ALICE", channel="C0OPS"
        )

    assert refused.value.channels == ("C0IAM",)
    _nothing_opened(world)
    opened = grant.open_request(
        world.ops, "dave", "deployers", 60, "deploy", requester="U0ALICE", channel="C0IAM"
    )
    assert opened.channel == "C0IAM" and world.notifier.shown == [opened.id]


def test_a_protected_user_is_refused_where_the_request_opens(direct, iam) -> None:
    world = direct(GRANTS)
    iam.create_user(UserName="break-glass-admin")
    iam.create_group(GroupName="deployers")

    with pytest.raises(Denied, match="`break-glass-admin` is a protected user"):
        grant.open_request(
            world.ops,
            "break-glass-admin",
            "deployers",
            60,
            "deploy",
            requester="U0ALICE",
            channel="C0OPS",
        )

    _nothing_opened(world)


def test_a_protected_user_with_two_keys_is_refused_before_any_key_is_offered(direct, iam) -> None:
    world = direct()
    iam.create_user(UserName="break-glass-admin")
    iam.create_access_key(UserName="break-glass-admin")
    iam.create_access_key(UserName="break-glass-admin")

    with pytest.raises(Denied, match="is a protected user"):
        rotate.open_request(
            world.ops, "break-glass-admin", None, requester="U0ALICE", channel="C0OPS"
        )

    _nothing_opened(world)


def test_what_opening_checks_is_checked_again_before_the_run(direct, iam) -> None:
    world = direct(GRANTS)
    iam.create_user(UserName="dave")
    iam.create_group(GroupName="deployers")
    opened = grant.open_request(
        world.ops, "dave", "deployers", 60, "deploy", requester="U0ALICE", channel="C0OPS"
    )
    iam.tag_user(UserName="dave", Tags=[{"Key": "protected", "Value": "true"}])

    assert world.ops.still_allowed(opened) == (
        "`dave` is a protected user: no /iam command changes it."
    )
    done = world.approve_and_run(opened)

    assert done.state is State.FAILED
    assert done.outcome["summary"] == (
        "Not run: `dave` is a protected user: no /iam command changes it."
    )
    assert iam.get_group(GroupName="deployers")["Users"] == []
