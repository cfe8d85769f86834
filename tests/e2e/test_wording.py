"""Wording (issue 11), each fix seen in the message people get: an offboarding's summary says
only the counts that are not zero, `/iam history` does not point at itself, AWS's own sentence
ends once, the alias requests are titled by what they do, and the key owner's DM says what is
true of the old key given the grace period."""

from __future__ import annotations

import re

from sandbox.slack_api import Message
from tests.conftest import CONFIG, Bot

ADMIN = CONFIG.replace("permissions:\n", "permissions:\n  account: ['*']\n  admin: [U0SEC1]\n", 1)
GRACE = CONFIG + "rotation: {grace_minutes: 60, delete_after_minutes: 60}\n"
HINT = "`/iam history leaver` shows what was there."


def _text(message: Message) -> str:
    """A message's text and every text in its blocks, as one string."""
    texts = [message.text or ""]

    def walk(node: object) -> None:
        if isinstance(node, dict):
            texts.extend([node["text"]] if isinstance(node.get("text"), str) else [])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(message.blocks or [])
    return "\n".join(texts)


def _opened(bot: Bot, text: str, *, user: str = "U0ALICE") -> Message:
    """Run a command that must open a request; the one message it posted."""
    before = {m.ts for m in bot.channel()}
    reply = bot.command(text, user=user)
    fresh = [m for m in bot.channel() if m.ts not in before]
    assert len(fresh) == 1, bot.said(reply)
    return fresh[0]


def _now(bot: Bot, message: Message) -> str:
    """The text of a request's message as it stands (the bot edits it in place)."""
    return _text(next(m for m in bot.channel() if m.ts == message.ts))


def _dms(bot: Bot) -> list[str]:
    calls = bot.slack.calls("chat.postMessage")
    return [c.args["text"] for c in calls if c.args["channel"].startswith("D")]


def _leaver_with_a_key(iam) -> None:
    iam.create_user(UserName="leaver")
    iam.create_access_key(UserName="leaver")


def test_an_offboarding_says_only_the_counts_that_are_not_zero(bot: Bot, iam) -> None:
    _leaver_with_a_key(iam)
    plan = _opened(bot, "offboard leaver left the company")
    bot.press(plan, "Approve", user="U0SEC1")
    done = _now(bot, plan)
    assert "Done. leaver removed: 2 steps done, in " in done
    assert "already gone" not in done and "finished earlier" not in done
    assert done.count(HINT) == 1  # in the message, under the outcome


def test_history_shows_the_snapshot_without_pointing_at_itself(bot: Bot, iam) -> None:
    _leaver_with_a_key(iam)
    bot.press(_opened(bot, "offboard leaver left"), "Approve", user="U0SEC1")
    history = bot.said(bot.command("history leaver"))
    assert "leaver removed: 2 steps done" in history and "Snapshot: 1 access key" in history
    assert "shows what was there" not in history


def test_awss_sentence_ends_once_and_a_retry_counts_what_finished_earlier(
    bot: Bot, iam, aws
) -> None:
    _leaver_with_a_key(iam)
    plan = _opened(bot, "offboard leaver left")
    aws.fail("DeleteUser", code="DeleteConflict", status=409, message="Cannot delete entity.")
    bot.press(plan, "Approve", user="U0SEC1")
    failed = _now(bot, plan)
    assert "failed: AWS said Cannot delete entity. An approver can retry" in failed
    assert ".." not in failed

    bot.press(next(m for m in bot.channel() if m.ts == plan.ts), "Retry", user="U0SEC2")
    done = _now(bot, plan)
    assert "Done. leaver removed: 1 step done, 1 finished earlier, in " in done
    assert "already gone" not in done


def test_alias_requests_are_titled_by_what_they_do(make_bot, iam) -> None:
    bot = make_bot(ADMIN)
    setting = _opened(bot, "account alias set acme-prod", user="U0SEC1")
    assert "Set the account alias to acme-prod" in _text(setting)
    bot.press(setting, "Confirm", user="U0SEC1")
    deleting = _opened(bot, "account alias delete", user="U0SEC1")
    assert "Delete the account alias acme-prod" in _text(deleting)
    assert "Set the account alias" not in _text(deleting)


def test_the_owner_hears_the_old_key_is_going_now_without_a_grace_period(bot: Bot, iam) -> None:
    iam.create_user(UserName="dave", Tags=[{"Key": "slack-user-id", "Value": "U0BOB"}])
    old = iam.create_access_key(UserName="dave")["AccessKey"]["AccessKeyId"]
    bot.press(_opened(bot, "rotate dave"), "Confirm", user="U0ALICE")
    [dm] = _dms(bot)
    assert f"The old key `{old}` is being checked and deactivated now: use the new one." in dm
    assert "soon" not in dm


def test_the_owner_hears_when_the_grace_period_ends(make_bot, iam) -> None:
    bot = make_bot(GRACE)
    iam.create_user(UserName="dave", Tags=[{"Key": "slack-user-id", "Value": "U0BOB"}])
    old = iam.create_access_key(UserName="dave")["AccessKey"]["AccessKeyId"]
    plan = _opened(bot, "rotate dave")
    bot.press(plan, "Confirm", user="U0ALICE")
    due = re.search(r"checked and deactivated at (\S+ \S+ UTC)", _now(bot, plan))
    assert due, _now(bot, plan)  # the request's message says when, too
    [dm] = _dms(bot)
    assert (
        f"The old key `{old}` is checked and deactivated at {due.group(1)}: "
        "switch to the new one before then." in dm
    )
