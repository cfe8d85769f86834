"""What a person types, and what a request may weigh, are capped to what Slack can carry: a
reason over MAX_REASON characters is refused with a sentence and nothing is opened, and a form
body longer than any slash command Slack sends is refused unparsed, with no body logged."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest

from bot.slack.commands.parse import MAX_REASON
from bot.slack.inbound import MAX_COMMAND_BYTES
from tests.fixtures.aws import user_with_key
from tests.fixtures.slack import Bot, audit_log, current, flatten, posted

LONG = "x" * 45_000
TOO_LONG = f"A reason is at most {MAX_REASON} characters; this one has 45,000."


@pytest.mark.parametrize(
    "command", ["offboard leaver {reason}", "enable leaver {reason}", "deactivate {key} {reason}"]
)
def test_a_reason_over_the_cap_is_refused_and_nothing_opens(bot: Bot, iam, command: str) -> None:
    iam.create_user(UserName="leaver")
    key = user_with_key(iam)
    reply = bot.command(command.format(reason=LONG, key=key), user="U0ALICE")
    assert TOO_LONG in bot.said(reply)
    assert bot.channel() == [] and bot.channel("C0AUDIT") == []
    assert [k["Status"] for k in iam.list_access_keys(UserName="dave")["AccessKeyMetadata"]] == [
        "Active"
    ]


def test_a_reason_at_the_cap_opens_the_request_whole(bot: Bot, iam) -> None:
    iam.create_user(UserName="leaver")
    reason = "&" * MAX_REASON  # five times as long once escaped for mrkdwn: still one section
    bot.command(f"offboard leaver {reason}", user="U0ALICE")
    assert "&amp;" * MAX_REASON in flatten(posted(bot, "Offboard"))
    assert "&amp;" * MAX_REASON in audit_log(bot)


def _deny(bot: Bot, reason: str):
    bot.press(bot.channel()[-1], "Deny", user="U0SEC1")
    view = bot.slack.calls("views.open")[-1].args["view"]
    values = {"reason": {"reason": {"type": "plain_text_input", "value": reason}}}
    reply = bot.sender.submit_view(view, user_id="U0SEC1", values=values)
    bot.settle()
    return view, reply


def test_a_deny_reason_over_the_cap_is_refused_in_the_modal(bot: Bot, iam) -> None:
    iam.create_user(UserName="leaver")
    bot.command("offboard leaver left the company", user="U0ALICE")
    plan = bot.channel()[-1]
    view, reply = _deny(bot, "y" * (MAX_REASON + 1))
    (element,) = [b["element"] for b in view["blocks"] if b["type"] == "input"]
    assert element["max_length"] == MAX_REASON  # Slack's client stops the typing there
    errors = json.loads(reply.body)
    assert errors["response_action"] == "errors"
    assert f"at most {MAX_REASON} characters" in errors["errors"]["reason"]
    assert "Denied" not in flatten(current(bot, plan))
    assert "denied by" not in audit_log(bot)


def _command_body(text: str) -> bytes:
    fields = {"command": "/iam", "text": text, "user_id": "U0ALICE", "channel_id": "C0OPS"}
    return urlencode({"team_id": "T0", **fields}).encode()


def test_a_form_body_longer_than_any_slash_command_is_refused_unparsed(
    bot: Bot, iam, log_output
) -> None:
    iam.create_user(UserName="leaver")
    body = _command_body("offboard leaver " + "BODYMARK" * 190_000)  # 1.5 MB
    assert len(body) > MAX_COMMAND_BYTES
    reply = bot.sender.signed(body, "application/x-www-form-urlencoded")
    bot.settle()
    assert reply.status == 413
    assert bot.channel() == [] and bot.channel("C0AUDIT") == []
    logged = log_output.getvalue()
    assert "over 524288 for a slash command" in logged and "BODYMARK" not in logged


def test_an_interactive_payload_may_be_longer_than_a_command(bot: Bot) -> None:
    """A click carries the whole message it was on: its size is not a slash command's."""
    payload = json.dumps(["not a click", "z" * MAX_COMMAND_BYTES])
    reply = bot.sender.signed(
        urlencode({"payload": payload}).encode(), "application/x-www-form-urlencoded"
    )
    assert reply.status == 400  # refused for its shape, not for its size
