"""A replica that stops hands a scheduled step it is running over at once: the step is due
again for any replica, instead of waiting for its lease to run out."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.access.leases import Leases
from bot.access.schedule import RUNNING, WAITING, Job, Scheduler
from bot.access.store import SqliteStore

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def test_a_running_step_is_handed_over_when_its_replica_stops(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "state.sqlite3")
    stopping = Scheduler(store, lambda: NOW, leases=Leases(600))
    started, finish = threading.Event(), threading.Event()

    def slow(job: Job) -> str:
        started.set()
        finish.wait(10)
        return "done"

    stopping.handlers["retire"] = slow
    job = stopping.add("retire", "req1", NOW - timedelta(seconds=1))
    runner = threading.Thread(target=stopping.run_due)
    runner.start()
    assert started.wait(10)
    assert stopping.get(job.id).state == RUNNING

    assert stopping.leases.hand_over() == ["scheduled step retire of request req1"]
    assert stopping.get(job.id).state == WAITING  # another replica's next pass runs it

    other = Scheduler(store, lambda: NOW, leases=Leases(600))
    ran: list[str] = []
    other.handlers["retire"] = lambda job: ran.append(job.id) or "done"
    assert other.run_due() == 1 and ran == [job.id]
    finish.set()
    runner.join(10)
