"""Approvals as people see them: the approvers named and pinged once, `/iam pending`, one open
request per operation and subject, and a requester's own click shown as a confirmation (the
state machine's side of these is in tests/access/test_approvals.py)."""

from __future__ import annotations

from sandbox.slack_api import Message
from tests.e2e.test_home import open_home, shown
from tests.fixtures.aws import user_with_key
from tests.fixtures.slack import CONFIG, Bot, audit_log, current, flatten, open_request, request_id

SECURITY = "<!subteam^S0SECURITY>"


def _request_messages(bot: Bot) -> list[Message]:
    return [m for m in bot.channel() if "request `" in flatten(m)]


# --- approvers named in the request message, pinged once ---------------------------------------


def test_the_request_names_its_approvers_and_pings_them_only_when_posted(bot: Bot, iam) -> None:
    iam.create_user(UserName="leaver")
    plan = open_request(bot, "offboard leaver left the company", user="U0ALICE")
    assert f"Waiting for 1 more approval from {SECURITY}" in flatten(plan)
    bot.press(plan, "Approve", user="U0SEC1")
    posts = [c for c in bot.slack.calls("chat.postMessage") if c.args["channel"] == "C0OPS"]
    assert [SECURITY in flatten(c.args) for c in posts] == [True]  # one post: one ping
    assert bot.slack.calls("chat.update")  # every later rendering is an edit, which never pings
    assert SECURITY not in flatten(current(bot, plan))  # approved: nobody is waited on any more


def test_a_request_the_requester_confirms_names_the_requester(bot: Bot, iam) -> None:
    key = user_with_key(iam)
    plan = open_request(bot, f"deactivate {key} leaked", user="U0ALICE")
    assert "Waiting for <@U0ALICE> to confirm" in flatten(plan)
    assert SECURITY not in flatten(plan)


# --- a requester's own click confirms, never approves -------------------------------------------


def test_a_self_confirmation_is_recorded_and_shown_as_confirmed(bot: Bot, iam) -> None:
    key = user_with_key(iam)
    plan = open_request(bot, f"deactivate {key} leaked", user="U0ALICE")
    bot.press(plan, "Confirm", user="U0ALICE")
    shown = flatten(current(bot, plan))
    audit = audit_log(bot)
    history = bot.said(bot.command("history dave", user="U0ALICE"))
    assert "confirmed by <@U0ALICE>" in audit
    for text in (shown, audit, history):
        assert "approved by <@u0alice>" not in text.lower()


# --- one open request per operation and subject --------------------------------------------------


def test_a_second_rotation_is_refused_with_where_the_open_one_is(bot: Bot, iam) -> None:
    user_with_key(iam)
    first = open_request(bot, "rotate dave", user="U0ALICE")
    refused = bot.said(bot.command("rotate dave", user="U0BOB"))
    assert f"request `{request_id(first)}` in <#C0OPS>" in refused
    assert "by <@U0ALICE>" in refused
    assert len(_request_messages(bot)) == 1  # nothing more was posted

    bot.press(first, "Cancel", user="U0ALICE")  # once it is over, a new one may be asked
    bot.command("rotate dave", user="U0BOB")
    assert len(_request_messages(bot)) == 2


# --- /iam pending --------------------------------------------------------------------------------


def test_pending_lists_what_waits_on_an_approver_with_working_buttons(bot: Bot, iam) -> None:
    iam.create_user(UserName="leaver")
    plan = open_request(bot, "offboard leaver left the company", user="U0ALICE")
    reply = bot.command("pending", user="U0SEC1")
    (listing,) = bot.replies(reply)
    text = flatten(listing)
    permalink = bot.slack.calls("chat.getPermalink")[-1]
    assert permalink.args["message_ts"] == plan.ts
    assert "Waiting on you" in text and "https://" in text and "/archives/C0OPS/p" in text
    assert "waiting for 1 more approval" in text and SECURITY not in text  # no second ping
    assert "You have no open requests." in text

    bot.press(listing, "Approve", user="U0SEC1")
    assert "Done." in flatten(current(bot, plan))


def test_pending_shows_the_requester_their_own_with_cancel_only(bot: Bot, iam) -> None:
    iam.create_user(UserName="leaver")
    plan = open_request(bot, "offboard leaver left the company", user="U0ALICE")
    (listing,) = bot.replies(bot.command("pending", user="U0ALICE"))
    labels = [
        e["text"]["text"] for b in listing.blocks if b["type"] == "actions" for e in b["elements"]
    ]
    assert labels == ["Cancel"]
    assert "Nothing is waiting on you." in flatten(listing)  # alice may not approve
    bot.press(listing, "Cancel", user="U0ALICE")
    assert "Cancelled by the requester." in flatten(current(bot, plan))


def test_pending_shows_nothing_to_someone_who_may_do_nothing(bot: Bot, iam) -> None:
    iam.create_user(UserName="leaver")
    bot.command("offboard leaver left the company", user="U0ALICE")
    text = bot.said(bot.command("pending", user="U0NOBODY"))
    assert "Nothing is waiting on you." in text and "You have no open requests." in text
    assert "leaver" not in text


def test_a_request_about_an_approver_does_not_wait_on_them(make_bot, iam) -> None:
    """carol may approve, but not a request about her own IAM user: neither `/iam pending`
    nor her Home lists it as waiting on her; it still waits on the others."""
    bot: Bot = make_bot(CONFIG.replace("approve: [S0SECURITY]", "approve: [S0SECURITY, U0CAROL]"))
    iam.create_user(UserName="carol", Tags=[{"Key": "slack-user-id", "Value": "U0CAROL"}])
    plan = open_request(bot, "offboard carol on leave --disable", user="U0ALICE")

    text = bot.said(bot.command("pending", user="U0CAROL"))
    assert request_id(plan) not in text and "Nothing is waiting on you." in text
    assert "Nothing is waiting on you" in shown(open_home(bot, "U0CAROL"))
    assert request_id(plan) in bot.said(bot.command("pending", user="U0SEC1"))
