"""An approved offboarding reads the user once, with the documents of the inline policies its
plan names, and removes only what DeleteUser waits for: three round trips in all."""

from __future__ import annotations

import threading

from tests.fixtures.aws import make_full_user, user_exists
from tests.fixtures.slack import Bot, current, flatten, open_request


def test_the_run_reads_the_user_once_and_leaves_the_boundary_to_delete_user(
    bot: Bot, iam, aws
) -> None:
    make_full_user(iam)  # a permissions boundary among what it has
    plan = open_request(bot)
    approved = len(aws.calls())

    bot.press(plan, "Approve", user="U0SEC1")

    run = [c.action for c in aws.calls()[approved:]]
    assert not user_exists(iam, "leaver")
    assert "Done." in flatten(current(bot, plan))
    assert run.count("GetUser") == 1  # the protection is judged on the inventory's read
    assert "DeleteUserPermissionsBoundary" not in run
    assert run.count("GetUserPolicy") == 1


def test_planned_inline_documents_are_read_with_the_lists(bot: Bot, iam, aws) -> None:
    make_full_user(iam)
    plan = open_request(bot)
    read = aws.count("GetUserPolicy")  # the plan's own reading
    aws.hold("ListUserPolicies")
    pressed = threading.Thread(target=bot.sender.press, args=(plan,), kwargs={
        "user_id": "U0SEC1", "label": "Approve"
    })  # fmt: skip
    pressed.start()
    try:
        assert aws.wait_held("ListUserPolicies")
        # The plan's inline policy is read while the list that names it is still out.
        assert bot.slack.wait_for(lambda: aws.count("GetUserPolicy") == read + 1, timeout=5)
    finally:
        aws.release("ListUserPolicies")
        pressed.join()
    bot.settle()
    assert not user_exists(iam, "leaver")
    assert "Done." in flatten(current(bot, plan))
