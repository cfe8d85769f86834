"""A runner whose lease another replica took over takes no further step and ends nothing: the
journal shows where it stopped, and the new holder is the only one still acting."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.access.journal import run_journaled
from bot.access.leases import Lease, LeaseLost, Leases, require_held
from bot.access.schedule import DONE, RUNNING, Scheduler
from bot.access.store import SqliteStore

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
ELSEWHERE = "0123abcd@another-machine/pid:[4026531836]/4242"


@dataclass(frozen=True)
class Step:
    id: str
    wave: int


def _inline(one, steps):
    return [one(step) for step in steps]


def test_a_run_whose_lease_was_taken_takes_no_further_step(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "state.sqlite3")
    leases = Leases(0.2)  # renewed every 0.05 s: the first renewal finds another owner
    done: list[str] = []

    def do(step: Step) -> str:
        if step.id == "first":
            assert held.lost.wait(10), "the renewal never said the lease was gone"
        done.append(step.id)
        return "done"

    with leases.held(None, lambda: False) as held, pytest.raises(LeaseLost):
        run_journaled(store, "req1", [Step("first", 0), Step("second", 1)], do, _inline)
    leases.stop()

    assert done == ["first"]  # the step under way finishes; none starts after it
    assert [(e.step, e.event) for e in store.journal("req1")] == [
        ("first", "start"),
        ("first", "done"),
    ]


def test_a_scheduled_step_taken_over_meanwhile_is_left_to_its_new_holder(tmp_path: Path) -> None:
    here = Scheduler(SqliteStore(tmp_path / "state.sqlite3"), lambda: NOW, leases=Leases(60))
    job = here.add("retire", "req1", NOW - timedelta(seconds=1))
    there = Lease(ELSEWHERE, 4_000_000_000.0)

    def taken_over_while_running(claimed) -> str:
        assert here.move(claimed, RUNNING, lease=there.to_dict())  # its lease ran out meanwhile
        return DONE

    assert here.run(job, taken_over_while_running)

    after = here.get(job.id)
    assert after.state == RUNNING and Lease.from_dict(after.data["lease"]) == there


def test_work_whose_renewals_stalled_stops_before_the_lease_could_lapse(tmp_path: Path) -> None:
    """A heartbeat starved of CPU renews nothing: past a beat before the lease's end, the
    next step waits for a renewal, for two leases' length (0.8 s here) at most, then is not
    started, as another replica may take the work."""
    store = SqliteStore(tmp_path / "state.sqlite3")
    clock = [1_000.0]
    leases = Leases(0.4, now=lambda: clock[0])  # renewed (in real time) every 0.1 s
    stalled, let_go = threading.Event(), threading.Event()
    done: list[str] = []

    def renew() -> bool:  # the renewal does not get through while the work goes on
        stalled.set()
        let_go.wait(10)
        return True

    def do(step: Step) -> str:
        if step.id == "first":
            clock[0] += 0.29  # within three quarters of the lease: still ours
        else:
            assert stalled.wait(10)
            clock[0] += 0.02  # 0.31 s since it was taken, none of it renewed
        done.append(step.id)
        return "done"

    steps = [Step("first", 0), Step("second", 1), Step("third", 2)]
    with leases.held(None, renew), pytest.raises(LeaseLost):
        run_journaled(store, "req1", steps, do, _inline)
    let_go.set()
    leases.stop()

    assert done == ["first", "second"]  # the third would have begun after the lease's margin


def test_work_stops_a_beat_before_its_lease_ends_as_written_however_long_the_claim_took() -> None:
    """The claim's write may take long (a store throttled): the lease it wrote ends that much
    sooner than one counted from when the work began, and another replica counts from the
    lease as written."""
    clock = [1_000.0]
    leases = Leases(0.4, now=lambda: clock[0])  # renewed (in real time) every 0.1 s
    lease = leases.new()  # written to the store...
    clock[0] += 0.25  # ...which answered 0.25 s later: the work begins
    stalled = threading.Event()
    with leases.held(lease, lambda: stalled.wait(10)):  # no renewal gets through
        clock[0] = lease.until - leases.beat_seconds - 0.01
        require_held()
        clock[0] += 0.02  # a beat before the lease ends as written
        with pytest.raises(LeaseLost):
            require_held()
        stalled.set()
    leases.stop()


def test_work_past_its_margin_waits_for_the_renewal_under_way_then_goes_on_or_stops() -> None:
    """A slow store (a renewal that takes longer than the lease's margin) does not end a run
    still ours: the work sends nothing until the renewal says the lease is ours, then goes on;
    a renewal that finds it another replica's stops it."""
    clock = [1_000.0]
    leases = Leases(4, now=lambda: clock[0])  # renewed (in real time) every second
    asked, answer = threading.Event(), threading.Event()

    def slow_renewal() -> bool:
        asked.set()
        return answer.wait(10)

    with leases.held(leases.new(), slow_renewal):
        clock[0] += 3.5  # past a beat before the lease's end, the renewal not back yet
        assert asked.wait(10)
        threading.Timer(0.2, answer.set).start()
        require_held()  # waited for the renewal: the lease is ours, the work goes on
        assert answer.is_set()
    with leases.held(leases.new(), lambda: False), pytest.raises(LeaseLost):
        clock[0] += 3.5
        require_held()
    leases.stop()
