"""`/iam offboard` end to end: plan, approval rules, exactly-once execution, failures and resume."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from tests.fixtures.aws import changes_since, make_full_user, succeeded_changes, user_exists
from tests.fixtures.slack import Bot, audit_log, current, flatten, open_request, retry_if_failed


def test_full_removal_after_approval(bot: Bot, iam, aws) -> None:
    made = make_full_user(iam)
    arranged = len(aws.calls())
    plan = open_request(bot)
    text = flatten(plan)
    for item in [
        *made.keys,
        made.mfa_serial,
        *made.inline_policies,
        *made.managed_policies,
        *made.groups,
        "codecommit",
    ]:
        assert item in text, item
    assert "*Requested by* <@U0ALICE>" in text and "left the company" in text
    assert user_exists(iam, "leaver")  # nothing changes before approval
    assert changes_since(aws, arranged) == []

    bot.press(plan, "Approve", user="U0SEC1")

    assert not user_exists(iam, "leaver")
    for group in made.groups:
        assert iam.get_group(GroupName=group)["Group"]["GroupName"] == group
    for arn in made.managed_policies:
        assert iam.get_policy(PolicyArn=arn)["Policy"]["Arn"] == arn
    assert iam.list_virtual_mfa_devices()["VirtualMFADevices"] == []
    done = flatten(current(bot, plan))
    assert "Done." in done and "leaver removed" in done
    assert aws.count("DeleteUser") == 1
    audit = audit_log(bot)
    assert (
        "requested by <@U0ALICE>" in audit and "approved by <@U0SEC1>" in audit and "done:" in audit
    )

    history = bot.said(bot.command("history leaver"))
    assert "Snapshot: console password, 2 access keys, 2 groups, 1 inline policy" in history
    assert "groups: leaver-group-0, leaver-group-1" in history


def test_requester_and_outsiders_cannot_approve(bot: Bot, iam) -> None:
    make_full_user(iam)
    plan = open_request(bot, user="U0SEC1")  # an approver asking
    said = bot.said(bot.press(plan, "Approve", user="U0SEC1"))
    assert "your approval does not count" in said
    said = bot.said(bot.press(plan, "Approve", user="U0BOB"))
    assert "You need the `approve` permission" in said
    assert user_exists(iam, "leaver")


def test_deny_asks_for_a_reason_and_stops_it(bot: Bot, iam) -> None:
    make_full_user(iam)
    plan = open_request(bot)
    bot.press(plan, "Deny", user="U0SEC2")
    view = bot.slack.calls("views.open")[-1].args["view"]
    reply = bot.sender.submit_view(
        view,
        user_id="U0SEC2",
        values={"reason": {"reason": {"type": "plain_text_input", "value": "  "}}},
    )
    assert "A denial needs a reason" in reply.body
    bot.sender.submit_view(
        view,
        user_id="U0SEC2",
        values={"reason": {"reason": {"type": "plain_text_input", "value": "wait for HR"}}},
    )
    bot.settle()
    text = flatten(current(bot, plan))
    assert "Denied by <@U0SEC2>" in text and "wait for HR" in text
    assert "Approve" not in [b.get("text", {}).get("text") for b in _buttons(current(bot, plan))]
    assert "Already denied by <@U0SEC2>" in bot.said(bot.press(plan, "Approve", user="U0SEC1"))
    assert user_exists(iam, "leaver")


def _buttons(message) -> list[dict]:
    return [e for b in message.blocks or [] if b.get("type") == "actions" for e in b["elements"]]


def test_requester_can_cancel(bot: Bot, iam) -> None:
    make_full_user(iam)
    plan = open_request(bot)
    assert "Only the requester" in bot.said(bot.press(plan, "Cancel", user="U0SEC1"))
    bot.press(plan, "Cancel", user="U0ALICE")
    assert "Cancelled by the requester" in flatten(current(bot, plan))
    assert user_exists(iam, "leaver")


def test_expired_request_refuses_clicks(make_bot, iam) -> None:
    now = [datetime.now(UTC)]
    bot = make_bot(clock=lambda: now[0])
    make_full_user(iam)
    plan = open_request(bot)
    now[0] += timedelta(minutes=61)
    assert "This request has expired" in bot.said(bot.press(plan, "Approve", user="U0SEC1"))
    assert user_exists(iam, "leaver")


def test_concurrent_approvals_execute_once(bot: Bot, iam, aws) -> None:
    make_full_user(iam)
    plan = open_request(bot)
    barrier = threading.Barrier(4)

    def click(user: str) -> None:
        barrier.wait()
        bot.sender.press(plan, user_id=user, label="Approve")

    threads = [
        threading.Thread(target=click, args=(u,)) for u in ("U0SEC1", "U0SEC2", "U0SEC1", "U0SEC2")
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    bot.settle()
    assert not user_exists(iam, "leaver")
    assert aws.count("DeleteUser", ok_only=False) == 1
    assert aws.count("DeleteAccessKey", ok_only=False) == 2


def test_new_key_after_request_needs_reapproval(bot: Bot, iam, aws) -> None:
    make_full_user(iam, "leaver")
    iam.delete_access_key(
        UserName="leaver",
        AccessKeyId=iam.list_access_keys(UserName="leaver")["AccessKeyMetadata"][0]["AccessKeyId"],
    )
    plan = open_request(bot)
    sneaky = iam.create_access_key(UserName="leaver")["AccessKey"]["AccessKeyId"]
    arranged = len(aws.calls())
    bot.press(plan, "Approve", user="U0SEC1")
    text = flatten(current(bot, plan))
    assert "Changed since approval, so nothing was done" in text and sneaky in text
    assert user_exists(iam, "leaver")
    assert changes_since(aws, arranged) == []
    bot.press(current(bot, plan), "Approve", user="U0SEC2")
    assert not user_exists(iam, "leaver")


@pytest.mark.parametrize("k", range(1, 17))
def test_fail_kth_change_then_retry(bot: Bot, iam, aws, k: int) -> None:
    """Fail the k-th change, for every k in the plan; Retry finishes and nothing succeeds twice."""
    make_full_user(iam)
    arranged = len(aws.calls())
    plan = open_request(bot)
    aws.fail(mutating_only=True, nth=k, code="ServiceFailure", status=500, times=5)
    bot.press(plan, "Approve", user="U0SEC1")
    # The failed change may be the last (the MFA device's deletion, beside DeleteUser): the run
    # then failed with the user already gone, and Retry is still what finishes it.
    retry_if_failed(bot, plan)
    assert not user_exists(iam, "leaver")
    assert iam.list_virtual_mfa_devices()["VirtualMFADevices"] == []
    succeeded = succeeded_changes(aws, arranged)
    assert len(succeeded) == len(set(succeeded))
    assert "Done." in flatten(current(bot, plan))


def test_disable_is_reversible_first_stage(bot: Bot, iam) -> None:
    made = make_full_user(iam)
    plan = open_request(bot, "offboard leaver on leave --disable")
    assert "Disable IAM user leaver" in flatten(plan)
    bot.press(plan, "Approve", user="U0SEC1")
    assert user_exists(iam, "leaver")
    statuses = {k["Status"] for k in iam.list_access_keys(UserName="leaver")["AccessKeyMetadata"]}
    assert statuses == {"Inactive"}
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.get_login_profile(UserName="leaver")
    assert iam.list_mfa_devices(UserName="leaver")["MFADevices"] == []
    tags = {t["Key"] for t in iam.list_user_tags(UserName="leaver")["Tags"]}
    assert "iam-bot:disabled" in tags
    # Later, the full offboarding still works.
    bot.slack.clear()
    full = open_request(bot)
    bot.press(full, "Approve", user="U0SEC2")
    assert not user_exists(iam, "leaver")
    assert made.keys[0] in flatten(full)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("offboard leaver", "a reason is required"),
        ("offboard ghost gone", "No IAM user named `ghost`"),
        ("offboard break-glass-admin cleanup", "protected user"),
        ("offboard bad/name reason", "not valid"),
    ],
)
def test_refusals_change_nothing(bot: Bot, iam, aws, text: str, words: str) -> None:
    iam.create_user(UserName="break-glass-admin")
    iam.create_user(UserName="leaver")
    arranged = len(aws.calls())
    reply = bot.command(text)
    assert words in bot.said(reply)
    assert bot.channel() == []
    assert changes_since(aws, arranged) == []


def test_offboard_needs_the_permission(bot: Bot, iam) -> None:
    iam.create_user(UserName="leaver")
    assert "You need the `offboard` permission" in bot.said(
        bot.command("offboard leaver bye", user="U0CAROL")
    )
