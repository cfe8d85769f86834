"""Time-bound group membership end to end: `/iam grant`, its end, `/iam revoke` and Extend."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from sandbox.slack_api import Message
from tests.e2e.test_home import open_home, shown
from tests.fixtures.accounts import listed_config, organization, source_identity
from tests.fixtures.slack import (
    CONFIG,
    Bot,
    audit_log,
    current,
    dms_to,
    flatten,
    posted,
    told,
)

GRANTS = CONFIG.replace("permissions:\n", "permissions:\n  grant: [S0ONCALL]\n")
ASKED = "Add IAM user dave to group admins"


class Clock:
    """The bot's clock, moved by the test: a grant's end comes without waiting for it."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, bot: Bot, **delta: float) -> None:
        self.now += timedelta(**delta)
        bot.catch_up()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def granting(make_bot: Callable[..., Bot], clock: Clock) -> Bot:
    return make_bot(GRANTS, clock=clock)


@pytest.fixture
def admins(iam) -> str:
    """dave, linked to bob in Slack, and a group admins that gives ReadOnlyAccess."""
    iam.create_user(UserName="dave", Tags=[{"Key": "slack-user-id", "Value": "U0BOB"}])
    iam.create_group(GroupName="admins")
    policy = iam.create_policy(PolicyName="ReadOnlyAccess", PolicyDocument=_ANY_READ)
    iam.attach_group_policy(GroupName="admins", PolicyArn=policy["Policy"]["Arn"])
    return "admins"


_ANY_READ = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}]}'


def groups_of(iam, user: str) -> list[str]:
    return [g["GroupName"] for g in iam.list_groups_for_user(UserName=user)["Groups"]]


def buttons(message: Message) -> list[str]:
    """The labels of the buttons a message offers now."""
    actions = [b for b in message.blocks or [] if b["type"] == "actions"]
    return [e["text"]["text"] for b in actions for e in b["elements"]]


def ask(bot: Bot, text: str = "grant dave admins 4h incident 42", *, user: str = "U0ALICE"):
    reply = bot.command(text, user=user)
    return reply, posted(bot, ASKED)


def test_a_grant_approved_adds_the_user_and_its_end_removes_them(
    granting: Bot, iam, aws, clock: Clock, admins: str
) -> None:
    _, plan = ask(granting)
    text = flatten(plan)
    assert "dave" in text and "admins" in text and "ReadOnlyAccess" in text and "4 hours" in text
    assert groups_of(iam, "dave") == []  # nothing before approval

    granting.press(plan, "Approve", user="U0SEC1")
    assert groups_of(iam, "dave") == ["admins"]
    done = flatten(current(granting, plan))
    assert "dave added to admins for 4 hours." in done and "In admins until <!date^" in done
    assert buttons(current(granting, plan)) == ["Revoke", "Extend"]

    clock.advance(granting, hours=3, minutes=59)
    assert groups_of(iam, "dave") == ["admins"]
    clock.advance(granting, minutes=2)
    assert groups_of(iam, "dave") == []
    assert aws.count("RemoveUserFromGroup") == 1
    assert dms_to(granting, "U0BOB")[-1] == (  # dave's person, told at the start too
        "Your grant of group admins is over: IAM user dave was removed from it."
    )
    assert len(dms_to(granting, "U0BOB")) == 2
    over = flatten(current(granting, plan))
    assert "Grant over: dave removed from admins." in over
    assert buttons(current(granting, plan)) == []
    audit = audit_log(granting)
    assert "done: dave added to admins for 4 hours." in audit and "Grant over" in audit


def test_pending_and_home_show_a_running_grant_with_its_end_to_who_may_end_it(
    granting: Bot, iam, clock: Clock, admins
) -> None:
    _, plan = ask(granting)
    granting.press(plan, "Approve", user="U0SEC1")
    end = int((clock.now + timedelta(hours=4)).timestamp())
    listed = granting.said(granting.command("pending", user="U0BOB"))
    assert "Grants running" in listed and ASKED in listed and f"<!date^{end}^" in listed
    assert "Revoke" in listed and "Extend" in listed
    home = shown(open_home(granting, "U0ALICE"))
    assert "Grants running" in home and ASKED in home and f"<!date^{end}^" in home
    assert "Grants running" not in shown(open_home(granting, "U0SEC1"))  # may not grant

    clock.advance(granting, hours=4, minutes=1)
    assert ASKED not in granting.said(granting.command("pending", user="U0BOB"))


def test_the_requester_never_approves_their_own_grant(make_bot, iam, clock: Clock, admins) -> None:
    bot = make_bot(
        GRANTS.replace("grant: [S0ONCALL]", "grant: [S0ONCALL, S0SECURITY]"), clock=clock
    )
    _, plan = ask(bot, user="U0SEC1")
    said = bot.said(bot.press(plan, "Approve", user="U0SEC1"))
    assert "your approval does not count" in said
    assert groups_of(iam, "dave") == []
    bot.press(plan, "Approve", user="U0SEC2")
    assert groups_of(iam, "dave") == ["admins"]


def test_the_person_a_grant_is_about_never_approves_it(granting: Bot, iam, admins) -> None:
    iam.create_user(UserName="erin", Tags=[{"Key": "slack-user-id", "Value": "U0SEC2"}])
    granting.command("grant erin admins 1h on call tonight", user="U0ALICE")
    plan = posted(granting, "Add IAM user erin to group admins")
    said = granting.said(granting.press(plan, "Approve", user="U0SEC2"))
    assert "about you" in said
    assert groups_of(iam, "erin") == []
    granting.press(plan, "Approve", user="U0SEC1")
    assert groups_of(iam, "erin") == ["admins"]


def test_revoke_ends_a_grant_now_and_its_end_removes_nobody_again(
    granting: Bot, iam, aws, clock: Clock, admins
) -> None:
    _, plan = ask(granting)
    granting.press(plan, "Approve", user="U0SEC1")
    granting.command("revoke dave admins", user="U0ALICE")
    revoke = posted(granting, "End IAM user dave's grant of group admins")
    assert groups_of(iam, "dave") == ["admins"]  # the requester confirms first
    granting.press(revoke, "Confirm", user="U0ALICE")
    assert groups_of(iam, "dave") == []
    assert "Revoked by" in flatten(current(granting, plan))
    assert buttons(current(granting, plan)) == []

    iam.add_user_to_group(UserName="dave", GroupName="admins")  # someone adds dave by hand
    clock.advance(granting, hours=5)
    assert groups_of(iam, "dave") == ["admins"]  # the cancelled end removes nobody
    assert aws.count("RemoveUserFromGroup") == 1
    assert "Revoked by" in audit_log(granting)


def test_the_revoke_button_on_a_grant_asks_its_presser_to_confirm(
    granting: Bot, iam, admins
) -> None:
    _, plan = ask(granting)
    granting.press(plan, "Approve", user="U0SEC1")
    granting.press(current(granting, plan), "Revoke", user="U0BOB")
    revoke = posted(granting, "End IAM user dave's grant of group admins")
    granting.press(revoke, "Confirm", user="U0BOB")
    assert groups_of(iam, "dave") == []


def test_extend_asks_again_and_once_approved_moves_the_end(
    granting: Bot, iam, aws, clock: Clock, admins
) -> None:
    _, plan = ask(granting)
    granting.press(plan, "Approve", user="U0SEC1")
    granting.press(current(granting, plan), "Extend", user="U0ALICE")
    more = posted(granting, "Keep IAM user dave in group admins 4 hours longer")
    assert "your approval does not count" in granting.said(
        granting.press(more, "Approve", user="U0ALICE")
    )
    granting.press(more, "Approve", user="U0SEC2")
    assert "stays until" in flatten(current(granting, plan))

    clock.advance(granting, hours=4, minutes=1)
    assert groups_of(iam, "dave") == ["admins"]
    clock.advance(granting, hours=4)
    assert groups_of(iam, "dave") == []
    assert aws.count("RemoveUserFromGroup") == 1
    assert "Extended by request" in audit_log(granting)


def test_a_member_before_the_grant_stays_one_at_its_end(
    granting: Bot, iam, aws, clock: Clock, admins
) -> None:
    iam.add_user_to_group(UserName="dave", GroupName="admins")
    arranged = aws.count("AddUserToGroup")
    _, plan = ask(granting)
    assert "already a member" in flatten(plan)
    granting.press(plan, "Approve", user="U0SEC1")
    assert "already a member of admins: nothing changed" in flatten(current(granting, plan))
    clock.advance(granting, hours=5)
    assert groups_of(iam, "dave") == ["admins"]
    assert aws.count("RemoveUserFromGroup") == 0 and aws.count("AddUserToGroup") == arranged


def test_a_failing_removal_is_retried_and_alerted_never_silent(
    make_bot, iam, aws, clock: Clock, admins
) -> None:
    bot = make_bot(GRANTS + "grants: {alert_after_failures: 2}\n", clock=clock)
    _, plan = ask(bot)
    bot.press(plan, "Approve", user="U0SEC1")
    aws.fail("RemoveUserFromGroup", code="AccessDenied", status=403, times=2)
    clock.advance(bot, hours=4, minutes=1)
    assert groups_of(iam, "dave") == ["admins"]
    assert "Could not remove" not in audit_log(bot)  # one failure: retried, not yet alerted
    clock.advance(bot, minutes=2)
    alert = audit_log(bot)
    assert "Could not remove dave from admins" in alert and "2 tries" in alert
    assert groups_of(iam, "dave") == ["admins"]
    clock.advance(bot, minutes=5)
    assert groups_of(iam, "dave") == []
    assert "Grant over: dave removed from admins." in audit_log(bot)


def test_a_restart_and_a_second_replica_still_remove_once(
    make_bot, iam, aws, clock: Clock, admins
) -> None:
    first = make_bot(GRANTS, clock=clock)
    _, plan = ask(first)
    first.press(plan, "Approve", user="U0SEC1")
    first.stop()

    replicas = [make_bot(GRANTS, clock=clock) for _ in range(2)]  # same state file
    clock.now += timedelta(hours=4, minutes=1)
    for replica in replicas:
        replica.catch_up()
    assert groups_of(iam, "dave") == []
    assert aws.count("RemoveUserFromGroup") == 1
    assert audit_log(replicas[0]).count("Grant over: dave removed from admins.") == 1


def test_hostile_text_in_the_reason_and_group_is_escaped_or_refused(
    granting: Bot, iam, admins
) -> None:
    _, plan = ask(granting, "grant dave admins 1h <!channel> & <@U0SEC1> <https://x|y>")
    text = flatten(plan)
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text and "<@U0SEC1>" not in text
    before = len(granting.channel())
    reply = granting.command("grant dave <!here> 1h why", user="U0ALICE")
    said = granting.said(reply)
    assert "group name" in said and "<!here>" not in said
    assert len(granting.channel()) == before


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("grant dave admins 4x why", "`30m`, `4h` or `2d`"),
        ("grant dave admins 1m why", "from 5 minutes to 1 week"),
        ("grant dave admins 8d why", "from 5 minutes to 1 week"),
        ("grant dave admins 4h", "a reason is required"),
        ("grant dave admins 4h why --forever", "--forever"),
        ("grant dave nosuchgroup 4h why", "No IAM group named `nosuchgroup`"),
        ("grant nobody admins 4h why", "No IAM user named `nobody`"),
        ("grant break-glass-admin admins 4h why", "protected"),
    ],
)
def test_a_bad_grant_is_refused_with_nothing_changed(
    granting: Bot, iam, aws, admins, text: str, says: str
) -> None:
    iam.create_user(UserName="break-glass-admin")
    arranged = len(aws.calls())
    said = granting.said(granting.command(text, user="U0ALICE"))
    assert says in said
    assert granting.channel() == []
    changes = [c for c in aws.calls()[arranged:] if not c.action.startswith(("Get", "List"))]
    assert changes == []
    assert groups_of(iam, "dave") == []


def test_a_grant_acts_in_the_account_asked_for_under_its_rules(make_bot, aws, clock: Clock) -> None:
    org = organization(aws)
    rules = "      permissions:\n        grant: [S0SECURITY]\n"
    config = listed_config(org, rules=rules).replace(
        "permissions:\n", "permissions:\n  grant: [S0ONCALL]\n", 1
    )
    bot: Bot = make_bot(config, clock=clock)
    staging = aws.client("iam", org.staging)
    staging.create_user(UserName="dave", Tags=[{"Key": "slack-user-id", "Value": "U0BOB"}])
    staging.create_group(GroupName="admins")

    refused = bot.said(bot.command("grant dave admins 1h why --account production"))
    assert "You need the `grant` permission in account" in refused
    bot.command("grant dave admins 1h why --account staging", user="U0ALICE")
    plan = posted(bot, ASKED)
    assert f"in staging ({org.staging})" in flatten(plan)
    bot.press(plan, "Approve", user="U0SEC1")
    assert groups_of(staging, "dave") == ["admins"]
    bot.press(current(bot, plan), "Extend", user="U0BOB")
    assert f"in staging ({org.staging})" in flatten(posted(bot, "1 hour longer"))

    clock.advance(bot, hours=1, minutes=1)
    assert groups_of(staging, "dave") == []
    [removed] = aws.calls("RemoveUserFromGroup", account=org.staging)
    assert removed.source_identity == source_identity("U0ALICE")
    assert dms_to(bot, "U0BOB")[-1] == (
        "Your grant of group admins in AWS account staging is over: IAM user dave was removed "
        "from it."
    )


def test_me_and_a_mention_name_the_linked_iam_user(granting: Bot, admins) -> None:
    granting.command("grant me admins 30m deploy tonight", user="U0BOB")
    assert "Add IAM user dave to group admins for 30 minutes" in flatten(posted(granting, ASKED))
    said = granting.said(granting.command("grant <@U0BOB> admins 30m again", user="U0ALICE"))
    assert "Already asked for" in said and "Nothing new was opened" in said


def test_extend_beyond_the_longest_grant_and_revoke_of_none_are_refused(
    make_bot, iam, clock: Clock, admins
) -> None:
    bot = make_bot(GRANTS + "grants: {max_minutes: 300}\n", clock=clock)
    said = bot.said(bot.command("revoke dave admins", user="U0ALICE"))
    assert "No grant of group `admins` to `dave` is running here" in said
    _, plan = ask(bot)
    bot.press(plan, "Approve", user="U0SEC1")
    asked = len(bot.channel())
    bot.press(current(bot, plan), "Extend", user="U0ALICE")
    assert "from 5 minutes to 5 hours" in told(bot, "U0ALICE")
    assert len(bot.channel()) == asked  # nothing opened


def test_the_person_a_grant_is_about_is_told_when_it_runs_and_when_it_is_revoked(
    granting: Bot, iam, admins
) -> None:
    _, plan = ask(granting)
    granting.press(plan, "Approve", user="U0SEC1")
    [granted] = dms_to(granting, "U0BOB")  # dave is bob's IAM user
    assert "*Add IAM user dave to group admins for 4 hours*, done." in granted
    assert "until the grant's end" in granted
    assert "Requested by <@U0ALICE>, approved by <@U0SEC1>:\n>incident 42" in granted

    granting.command("revoke dave admins", user="U0ALICE")
    granting.press(posted(granting, "End IAM user dave's grant"), "Confirm", user="U0ALICE")
    [_, revoked] = dms_to(granting, "U0BOB")
    assert "*End IAM user dave's grant of group admins*, done." in revoked
    assert "no longer yours" in revoked
