"""The approval state machine: who may decide, expiry, exactly one winner under races, one open
request per operation and subject, and a requester's own click recorded as a confirmation."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.access.approvals import AlreadyOpen, Approvals, State
from bot.access.leases import ATTEMPT_SECONDS, Leases
from bot.access.rules import Rules
from bot.access.store import SqliteStore
from bot.operator_rules import parse_config
from bot.ops.registry import GATES
from bot.ops.terms import OPERATIONS
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
""",
    OPERATIONS,
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
    return _approvals(tmp_path, clock)


def _approvals(tmp_path, clock: Clock, leases: Leases | None = None) -> Approvals:
    members = {"S0SECURITY": frozenset({"U0SEC1", "U0SEC2", "U0REQ"})}
    rules = Rules(CONFIG, lambda group: members[group])
    store = SqliteStore(tmp_path / "s.db")
    return Approvals(store, rules, CONFIG, clock, gates=GATES, leases=leases)


def _open(
    approvals: Approvals,
    command: str = "delete-key",
    requester: str = "U0REQ",
    *,
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


def _at_once(actions: list[Callable[[], None]]) -> None:
    """Run ``actions`` each in its own thread, released together by a barrier: the race that
    approvers clicking at once, or replicas starting at once, make."""
    barrier = threading.Barrier(len(actions))

    def run(action: Callable[[], None]) -> None:
        barrier.wait()
        action()

    threads = [threading.Thread(target=run, args=(action,)) for action in actions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


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
    strict = parse_config("approvals: {commands: {deactivate: {required: 1}}}", OPERATIONS)
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
    approved, started = [], []

    def click(user: str) -> None:
        if approvals.approve(request.id, user).now is State.APPROVED:
            approved.append(user)
        if approvals.start(request.id, user).now is State.RUNNING:
            started.append(user)

    users = ["U0SEC1", "U0SEC2", "U0BOSS", "U0SEC1", "U0SEC2", "U0BOSS"]
    _at_once([functools.partial(click, u) for u in users])
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


def test_a_crashed_run_is_taken_over_once(tmp_path, clock: Clock) -> None:
    wall = [1_800_000_000.0]  # the leases' clock: epoch seconds
    approvals = _approvals(tmp_path, clock, Leases(now=lambda: wall[0]))
    request = _open(approvals)
    approvals.approve(request.id, "U0SEC1")
    assert approvals.take_over(approvals.get(request.id)).refusal  # approved, not running
    approvals.start(request.id, "U0SEC1")
    assert approvals.take_over(approvals.get(request.id)).refusal  # its runner's lease is alive
    seen = approvals.get(request.id)
    # The runner dies: nobody renews its lease. It runs out, then so does the last AWS
    # attempt the runner could have sent; the winner's own lease outlives the race.
    wall[0] = seen.lease.until + ATTEMPT_SECONDS
    winners = []

    def restart() -> None:
        if approvals.take_over(seen).refusal is None:
            winners.append(1)

    _at_once([restart] * 4)  # four replicas starting at once
    assert len(winners) == 1
    assert approvals.get(request.id).decided_by("resume").who == "iam-bot"


def test_nobody_retries_without_the_approve_permission(approvals: Approvals) -> None:
    request = _open(approvals)
    approvals.approve(request.id, "U0SEC1")
    approvals.start(request.id, "U0SEC1")
    approvals.finish(request.id, ok=False)
    assert approvals.retry(request.id, "iam-bot").refusal == "Only approvers can retry this."


def test_an_approver_listed_by_name_is_not_asked_to_approve_their_own_request(
    approvals: Approvals,
) -> None:
    opened = _open(approvals, requester="U0BOSS")
    assert opened.asked == ("S0SECURITY",)


def test_the_confirmation_has_its_own_verdict(approvals: Approvals) -> None:
    opened = _open(approvals, command="rotate", requester="U0ONCALL")
    confirmed = approvals.approve(opened.id, "U0ONCALL").request
    assert [d.verdict for d in confirmed.decisions] == ["confirm"]
    assert confirmed.confirmed and confirmed.approvers == []
    again = approvals.approve(opened.id, "U0ONCALL")
    assert refusal_words(again) == "Already confirmed by <@U0ONCALL>."


def test_duplicate_key_deletions_do_not_pile_up_but_two_keys_are_two_subjects(
    approvals: Approvals,
) -> None:
    _open(approvals, command="delete-key", plan={"key": "AKIAONE", "steps": []})
    with pytest.raises(AlreadyOpen) as refused:
        _open(approvals, command="delete-key", plan={"key": "AKIAONE", "steps": []})
    assert refused.value.request is not None
    _open(approvals, command="delete-key", plan={"key": "AKIATWO", "steps": []})


def test_what_makes_two_requests_the_same_is_what_their_operation_declares(
    tmp_path, clock: Clock
) -> None:
    """An operation whose requests differ by another plan field than a key (a policy to
    detach, say) declares it: two policies of one user are two subjects, and a field it
    does not name does not tell two requests apart."""
    policy = replace(GATES["offboard"], same=lambda plan: plan.get("policy", ""))
    rules = Rules(CONFIG, lambda group: frozenset())
    approvals = Approvals(
        SqliteStore(tmp_path / "s.db"), rules, CONFIG, clock, gates={**GATES, "offboard": policy}
    )
    _open(approvals, command="offboard", plan={"policy": "arn:one", "steps": []})
    _open(approvals, command="offboard", plan={"policy": "arn:two", "steps": []})
    with pytest.raises(AlreadyOpen):
        _open(
            approvals, command="offboard", plan={"policy": "arn:one", "key": "AKIAX", "steps": []}
        )


def test_two_identical_opens_at_once_make_one_request(approvals: Approvals) -> None:
    opened, refused = [], []

    def open_one() -> None:
        try:
            opened.append(_open(approvals))
        except AlreadyOpen:
            refused.append(1)

    _at_once([open_one] * 6)
    assert (len(opened), len(refused)) == (1, 5)
    assert len(approvals.in_state(State.PENDING)) == 1


def test_every_end_frees_the_subject(approvals: Approvals, clock: Clock) -> None:
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


def test_the_person_a_request_is_about_never_decides_it(approvals: Approvals) -> None:
    """U0BOSS is an approver, but the request is about them: they may not approve, deny or
    retry it, whoever else may; their name is not among those asked."""
    opened = approvals.open(
        command="delete-key",
        target="sec1",
        requester="U0REQ",
        reason="left",
        plan={"steps": []},
        channel="C1",
        subjects=("U0BOSS",),
    )
    assert opened.asked == ("S0SECURITY",)
    for refused in (
        approvals.approve(opened.id, "U0BOSS"),
        approvals.deny(opened.id, "U0BOSS", "no"),
    ):
        assert refused.refusal and "This request is about you" in refused.refusal
        assert refused.now is None
    assert approvals.approve(opened.id, "U0SEC1").now is State.APPROVED
    approvals.start(opened.id, "U0SEC1")
    approvals.finish(opened.id, ok=False)
    assert "may not retry it" in (approvals.retry(opened.id, "U0BOSS").refusal or "")
    assert approvals.retry(opened.id, "U0SEC2").now is State.RUNNING


def test_a_requester_still_confirms_or_withdraws_a_request_about_themselves(
    approvals: Approvals,
) -> None:
    confirmed = approvals.open(
        command="rotate",
        target="oncall",
        requester="U0ONCALL",
        reason="due",
        plan={"steps": []},
        channel="C1",
        subjects=("U0ONCALL",),
    )
    about_boss = _open(approvals, command="rotate", requester="U0ONCALL", plan={"key": "AKIA1"})
    about_boss = approvals.save(replace(about_boss, subjects=("U0BOSS",)))
    assert "may not confirm it" in (approvals.approve(about_boss.id, "U0BOSS").refusal or "")
    assert approvals.approve(confirmed.id, "U0ONCALL").now is State.APPROVED
    withdrawn = _open(approvals, requester="U0BOSS")
    withdrawn = approvals.save(replace(withdrawn, subjects=("U0BOSS",)))
    assert approvals.deny(withdrawn.id, "U0BOSS", "asked by mistake").now is State.DENIED


def test_a_request_opens_with_the_approvers_its_caller_counted_in_one_write(
    approvals: Approvals,
) -> None:
    """A request acting in several accounts needs the strictest of their rules: its opener
    counts them, and the request is stored with them at once, not opened and patched."""
    opened = approvals.open(
        command="offboard-person",
        target="U0LEAVER",
        requester="U0REQ",
        reason="left",
        plan={"steps": []},
        channel="C1",
        subjects=("U0LEAVER",),
        required=3,
        asked=("U0BOSS",),
    )
    assert (opened.required, opened.asked) == (3, ("U0BOSS",))
    assert approvals.get(opened.id) == opened
    assert opened.version == 1  # written once


def test_a_run_handed_over_is_not_ended_by_the_runner_that_let_it_go(approvals: Approvals) -> None:
    request = _open(approvals)
    approvals.approve(request.id, "U0SEC1")
    approvals.start(request.id, "U0SEC1")
    assert approvals.release(request.id)  # stopping: another replica resumes it from its journal

    ended = approvals.finish(request.id, ok=False, failed_step="x")

    assert ended.refusal == "Another replica is running this."
    assert approvals.get(request.id).state is State.RUNNING


def test_an_approval_whose_write_lost_the_race_asks_slack_once(tmp_path, clock: Clock) -> None:
    """U0SEC1 clicks; while Slack answers who is in the group, another replica writes the
    request (a note of progress). U0SEC1's approval is then decided again on the new record,
    on the answer it already has: one click, one question to Slack."""
    asked: list[str] = []

    def slack_lists(group: str) -> frozenset[str]:
        asked.append(group)
        if len(asked) == 1:
            approvals.note(request.id, progress="written meanwhile")
        return frozenset({"U0SEC1", "U0SEC2"})

    approvals = Approvals(
        SqliteStore(tmp_path / "s.db"), Rules(CONFIG, slack_lists), CONFIG, clock, gates=GATES
    )
    request = _open(approvals, "offboard")  # two approvers

    decided = approvals.approve(request.id, "U0SEC1")

    assert decided.request.approvers == ["U0SEC1"]
    assert decided.request.outcome["progress"] == "written meanwhile"  # decided on the new one
    assert decided.request.version == request.version + 2
    assert asked == ["S0SECURITY"]
