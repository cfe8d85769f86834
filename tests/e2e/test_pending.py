"""Issue 11, approvals: approvers named and pinged once, `/iam pending`, one open request per
operation and subject, and a requester's own click shown as a confirmation."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.access.approvals import AlreadyOpen, Approvals, State
from bot.access.rules import Rules
from bot.access.store import SqliteStore
from bot.config import parse_config
from bot.slack.replies import refusal_words

SECURITY = "<!subteam^S0SECURITY>"


def _text(message: Any) -> str:
    """Every text of a message (fake Slack's, or a Web API call's arguments), flattened."""
    texts: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("text"), str):
                texts.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(message if isinstance(message, dict) else {"text": message.text, "b": message.blocks})
    return "\n".join(texts)


def _user_with_key(iam, name: str = "dave") -> str:
    iam.create_user(UserName=name)
    return iam.create_access_key(UserName=name)["AccessKey"]["AccessKeyId"]


def _request_messages(bot) -> list[Any]:
    return [m for m in bot.channel() if "request `" in _text(m)]


def _answer(bot, reply) -> str:
    return "\n".join([reply.body, *(_text(m) for m in bot.replies(reply))])


# --- approvers named in the request message, pinged once ---------------------------------------


def test_the_request_names_its_approvers_and_pings_them_only_when_posted(bot, iam) -> None:
    iam.create_user(UserName="leaver")
    bot.command("offboard leaver left the company", user="U0ALICE")
    (plan,) = _request_messages(bot)
    assert f"Waiting for 1 more approval from {SECURITY}" in _text(plan)
    bot.press(plan, "Approve", user="U0SEC1")
    posts = [c for c in bot.slack.calls("chat.postMessage") if c.args["channel"] == "C0OPS"]
    assert [SECURITY in _text(c.args) for c in posts] == [True]  # one post: one ping
    assert bot.slack.calls("chat.update")  # every later rendering is an edit, which never pings
    assert SECURITY not in _text(bot.channel()[0])  # approved: nobody is waited on any more


def test_a_request_the_requester_confirms_names_the_requester(bot, iam) -> None:
    key = _user_with_key(iam)
    bot.command(f"deactivate {key} leaked", user="U0ALICE")
    (plan,) = _request_messages(bot)
    assert "Waiting for <@U0ALICE> to confirm" in _text(plan)
    assert SECURITY not in _text(plan)


def test_an_approver_listed_by_name_is_not_asked_to_approve_their_own_request(tmp_path) -> None:
    approvals = _approvals(tmp_path)
    opened = _open(approvals, requester="U0BOSS")
    assert opened.asked == ("S0SECURITY",)


# --- a requester's own click confirms, never approves -------------------------------------------


def test_a_self_confirmation_is_recorded_and_shown_as_confirmed(bot, iam) -> None:
    key = _user_with_key(iam)
    bot.command(f"deactivate {key} leaked", user="U0ALICE")
    (plan,) = _request_messages(bot)
    bot.press(plan, "Confirm", user="U0ALICE")
    shown = _text(bot.channel()[0])
    audit = "\n".join(_text(m) for m in bot.channel("C0AUDIT"))
    history = _answer(bot, bot.command("history dave", user="U0ALICE"))
    assert "confirmed by <@U0ALICE>" in audit
    for text in (shown, audit, history):
        assert "approved by <@u0alice>" not in text.lower()


def test_the_confirmation_has_its_own_verdict(tmp_path) -> None:
    approvals = _approvals(tmp_path)
    opened = _open(approvals, command="rotate", requester="U0ONCALL")
    confirmed = approvals.approve(opened.id, "U0ONCALL").request
    assert [d.verdict for d in confirmed.decisions] == ["confirm"]
    assert confirmed.confirmed and confirmed.approvers == []
    again = approvals.approve(opened.id, "U0ONCALL")
    assert refusal_words(again) == "Already confirmed by <@U0ONCALL>."


# --- one open request per operation and subject --------------------------------------------------


def test_a_second_rotation_is_refused_with_where_the_open_one_is(bot, iam) -> None:
    _user_with_key(iam)
    bot.command("rotate dave", user="U0ALICE")
    (first,) = _request_messages(bot)
    refused = _answer(bot, bot.command("rotate dave", user="U0BOB"))
    request_id = _text(first).split("request `")[1].split("`")[0]
    assert f"request `{request_id}` in <#C0OPS>" in refused
    assert "by <@U0ALICE>" in refused
    assert len(_request_messages(bot)) == 1  # nothing more was posted

    bot.press(first, "Cancel", user="U0ALICE")  # once it is over, a new one may be asked
    bot.command("rotate dave", user="U0BOB")
    assert len(_request_messages(bot)) == 2


def test_duplicate_key_deletions_do_not_pile_up_but_two_keys_are_two_subjects(tmp_path) -> None:
    approvals = _approvals(tmp_path)
    _open(approvals, command="delete-key", plan={"key": "AKIAONE", "steps": []})
    with pytest.raises(AlreadyOpen) as refused:
        _open(approvals, command="delete-key", plan={"key": "AKIAONE", "steps": []})
    assert refused.value.request is not None
    _open(approvals, command="delete-key", plan={"key": "AKIATWO", "steps": []})


def test_two_identical_opens_at_once_make_one_request(tmp_path) -> None:
    approvals = _approvals(tmp_path)
    barrier, opened, refused = threading.Barrier(6), [], []

    def open_one() -> None:
        barrier.wait()
        try:
            opened.append(_open(approvals))
        except AlreadyOpen:
            refused.append(1)

    threads = [threading.Thread(target=open_one) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert (len(opened), len(refused)) == (1, 5)
    assert len(approvals.in_state(State.PENDING)) == 1


def test_every_end_frees_the_subject(tmp_path) -> None:
    clock = _Clock()
    approvals = _approvals(tmp_path, clock)
    denied = _open(approvals)
    approvals.deny(denied.id, "U0SEC1", "no")
    expired = _open(approvals)
    clock.now += timedelta(minutes=61)  # overdue frees it even before expire_due marks it
    done = _open(approvals)
    approvals.approve(done.id, "U0SEC1")
    approvals.start(done.id, "U0SEC1")
    approvals.finish(done.id, ok=False)
    after_failure = _open(approvals)
    assert approvals.get(expired.id).state is State.PENDING  # left for expire_due to announce
    # the failed one may not run again beside the newer request
    assert approvals.retry(done.id, "U0SEC1").refusal == "A request for this is already open."
    approvals.cancel(after_failure.id, "U0REQ")
    assert approvals.retry(done.id, "U0SEC1").now is State.RUNNING
    with pytest.raises(AlreadyOpen):
        _open(approvals)  # the retried run holds it again


# --- /iam pending --------------------------------------------------------------------------------


def test_pending_lists_what_waits_on_an_approver_with_working_buttons(bot, iam) -> None:
    iam.create_user(UserName="leaver")
    bot.command("offboard leaver left the company", user="U0ALICE")
    (plan,) = _request_messages(bot)
    reply = bot.command("pending", user="U0SEC1")
    (listing,) = bot.replies(reply)
    text = _text(listing)
    permalink = bot.slack.calls("chat.getPermalink")[-1]
    assert permalink.args["message_ts"] == plan.ts
    assert "Waiting on you" in text and "https://" in text and "/archives/C0OPS/p" in text
    assert "waiting for 1 more approval" in text and SECURITY not in text  # no second ping
    assert "You have no open requests." in text

    bot.press(listing, "Approve", user="U0SEC1")
    assert "Done." in _text(bot.channel()[0])


def test_pending_shows_the_requester_their_own_with_cancel_only(bot, iam) -> None:
    iam.create_user(UserName="leaver")
    bot.command("offboard leaver left the company", user="U0ALICE")
    (listing,) = bot.replies(bot.command("pending", user="U0ALICE"))
    labels = [
        e["text"]["text"] for b in listing.blocks if b["type"] == "actions" for e in b["elements"]
    ]
    assert labels == ["Cancel"]
    assert "Nothing is waiting on you." in _text(listing)  # alice may not approve
    bot.press(listing, "Cancel", user="U0ALICE")
    assert "Cancelled by the requester." in _text(bot.channel()[0])


def test_pending_shows_nothing_to_someone_who_may_do_nothing(bot, iam) -> None:
    iam.create_user(UserName="leaver")
    bot.command("offboard leaver left the company", user="U0ALICE")
    text = _answer(bot, bot.command("pending", user="U0NOBODY"))
    assert "Nothing is waiting on you." in text and "You have no open requests." in text
    assert "leaver" not in text


# --- the state machine on its own ----------------------------------------------------------------

_CONFIG = parse_config(
    """
permissions:
  approve: [S0SECURITY, U0BOSS]
approvals:
  required: 1
  expire_minutes: 60
  commands:
    rotate: {required: 0}
"""
)


class _Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def _approvals(tmp_path, clock: _Clock | None = None) -> Approvals:
    members = {"S0SECURITY": frozenset({"U0SEC1", "U0SEC2"})}
    rules = Rules(_CONFIG, lambda group: members[group])
    return Approvals(SqliteStore(tmp_path / "s.db"), rules, _CONFIG, clock or _Clock())


def _open(
    approvals: Approvals,
    *,
    command: str = "offboard",
    requester: str = "U0REQ",
    plan: dict[str, Any] | None = None,
):
    return approvals.open(
        command=command,
        target="alice",
        requester=requester,
        reason="left",
        plan=plan or {"steps": []},
        channel="C1",
    )
