"""Steps that must happen later (retire the old key after the grace period), kept in the store.

A scheduled step is a record: waiting until due, then claimed by compare-and-set (so of several
replicas, or a restart racing a running bot, exactly one runs it), then done, held (waiting for
a person) or failed. Nothing lives only in memory, so a restart loses nothing. A claimed step
carries a lease its runner renews; only a step whose lease ran out (its replica died) is put
back to waiting, so a replica starting beside a live one never runs its step a second time.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.access.leases import Lease, LeaseLost, Leases
from bot.access.records import read_one, readable
from bot.access.store import Record, Store

log = logging.getLogger(__name__)

KIND = "schedule"
WAITING, RUNNING, DONE, HELD, FAILED, CANCELLED = (
    "waiting",
    "running",
    "done",
    "held",
    "failed",
    "cancelled",
)


@dataclass(frozen=True)
class Job:
    id: str
    step: str  # what to do, e.g. "deactivate-old-key"
    request_id: str
    due: datetime
    state: str
    data: dict[str, Any]
    version: int

    @classmethod
    def from_record(cls, record: Record) -> Job:
        d = record.data
        return cls(
            record.id, d["step"], d["request_id"], datetime.fromisoformat(d["due"]), record.state,
            d.get("data", {}), record.version,
        )  # fmt: skip

    def to_record(self) -> Record:
        data = {
            "step": self.step,
            "request_id": self.request_id,
            "due": self.due.isoformat(),
            "data": self.data,
        }
        return Record(self.id, KIND, self.state, data, self.version)


Handler = Callable[[Job], str]  # returns the job's next state: done | held | failed


class Scheduler:
    def __init__(
        self,
        store: Store,
        clock: Callable[[], datetime],
        *,
        poll_s: float = 30.0,
        leases: Leases | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self.leases = leases or Leases()
        # Runs of a dead replica are taken over here: look at least once per heartbeat, so
        # one is resumed at most a quarter of a lease after its lease ends.
        self.poll_s = min(poll_s, self.leases.beat_seconds)
        self.handlers: dict[str, Handler] = {}
        self.on_tick: list[Callable[[], None]] = []  # periodic work, e.g. the scheduled audit
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, step: str, request_id: str, due: datetime, **data: Any) -> Job:
        job = Job(uuid.uuid4().hex[:12], step, request_id, due, WAITING, data, 0)
        stored = self._store.put_if_version(job.to_record())
        assert stored is not None
        return Job.from_record(stored)

    def find(self, step: str, request_id: str) -> Job | None:
        """The job ``step`` of a request, in whatever state, if one was ever scheduled."""
        states = [WAITING, RUNNING, DONE, HELD, FAILED, CANCELLED]
        jobs = readable(self._store.list_by_state(KIND, states), Job.from_record, KIND)
        return next((j for j in jobs if j.step == step and j.request_id == request_id), None)

    def add_once(self, step: str, request_id: str, due: datetime, **data: Any) -> Job:
        """Schedule ``step`` unless it already is: a crash between scheduling and journaling
        it must not leave two jobs (two retirements, two removals)."""
        return self.find(step, request_id) or self.add(step, request_id, due, **data)

    def get(self, job_id: str) -> Job | None:
        """The job, None if there is none; :class:`Unreadable` if its record cannot be read."""
        record = self._store.get(job_id)
        return read_one(record, Job.from_record, KIND) if record and record.kind == KIND else None

    def held(self) -> list[Job]:
        """Steps held for a person's decision: they wait on someone as a pending request
        does, and are listed with those (``/iam pending``, the Home tab)."""
        return self._in_state(HELD)

    def to_come(self, step: str) -> list[Job]:
        """The jobs ``step`` not run yet, or running now (a grant's removal: the grant lasts
        until it is done)."""
        return [j for state in (WAITING, RUNNING) for j in self._in_state(state) if j.step == step]

    def _in_state(self, state: str) -> list[Job]:
        """The readable jobs in ``state`` (one that cannot be read is reported, skipped)."""
        return readable(self._store.list_by_state(KIND, [state]), Job.from_record, KIND)

    def move(self, job: Job, state: str, *, due: datetime | None = None, **data: Any) -> Job | None:
        """Compare-and-set the job to ``state``; None if someone else moved it first."""
        moved = Job(
            job.id,
            job.step,
            job.request_id,
            due or job.due,
            state,
            {**job.data, **data},
            job.version,
        )
        stored = self._store.put_if_version(moved.to_record())
        return Job.from_record(stored) if stored else None

    def run_due(self) -> int:
        """Claim and run every job whose time has come; returns how many ran here."""
        now = self._clock()
        due = [job for job in self._in_state(WAITING) if job.due <= now]
        # A step this version has no handler for (a newer replica's) waits for one that has.
        known = readable(due, lambda job: (job, self.handlers[job.step]), KIND)
        return sum(self.run(job, handler) for job, handler in known)

    def run(self, job: Job, handler: Handler) -> bool:
        """Claim ``job`` as last seen (waiting, or held for a person's decision) and run
        ``handler`` on it under a lease; False when someone else moved it first."""
        claimed = self.move(job, RUNNING, lease=self.leases.new().to_dict())
        if claimed is None:
            return False
        lease = Lease.from_dict(claimed.data.get("lease"))
        with self.leases.held(lease, lambda: self._renew(job.id), lambda: self._release(job.id)):
            try:
                outcome = handler(claimed)
            except LeaseLost:
                log.warning("scheduled step %s of %s taken over", job.step, job.request_id)
                return True
            except Exception:
                log.exception("scheduled step %s of %s failed", job.step, job.request_id)
                outcome = FAILED
        current = self._running_here(job.id)  # only its lease holder ends it
        if current is not None:
            self.move(current, outcome, lease=None)
        return True

    def _running_here(self, job_id: str) -> Job | None:
        """The job, while this replica runs it under its lease."""
        job = self.get(job_id)
        lease = Lease.from_dict(job.data.get("lease")) if job else None
        if job is None or job.state != RUNNING or not lease or lease.owner != self.leases.owner:
            return None
        return job

    def _renew(self, job_id: str) -> bool:
        job = self._running_here(job_id)
        return (
            job is not None
            and self.move(job, RUNNING, lease=self.leases.new().to_dict()) is not None
        )

    def _release(self, job_id: str) -> str | None:
        """A stopping replica hands the step over: it is due again at once (every handler is
        safe to repeat). None when it is no longer ours."""
        job = self._running_here(job_id)
        if job is None or self.move(job, WAITING, lease=None) is None:
            return None
        return f"scheduled step {job.step} of request {job.request_id}"

    def recover(self) -> None:
        """Jobs whose runner died (lease ran out) are due again (each handler is safe to
        repeat); jobs a live replica is running are left to it."""
        for job in self._in_state(RUNNING):
            if self.leases.takeable(Lease.from_dict(job.data.get("lease"))):
                self.move(job, WAITING, lease=None)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="iam-bot-scheduler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)

    def _loop(self) -> None:
        while not self._stop.wait(self.poll_s):
            self.tick()

    def tick(self) -> int:
        """One pass: take over dead runs, run what is due, then every hook; each part runs
        even when another failed (logged). Returns how many parts failed. The loop calls it;
        on AWS Lambda, a scheduled event does."""
        failed = 0
        for work in (self.recover, self.run_due, *self.on_tick):
            try:
                work()
            except Exception:
                log.exception("scheduler pass failed")
                failed += 1
        return failed
