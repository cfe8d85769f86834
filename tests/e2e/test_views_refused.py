"""A modal's submission is judged as a click is: a Deny form submitted (forged: Slack would
only show the form to someone who pressed Deny) by someone without `approve`, or for a request
in a channel where /iam no longer works, is refused with a short answer to them, and the
request stays as it was."""

from __future__ import annotations

from bot.slack.listeners.views import deny_modal
from tests.fixtures.slack import CONFIG, Bot, current, flatten, posted, request_id

REASON = {"reason": {"reason": {"type": "plain_text_input", "value": "not leaked"}}}


def test_a_deny_form_from_someone_without_approve_is_refused(bot: Bot, iam) -> None:
    iam.create_user(UserName="dave")
    key = iam.create_access_key(UserName="dave")["AccessKey"]["AccessKeyId"]
    bot.command(f"deactivate {key} leaked in a gist", user="U0ALICE")
    plan = posted(bot, "Deactivate")
    values = {"reason": {"reason": {"type": "plain_text_input", "value": "not leaked"}}}

    reply = bot.sender.submit_view(deny_modal(request_id(plan)), user_id="U0CAROL", values=values)
    assert reply.status == 200
    bot.settle()

    told = [m.text for m in bot.slack.messages("C0OPS") if m.ephemeral and m.user == "U0CAROL"]
    assert told == ["You need the `approve` permission to deny this."]
    assert "state pending" in flatten(current(bot, plan))
    assert "Denied" not in flatten(current(bot, plan))
    [status] = [k["Status"] for k in iam.list_access_keys(UserName="dave")["AccessKeyMetadata"]]
    assert status == "Active"


def test_a_deny_form_for_a_request_where_iam_no_longer_works_is_refused(make_bot, iam) -> None:
    """The Deny button of a request in a channel the ``channels`` rule no longer lists is
    refused on the click; its form, opened before the rule changed, is refused the same way."""
    iam.create_user(UserName="dave")
    before = make_bot(CONFIG)
    before.command("offboard dave left the company", user="U0ALICE", channel="C0OLD")
    plan = posted(before, "Offboard", channel="C0OLD")
    before.stop()
    bot = make_bot(CONFIG + "channels: [C0OPS]\n")

    form = deny_modal(request_id(plan))
    assert bot.sender.submit_view(form, user_id="U0SEC1", values=REASON).status == 200
    bot.settle()

    told = [m.text for m in bot.slack.messages("C0OLD") if m.ephemeral and m.user == "U0SEC1"]
    [refused] = told
    assert refused.endswith("/iam works only in <#C0OPS>.")  # as a click there is told
    assert "state pending" in flatten(current(bot, plan))
    assert "dave" in {u["UserName"] for u in iam.list_users()["Users"]}
