"""The approval state machine: who may decide, expiry, and exactly one winner under races."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from bot.access.approvals import Approvals, State
from bot.access.rules import Rules
from bot.access.store import SqliteStore
from bot.config import parse_config
from bot.slack.replies import refusal_words

CONFIG = parse_config(
    """
permissions:
  approve: [S0SECURITY, U0BOSS]
approvals:
  required: 1
  expire_minutes: 60
  commands:
    offboard: {required: 2}
    rotate: {required: 0}
"""
)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def approvals(tmp_path, clock: Clock) -> Approvals:
    members = {"S0SECURITY": frozenset({"U0SEC1", "U0SEC2", "U0REQ"})}
    rules = Rules(CONFIG, lambda group: members[group])
    return Approvals(SqliteStore(tmp_path / "s.db"), rules, CONFIG, clock)


def _open(approvals: Approvals, command: str = "delete-key", requester: str = "U0REQ"):
    return approvals.open(
        command=command,
        target="alice",
        requester=requester,
        reason="left",
        plan={"steps": []},
        channel="C1",
    )


def test_requester_never_counts_even_if_an_approver(approvals: Approvals) -> None:
    request = _open(approvals)
    outcome = approvals.approve(request.id, "U0REQ")
    assert outcome.refusal and "your approval does not count" in outcome.refusal
    assert approvals.get(request.id).state is State.PENDING


def test_outsider_cannot_approve(approvals: Approvals) -> None:
    request = _open(approvals)
    assert "`approve` permission" in approvals.approve(request.id, "U0RANDOM").refusal


def test_approval_by_group_member_and_by_user(approvals: Approvals) -> None:
    request = _open(approvals)
    outcome = approvals.approve(request.id, "U0SEC1")
    assert outcome.now is State.APPROVED and outcome.refusal is None
    second = approvals.approve(request.id, "U0BOSS")
    assert refusal_words(second) == "Already approved by <@U0SEC1>."


def test_per_command_quorum_needs_distinct_approvers(approvals: Approvals) -> None:
    request = _open(approvals, "offboard")
    assert approvals.approve(request.id, "U0SEC1").now is None  # 1 of 2
    assert "already approved" in approvals.approve(request.id, "U0SEC1").refusal
    assert approvals.approve(request.id, "U0SEC2").now is State.APPROVED


def test_zero_required_means_the_requester_confirms(approvals: Approvals) -> None:
    request = _open(approvals, "rotate", requester="U0ONCALL")
    assert approvals.approve(request.id, "U0ONCALL").now is State.APPROVED


def test_reversible_commands_default_to_requester_confirmation() -> None:
    assert CONFIG.approvals.required_for("deactivate") == 0
    assert CONFIG.approvals.required_for("delete-key") == 1
    strict = parse_config("approvals: {commands: {deactivate: {required: 1}}}")
    assert strict.approvals.required_for("deactivate") == 1


def test_deny_needs_reason_and_ends_it(approvals: Approvals) -> None:
    request = _open(approvals)
    assert approvals.deny(request.id, "U0SEC1", "  ").refusal == "A denial needs a reason."
    assert approvals.deny(request.id, "U0SEC1", "not yet").now is State.DENIED
    assert refusal_words(approvals.approve(request.id, "U0SEC2")) == "Already denied by <@U0SEC1>."


def test_only_requester_cancels(approvals: Approvals) -> None:
    request = _open(approvals)
    assert approvals.cancel(request.id, "U0SEC1").refusal == "Only the requester can cancel this."
    assert approvals.cancel(request.id, "U0REQ").now is State.CANCELLED


def test_expired_requests_refuse_every_click(approvals: Approvals, clock: Clock) -> None:
    request = _open(approvals)
    clock.now += timedelta(minutes=61)
    assert approvals.approve(request.id, "U0SEC1").refusal == "This request has expired."
    assert approvals.get(request.id).state is State.EXPIRED
    assert approvals.cancel(request.id, "U0REQ").refusal == "This request has expired."


def test_racing_approvers_and_runners_one_execution(approvals: Approvals) -> None:
    request = _open(approvals)
    barrier = threading.Barrier(6)
    approved, started = [], []

    def click(user: str) -> None:
        barrier.wait()
        if approvals.approve(request.id, user).now is State.APPROVED:
            approved.append(user)
        if approvals.start(request.id, user).now is State.RUNNING:
            started.append(user)

    users = ["U0SEC1", "U0SEC2", "U0BOSS", "U0SEC1", "U0SEC2", "U0BOSS"]
    threads = [threading.Thread(target=click, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(approved) == 1 and len(started) == 1
    assert approvals.get(request.id).state is State.RUNNING


def test_finish_retry_cycle(approvals: Approvals) -> None:
    request = _open(approvals)
    approvals.approve(request.id, "U0SEC1")
    approvals.start(request.id, "U0SEC1")
    assert approvals.finish(request.id, ok=False, failed_step="x").now is State.FAILED
    assert approvals.retry(request.id, "U0RANDOM").refusal == "Only approvers can retry this."
    assert approvals.retry(request.id, "U0SEC2").now is State.RUNNING
    assert approvals.finish(request.id, ok=True).now is State.DONE
    assert (
        approvals.retry(request.id, "U0SEC2").refusal
        == "This request has already been carried out."
    )


def test_a_crashed_run_is_taken_over_once(approvals: Approvals) -> None:
    request = _open(approvals)
    approvals.approve(request.id, "U0SEC1")
    assert approvals.take_over(approvals.get(request.id)).refusal  # approved, not running
    approvals.start(request.id, "U0SEC1")
    assert approvals.take_over(approvals.get(request.id)).refusal  # its runner's lease is alive
    approvals.leases.seconds = 0.01  # the runner dies: its lease runs out, nobody renews it
    assert approvals.renew(request.id)
    time.sleep(0.05)
    seen = approvals.get(request.id)
    barrier = threading.Barrier(4)
    winners = []

    def restart() -> None:  # four replicas starting at once
        barrier.wait()
        if approvals.take_over(seen).refusal is None:
            winners.append(1)

    threads = [threading.Thread(target=restart) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(winners) == 1
    assert approvals.get(request.id).decided_by("resume").who == "iam-bot"


def test_nobody_retries_without_the_approve_permission(approvals: Approvals) -> None:
    request = _open(approvals)
    approvals.approve(request.id, "U0SEC1")
    approvals.start(request.id, "U0SEC1")
    approvals.finish(request.id, ok=False)
    assert approvals.retry(request.id, "iam-bot").refusal == "Only approvers can retry this."
