"""The two-person rule without holes: approvals bound to the plan they saw, protection and
permissions checked again right before acting, names compared as IAM compares them, the bot's
own user untouchable, and no replica taking over a run that is alive."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sandbox.seed import ssh_public_key
from tests.fixtures.aws import key_statuses, make_full_user, user_exists
from tests.fixtures.slack import CONFIG, Bot, audit_log, current, flatten, open_request, told

TWO_APPROVERS = CONFIG.replace("required: 1", "required: 2")


def test_a_changed_plan_starts_the_count_again(make_bot, iam) -> None:
    bot = make_bot(TWO_APPROVERS)
    make_full_user(iam)
    first = open_request(bot)
    bot.press(first, "Approve", user="U0SEC1")
    assert "1 more approval" in flatten(current(bot, first))
    # Something the approvers never saw:
    iam.upload_ssh_public_key(UserName="leaver", SSHPublicKeyBody=ssh_public_key())
    bot.press(current(bot, first), "Approve", user="U0SEC2")
    reopened = current(bot, first)
    text = flatten(reopened)
    assert "Changed since approval" in text and "2 more approvals" in text
    assert user_exists(iam, "leaver")
    # The old buttons carry the old plan: an approval from them counts for nothing.
    bot.press(first, "Approve", user="U0SEC2")
    assert "The plan changed after you saw it" in told(bot, "U0SEC2")
    assert "2 more approvals" in flatten(current(bot, first))
    # The first approver may approve the new plan; one approval alone does not run it.
    bot.press(reopened, "Approve", user="U0SEC1")
    assert "already approved" not in told(bot, "U0SEC1")
    assert "1 more approval" in flatten(current(bot, first))
    assert user_exists(iam, "leaver")
    bot.press(current(bot, first), "Approve", user="U0SEC2")
    assert not user_exists(iam, "leaver")
    assert "Done." in flatten(current(bot, first))


def test_protection_added_after_the_request_is_honoured(make_bot, iam) -> None:
    bot = make_bot(CONFIG.replace("[break-glass-admin]", '[break-glass-admin, "tag:protected"]'))
    make_full_user(iam)
    plan = open_request(bot)
    iam.tag_user(UserName="leaver", Tags=[{"Key": "protected", "Value": "yes"}])
    bot.press(plan, "Approve", user="U0SEC1")
    assert user_exists(iam, "leaver")
    assert iam.list_access_keys(UserName="leaver")["AccessKeyMetadata"]
    assert "is a protected user" in flatten(current(bot, plan))


@pytest.mark.parametrize(
    ("protected", "name", "tags"),
    [
        ("Break-Glass-Admin", "break-glass-admin", []),
        ("break-glass-admin", "BREAK-GLASS-ADMIN", []),
        ('"tag:protected=true"', "tagged", [{"Key": "protected", "Value": "True"}]),
        ('"tag:Protected=TRUE"', "tagged", [{"Key": "protected", "Value": "true"}]),
    ],
)
def test_protected_names_and_tags_compare_as_iam_does(
    make_bot, iam, aws, protected: str, name: str, tags
) -> None:
    bot = make_bot(CONFIG.replace("[break-glass-admin]", f"[{protected}]"))
    iam.create_user(UserName=name, Tags=tags)
    iam.create_access_key(UserName=name)
    reply = bot.command(f"offboard {name} left")
    assert "is a protected user" in bot.said(reply)
    assert bot.channel() == []
    assert user_exists(iam, name)


def test_the_bot_never_touches_its_own_user(bot: Bot, iam, aws) -> None:
    # The sandbox's credentials belong to IAM user "moto", as STS tells the bot.
    iam.create_user(UserName="moto")
    key = iam.create_access_key(UserName="moto")["AccessKey"]["AccessKeyId"]
    for text in (f"deactivate {key} leaked", "rotate moto", "offboard moto bye"):
        assert "is a protected user" in bot.said(bot.command(text)), text
    keys = iam.list_access_keys(UserName="moto")["AccessKeyMetadata"]
    assert [k["Status"] for k in keys] == ["Active"]
    assert bot.channel() == []


def test_the_channel_rule_applies_to_clicks(make_bot, iam) -> None:
    config = CONFIG + "channels: [C0OPS]\n"
    first = make_bot(config, state="shared.sqlite3")
    make_full_user(iam)
    plan = open_request(first)
    first.stop()
    moved = make_bot(CONFIG + "channels: [C0SEC]\n", state="shared.sqlite3")  # the rule changed
    moved.press(plan, "Approve", user="U0SEC1")
    assert "/iam works only in" in told(moved, "U0SEC1")
    assert user_exists(iam, "leaver")
    assert "Waiting" in flatten(current(moved, plan))


def test_an_approver_removed_from_the_group_cannot_approve(bot: Bot, iam) -> None:
    make_full_user(iam)
    iam.create_user(UserName="someone")
    bot.command("keys someone", user="U0SEC1")  # the group's members are now cached
    plan = open_request(bot)
    bot.slack.groups["S0SECURITY"].remove("U0SEC1")
    try:
        bot.press(plan, "Approve", user="U0SEC1")
    finally:
        bot.slack.groups["S0SECURITY"].append("U0SEC1")
    assert "You need the `approve` permission" in told(bot, "U0SEC1")
    assert user_exists(iam, "leaver")


def test_an_approval_whose_approver_lost_the_right_does_not_run(make_bot, iam) -> None:
    """Two approvals needed; the first approver leaves the group before the second approves."""
    bot = make_bot(TWO_APPROVERS)
    make_full_user(iam)
    plan = open_request(bot)
    bot.press(plan, "Approve", user="U0SEC1")
    bot.slack.groups["S0SECURITY"].remove("U0SEC1")
    try:
        bot.press(current(bot, plan), "Approve", user="U0SEC2")
    finally:
        bot.slack.groups["S0SECURITY"].append("U0SEC1")
    assert user_exists(iam, "leaver")
    assert "no longer has the `approve` permission" in flatten(current(bot, plan))


def test_an_expired_request_shows_it_and_its_buttons_go(make_bot, iam) -> None:
    now = [datetime(2026, 11, 23, 3, 0, tzinfo=UTC)]
    bot = make_bot(clock=lambda: now[0])
    make_full_user(iam)
    plan = open_request(bot)
    now[0] += timedelta(minutes=61)
    shown = bot.slack.wait_for(lambda: "Expired" in (t := flatten(current(bot, plan))) and t)
    assert "Approve" not in shown and "Waiting" not in shown
    bot.press(plan, "Approve", user="U0SEC1")
    assert "expired" in told(bot, "U0SEC1")
    assert user_exists(iam, "leaver")
    audit = audit_log(bot)
    assert "expired without approval" in audit


def test_a_second_replica_does_not_take_over_a_live_run(make_bot, iam, aws) -> None:
    first = make_bot(state="shared.sqlite3")
    make_full_user(iam)
    arranged = len(aws.calls())
    plan = open_request(first)
    aws.hold("DeleteAccessKey")
    first.sender.press(plan, user_id="U0SEC1", label="Approve")
    assert aws.wait_held("DeleteAccessKey", count=2)
    second = make_bot(state="shared.sqlite3")  # a rolling restart: the new one is up first
    second.settle()
    aws.release("DeleteAccessKey")
    first.settle()
    second.settle()
    assert not user_exists(iam, "leaver")
    mutations = [
        (c.action, tuple(sorted(c.params.items())))
        for c in aws.calls()[arranged:]
        if c.action.startswith(("Delete", "Detach", "Remove", "Deactivate"))
    ]
    assert len(mutations) == len(set(mutations)), "a change was sent twice"
    assert aws.count("DeleteUser") == 1
    done = [m for m in first.channel("C0AUDIT") if "done:" in flatten(m)]
    assert len(done) == 1


def test_a_scheduled_step_checks_protection_again(make_bot, iam, aws) -> None:
    """A rotation confirmed before the user was protected: the old key is not deactivated
    when its grace period ends, and the message says why."""
    now = [datetime.now(UTC)]
    config = CONFIG.replace("[break-glass-admin]", '[break-glass-admin, "tag:protected"]')
    bot = make_bot(config + "rotation: {grace_minutes: 60}\n", clock=lambda: now[0])
    iam.create_user(UserName="dave")
    old = iam.create_access_key(UserName="dave")["AccessKey"]["AccessKeyId"]
    plan = open_request(bot, "rotate dave")
    bot.press(plan, "Confirm", user="U0ALICE")
    iam.tag_user(UserName="dave", Tags=[{"Key": "protected", "Value": "yes"}])
    now[0] += timedelta(minutes=61)
    shown = bot.slack.wait_for(
        lambda: "not deactivated" in (t := flatten(current(bot, plan))) and t
    )
    assert "is a protected user" in shown
    assert key_statuses(iam, "dave")[old] == "Active"


CAROL_APPROVES = CONFIG.replace("approve: [S0SECURITY]", "approve: [S0SECURITY, U0CAROL]")


def test_the_person_an_iam_user_is_tagged_with_never_decides_a_request_about_it(
    make_bot, iam
) -> None:
    """carol is an approver, and `carol` carries her Slack ID: asked for by name, its disable
    and its enable are still about her, so she may neither approve nor deny them."""
    bot = make_bot(CAROL_APPROVES)
    iam.create_user(UserName="carol", Tags=[{"Key": "slack-user-id", "Value": "U0CAROL"}])
    key = iam.create_access_key(UserName="carol")["AccessKey"]["AccessKeyId"]

    disable = open_request(bot, "offboard carol on leave --disable")
    assert "<@U0CAROL>" not in flatten(disable)  # she is not asked
    bot.press(disable, "Approve", user="U0CAROL")
    assert "so you may not approve it" in told(bot, "U0CAROL")
    bot.press(current(bot, disable), "Deny", user="U0CAROL")
    assert "so you may not deny it" in told(bot, "U0CAROL")
    assert not bot.slack.calls("views.open")  # refused before she types a reason
    assert "1 more approval" in flatten(current(bot, disable))
    assert key_statuses(iam, "carol") == {key: "Active"}

    bot.press(current(bot, disable), "Approve", user="U0SEC1")
    bot.slack.wait_for(lambda: "Done." in flatten(current(bot, disable)))
    assert key_statuses(iam, "carol") == {key: "Inactive"}

    enable = open_request(bot, "enable carol back")
    refused = told(bot, "U0CAROL").count("so you may not approve it")
    bot.press(enable, "Approve", user="U0CAROL")
    assert told(bot, "U0CAROL").count("so you may not approve it") > refused
    assert "1 more approval" in flatten(current(bot, enable))
    assert key_statuses(iam, "carol") == {key: "Inactive"}


def test_the_person_an_iam_user_has_the_e_mail_of_never_approves_its_removal(make_bot, iam) -> None:
    bot = make_bot(CAROL_APPROVES)
    iam.create_user(UserName="cjones", Tags=[{"Key": "email", "Value": "Carol@example.com"}])
    request = open_request(bot, "offboard cjones left the company")
    bot.press(request, "Approve", user="U0CAROL")
    assert "so you may not approve it" in told(bot, "U0CAROL")
    assert user_exists(iam, "cjones")
    bot.press(current(bot, request), "Approve", user="U0SEC1")
    bot.slack.wait_for(lambda: "Done." in flatten(current(bot, request)))
    assert not user_exists(iam, "cjones")


def test_a_person_named_in_the_command_never_decides_it_even_if_linked_by_name_only(
    make_bot, iam
) -> None:
    bot = make_bot(CAROL_APPROVES)
    iam.create_user(UserName="carol")  # linked to carol@example.com by its name only
    disable = open_request(bot, "offboard carol on leave --disable")
    bot.press(disable, "Approve", user="U0SEC1")
    bot.slack.wait_for(lambda: "Done." in flatten(current(bot, disable)))

    enable = open_request(bot, "enable <@U0CAROL> back")
    bot.press(enable, "Approve", user="U0CAROL")
    assert "so you may not approve it" in told(bot, "U0CAROL")
    assert "1 more approval" in flatten(current(bot, enable))


def test_the_namesake_of_an_untagged_iam_user_never_approves_its_removal(make_bot, iam) -> None:
    """`carol` carries no tag: `/iam keys me` takes it as carol's (by her e-mail's name), so
    she may not approve its removal, though nobody mentioned her."""
    bot = make_bot(CAROL_APPROVES)
    iam.create_user(UserName="Carol")
    request = open_request(bot, "offboard Carol left the company")
    bot.press(request, "Approve", user="U0CAROL")
    assert "so you may not approve it" in told(bot, "U0CAROL")
    assert user_exists(iam, "Carol")
    bot.press(current(bot, request), "Approve", user="U0SEC1")
    bot.slack.wait_for(lambda: "Done." in flatten(current(bot, request)))
    assert not user_exists(iam, "Carol")
