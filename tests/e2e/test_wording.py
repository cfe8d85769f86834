"""Wording, each fix seen in the message people get: an offboarding's summary says only the
counts that are not zero, `/iam history` does not point at itself, AWS's own sentence ends once,
the alias requests are titled by what they do, and the key owner's DM says what is true of the
old key given the grace period."""

from __future__ import annotations

import re

from sandbox.seed import enable_virtual_mfa
from tests.fixtures.accounts import organization
from tests.fixtures.aws import NOW, aged_key, user_with_key
from tests.fixtures.slack import CONFIG, Bot, current, direct_messages, flatten, open_request

ADMIN = CONFIG.replace("permissions:\n", "permissions:\n  account: ['*']\n  admin: [U0SEC1]\n", 1)
GRACE = CONFIG + "rotation: {grace_minutes: 60, delete_after_minutes: 60}\n"
HINT = "`/iam history leaver` shows what was there."


def test_an_offboarding_says_only_the_counts_that_are_not_zero(bot: Bot, iam) -> None:
    user_with_key(iam, "leaver")
    plan = open_request(bot, "offboard leaver left the company")
    bot.press(plan, "Approve", user="U0SEC1")
    done = flatten(current(bot, plan))
    assert "Done. leaver removed: 2 steps done, in " in done
    assert "already gone" not in done and "finished earlier" not in done
    assert done.count(HINT) == 1  # in the message, under the outcome


def test_history_shows_the_snapshot_without_pointing_at_itself(bot: Bot, iam) -> None:
    user_with_key(iam, "leaver")
    bot.press(open_request(bot, "offboard leaver left"), "Approve", user="U0SEC1")
    history = bot.said(bot.command("history leaver"))
    assert "leaver removed: 2 steps done" in history and "Snapshot: 1 access key" in history
    assert "shows what was there" not in history


def test_awss_sentence_ends_once_and_a_retry_counts_what_finished_earlier(
    bot: Bot, iam, aws
) -> None:
    user_with_key(iam, "leaver")
    plan = open_request(bot, "offboard leaver left")
    aws.fail("DeleteUser", code="DeleteConflict", status=409, message="Cannot delete entity.")
    bot.press(plan, "Approve", user="U0SEC1")
    failed = flatten(current(bot, plan))
    assert "failed: AWS said Cannot delete entity. An approver can retry" in failed
    assert ".." not in failed

    bot.press(current(bot, plan), "Retry", user="U0SEC2")
    done = flatten(current(bot, plan))
    assert "Done. leaver removed: 1 step done, 1 finished earlier, in " in done
    assert "already gone" not in done


def test_alias_requests_are_titled_by_what_they_do(make_bot, iam) -> None:
    bot = make_bot(ADMIN)
    setting = open_request(bot, "account alias set acme-prod", user="U0SEC1")
    assert "Set the account alias to acme-prod" in flatten(setting)
    bot.press(setting, "Confirm", user="U0SEC1")
    deleting = open_request(bot, "account alias delete", user="U0SEC1")
    assert "Delete the account alias acme-prod" in flatten(deleting)
    assert "Set the account alias" not in flatten(deleting)


def test_the_owner_hears_the_old_key_is_going_now_without_a_grace_period(bot: Bot, iam) -> None:
    old = user_with_key(iam, "dave", tags={"slack-user-id": "U0BOB"})
    bot.press(open_request(bot, "rotate dave"), "Confirm", user="U0ALICE")
    [dm] = direct_messages(bot.slack)
    assert f"The old key `{old}` is being checked and deactivated now: use the new one." in dm
    assert "soon" not in dm


def test_the_owner_hears_when_the_grace_period_ends(make_bot, iam) -> None:
    bot = make_bot(GRACE)
    old = user_with_key(iam, "dave", tags={"slack-user-id": "U0BOB"})
    plan = open_request(bot, "rotate dave")
    bot.press(plan, "Confirm", user="U0ALICE")
    due = re.search(r"checked and deactivated at (<!date\^[^>]+>)", flatten(current(bot, plan)))
    assert due, flatten(current(bot, plan))  # the request's message says when, too
    [dm] = direct_messages(bot.slack)
    assert (
        f"The old key `{old}` is checked and deactivated at {due.group(1)}: "
        "switch to the new one before then." in dm
    )


def test_a_key_used_today_says_today(bot: Bot, iam, aws) -> None:
    iam.create_user(UserName="dave")
    key = aged_key(iam, aws, "dave", age_days=0, used_days_ago=0.01)
    said = bot.said(bot.command(f"keys {key}"))
    assert f"*Created*\n{NOW:%Y-%m-%d} (today)" in said
    assert f"*Last used*\n{NOW:%Y-%m-%d} (today)" in said
    assert "(0 days" not in said


def test_help_and_the_audits_usage_say_what_days_does(bot: Bot) -> None:
    explained = "`--days N`: flag keys older than N days or unused for N days"
    assert explained in bot.said(bot.command("help"))
    assert explained in bot.said(bot.command("audit --days"))


def test_the_account_counts_mfa_devices_apart_from_its_quotas(make_bot, iam) -> None:
    bot = make_bot(ADMIN)
    iam.create_user(UserName="dave")
    enable_virtual_mfa(iam, "dave", "dave-phone")
    iam.create_virtual_mfa_device(VirtualMFADeviceName="spare")  # made, never assigned
    said = bot.said(bot.command("account", user="U0BOB"))
    assert "*MFA* 2 devices in the account, 1 assigned" in said
    assert "root user MFA" in said
    quotas = said.partition("*Usage against quotas*")[2].partition("*MFA*")[0]
    assert "MFA" not in quotas
    assert "• Per user: at most 2 access keys, 10 groups, 10 managed policies" in quotas


def test_a_person_found_nowhere_in_the_one_account_says_1_account(make_bot, aws) -> None:
    org = organization(aws)
    bot: Bot = make_bot(CONFIG + f'accounts:\n  list:\n    - id: "{org.management}"\n')
    said = bot.said(bot.command("offboard <@U0NOBODY> left"))
    assert "No IAM user is linked to <@U0NOBODY>" in said
    assert "in 1 account)" in said and "1 accounts" not in said


def test_a_one_step_plan_and_one_more_approval_read_in_the_singular(bot: Bot, iam) -> None:
    iam.create_user(UserName="leaver")  # nothing but the user: one step
    plan = open_request(bot, "offboard leaver left")
    shown = flatten(plan)
    assert "*Plan* (1 step)" in shown and "1 more approval" in shown
