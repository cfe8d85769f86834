"""The `offboard_person` Workflow Builder step, over signed HTTP: HR's workflow sends a
``function_executed`` event, the bot opens the request `/iam offboard @person` would, and the
step ends in Slack (``functions.completeSuccess`` with the outcome, or ``completeError`` with
the reason nothing was opened), once, whatever Slack redelivers."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.logs import ACTIVITY, JsonLines
from bot.slack.listeners.functions import OFFBOARD_PERSON
from sandbox.aws import FaithfulAws
from sandbox.harness import ShiftedClock
from tests.fixtures.accounts import Org, listed_config, organization
from tests.fixtures.aws import aged_key
from tests.fixtures.logs import captured_log
from tests.fixtures.slack import Bot, current, flatten, request_id, told


@pytest.fixture
def org(aws: FaithfulAws) -> Org:
    """Carol has `carol` in staging, tagged with her Slack ID."""
    org = organization(aws)
    staging = aws.client("iam", org.staging, faithful=True)
    staging.create_user(UserName="carol", Tags=[{"Key": "slack-user-id", "Value": "U0CAROL"}])
    aged_key(staging, aws, "carol", age_days=10)
    return org


def _step(
    bot: Bot, *, person: str = "U0CAROL", execution: str = "Fx0CAROL", **changed: Any
) -> None:
    """HR's workflow reaches the step: alice ran it, asking in #ops."""
    inputs = {
        "person": person,
        "reason": "left the company",
        "requester": {"id": "U0ALICE", "secret": "user-context-secret"},
        "channel": "C0OPS",
        **changed,
    }
    reply = bot.sender.run_step(OFFBOARD_PERSON, inputs, execution_id=execution)
    assert reply.status == 200, reply.body
    bot.settle()


def _completed(bot: Bot, execution: str = "Fx0CAROL") -> dict[str, Any]:
    """The outputs the step completed with (waiting for the outbox to tell Slack)."""
    calls = bot.slack.wait_for(lambda: bot.slack.calls("functions.completeSuccess"))
    assert [c.args["function_execution_id"] for c in calls] == [execution]
    return calls[0].args["outputs"]


def _failed_with(bot: Bot, execution: str = "Fx0CAROL") -> str:
    calls = bot.slack.wait_for(lambda: bot.slack.calls("functions.completeError"))
    assert [c.args["function_execution_id"] for c in calls] == [execution]
    assert not bot.slack.calls("functions.completeSuccess")
    return calls[0].args["error"]


def _users(aws: FaithfulAws, account: str) -> set[str]:
    return {u["UserName"] for u in aws.client("iam", account).list_users()["Users"]}


def test_the_step_opens_the_offboarding_and_completes_with_done(
    make_bot, aws: FaithfulAws, org: Org
) -> None:
    bot: Bot = make_bot(listed_config(org))
    _step(bot)
    (request,) = bot.channel()
    shown = flatten(request)
    assert f"staging ({org.staging}): IAM user carol" in shown
    assert "<@U0ALICE>" in shown and "left the company" in shown  # asked by whoever ran it
    assert not bot.slack.calls("functions.completeSuccess")  # waits for the approval

    bot.press(request, "Approve", user="U0SEC1")
    assert "carol" not in _users(aws, org.staging)
    assert _completed(bot) == {"outcome": "done", "request_id": request_id(request)}


def test_a_denied_request_completes_the_step_with_denied(make_bot, org: Org) -> None:
    bot: Bot = make_bot(listed_config(org))
    _step(bot)
    (request,) = bot.channel()
    bot.deny(request, "not yet: notice period")
    assert _completed(bot) == {"outcome": "denied", "request_id": request_id(request)}


def test_an_expired_request_completes_the_step_with_expired(
    make_bot, aws: FaithfulAws, org: Org
) -> None:
    now = [datetime.now(UTC)]
    bot: Bot = make_bot(listed_config(org), clock=lambda: now[0])
    _step(bot)
    (request,) = bot.channel()
    now[0] += timedelta(minutes=61)
    bot.press(request, "Approve", user="U0SEC1")
    assert "carol" in _users(aws, org.staging)
    assert _completed(bot) == {"outcome": "expired", "request_id": request_id(request)}


def test_a_redelivered_step_opens_one_request(make_bot, org: Org) -> None:
    bot: Bot = make_bot(listed_config(org))
    _step(bot)
    assert bot.sender.redeliver(retry_num=1).status == 200  # Slack's retry: same event_id
    bot.settle()
    _step(bot)  # the same execution delivered again as a new event
    (request,) = bot.channel()
    bot.press(request, "Approve", user="U0SEC1")
    assert _completed(bot) == {"outcome": "done", "request_id": request_id(request)}
    assert not bot.slack.calls("functions.completeError")


def test_a_person_without_an_iam_user_fails_the_step(make_bot, org: Org) -> None:
    bot: Bot = make_bot(listed_config(org))
    _step(bot, person="U0BOB")
    assert "No IAM user is linked to" in _failed_with(bot)
    assert not bot.channel()


def test_a_missing_reason_fails_the_step_and_opens_nothing(make_bot, org: Org) -> None:
    bot: Bot = make_bot(listed_config(org))
    _step(bot, reason="")
    assert "reason" in _failed_with(bot)
    assert not bot.channel()


def test_a_requester_without_offboard_fails_the_step(make_bot, org: Org) -> None:
    bot: Bot = make_bot(listed_config(org))
    _step(bot, requester={"id": "U0NOBODY", "secret": "s"})
    assert "offboard" in _failed_with(bot)
    assert not bot.channel()


def test_the_person_cannot_approve_their_own_offboarding(
    make_bot, aws: FaithfulAws, org: Org
) -> None:
    approvers = listed_config(org).replace(
        "approve: [S0SECURITY]", "approve: [S0SECURITY, U0CAROL]"
    )
    bot: Bot = make_bot(approvers)
    _step(bot)
    (request,) = bot.channel()
    bot.press(request, "Approve", user="U0CAROL")
    assert "so you may not approve it" in told(bot, "U0CAROL")
    assert "carol" in _users(aws, org.staging)
    assert "1 more approval" in flatten(current(bot, request))
    assert not bot.slack.calls("functions.completeSuccess")


def test_slack_refusing_the_completion_holds_up_nothing_and_it_is_retried(
    make_bot, aws: FaithfulAws, org: Org
) -> None:
    clock = ShiftedClock()
    bot: Bot = make_bot(listed_config(org), clock=clock)
    _step(bot)
    (request,) = bot.channel()
    bot.slack.fail("functions.completeSuccess", "http_500", times=5)  # past the client's retries
    bot.press(request, "Approve", user="U0SEC1")
    assert "carol" not in _users(aws, org.staging)
    assert "Done." in flatten(current(bot, request))

    clock.advance(timedelta(minutes=5))  # the outbox's backoff, on the bot's clock
    ended = bot.slack.wait_for(
        lambda: [c for c in bot.slack.calls("functions.completeSuccess") if not c.error]
    )
    assert [c.args["outputs"]["outcome"] for c in ended] == ["done"]


def test_with_one_account_the_step_offboards_the_persons_user_there(bot: Bot, iam) -> None:
    iam.create_user(UserName="carol", Tags=[{"Key": "slack-user-id", "Value": "U0CAROL"}])
    _step(bot)
    (request,) = bot.channel()
    bot.press(request, "Approve", user="U0SEC1")
    assert "carol" not in {u["UserName"] for u in iam.list_users()["Users"]}
    assert _completed(bot) == {"outcome": "done", "request_id": request_id(request)}


def test_the_request_is_asked_where_iam_works(make_bot, org: Org) -> None:
    """No channel given: the first channel /iam works in; one it does not work in: refused."""
    bot: Bot = make_bot(listed_config(org) + "channels: [C0IAM]\n")
    _step(bot, channel="C0OPS")
    assert "C0IAM" in _failed_with(bot)
    assert not bot.channel("C0OPS")

    _step(bot, channel=None, execution="Fx0AGAIN")
    (request,) = bot.channel("C0IAM")
    assert "IAM user carol" in flatten(request)


def test_the_log_says_who_ran_the_step_and_how_it_ended(make_bot, org: Org) -> None:
    bot: Bot = make_bot(listed_config(org))
    with captured_log(JsonLines()) as stream:
        _step(bot)
        _step(bot, execution="Fx0BOB", person="U0BOB")
    entries = [json.loads(line) for line in stream.getvalue().splitlines()]
    seen = [
        (e["kind"], e["command"], e["user"], e["outcome"])
        for e in entries
        if e["logger"] == ACTIVITY.name
    ]
    assert seen == [
        ("event", "function_executed", "U0ALICE", "ok"),
        ("event", "function_executed", "U0ALICE", "refused (NotLinked)"),
    ]


def _claim_reopened(bot: Bot, execution: str, minutes_ago: int) -> None:
    """The step's claim as a bot left it that stopped right after opening the request (before
    it recorded that it had), ``minutes_ago``."""
    claim = bot.store.get(f"workflow-step/{execution}")
    assert claim is not None and claim.state == "waiting"
    at = (datetime.now(UTC) - timedelta(minutes=minutes_ago)).isoformat()
    opening = replace(claim, state="opening", data={**claim.data, "at": at})
    assert bot.store.put_if_version(opening) is not None


def test_a_bot_stopped_right_after_opening_still_completes_the_step(make_bot, org: Org) -> None:
    bot: Bot = make_bot(listed_config(org))
    _step(bot)
    (request,) = bot.channel()
    _claim_reopened(bot, "Fx0CAROL", minutes_ago=1)

    bot.press(request, "Approve", user="U0SEC1")

    assert _completed(bot) == {"outcome": "done", "request_id": request_id(request)}


def test_a_step_left_opening_is_linked_to_its_request_by_the_tick(make_bot, org: Org) -> None:
    bot: Bot = make_bot(listed_config(org))
    _step(bot)
    (request,) = bot.channel()
    _claim_reopened(bot, "Fx0CAROL", minutes_ago=16)

    bot.scheduler.tick()
    bot.settle()

    claim = bot.store.get("workflow-step/Fx0CAROL")
    assert claim is not None and claim.state == "waiting"
    assert not bot.slack.calls("functions.completeError")
    bot.press(request, "Approve", user="U0SEC1")
    assert _completed(bot) == {"outcome": "done", "request_id": request_id(request)}


def test_a_step_whose_bot_stopped_before_opening_is_failed_saying_so(
    make_bot, aws: FaithfulAws, org: Org
) -> None:
    now = [datetime.now(UTC)]
    bot: Bot = make_bot(listed_config(org), clock=lambda: now[0])
    aws.hold("AssumeRole")  # the step stops while it reads the accounts, nothing opened
    inputs = {
        "person": "U0CAROL",
        "reason": "left the company",
        "requester": {"id": "U0ALICE"},
        "channel": "C0OPS",
    }
    assert bot.sender.run_step(OFFBOARD_PERSON, inputs, execution_id="Fx0CAROL").status == 200
    assert aws.wait_held("AssumeRole")

    now[0] += timedelta(minutes=16)
    bot.scheduler.tick()
    error = _failed_with(bot)

    assert error == (
        "The request was not opened within 15 minutes (the bot stopped, or was that slow). "
        "Run the workflow again."
    )
    assert not bot.channel()
    aws.release("AssumeRole")  # it was only slow: its request opens now, too late
    bot.settle()
    (late,) = bot.channel()
    shown = flatten(current(bot, late))
    assert "Cancelled" in shown and "its workflow step had already been given up" in shown
    assert "actions" not in [block["type"] for block in current(bot, late).blocks]  # no button
    assert not bot.slack.calls("functions.completeSuccess")  # the step was told, once
    assert len(bot.slack.calls("functions.completeError")) == 1
    assert "carol" in _users(aws, org.staging)

    _step(bot, execution="Fx0AGAIN")  # run again, as it was told: a request of its own
    assert len(bot.channel()) == 2
