"""How soon a crashed replica's work is taken over with the default settings, and that a live
replica's never is: a replica elsewhere waits for the lease to run out and for the last AWS
attempt its holder may have sent to end (on an injected wall clock here), a restart on the same
machine sees at once that the process holding it is gone."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.access.leases import Lease, Leases
from bot.access.schedule import RUNNING, WAITING, Scheduler
from bot.access.store import SqliteStore
from bot.process_settings import AWS_CONNECT_TIMEOUT_S, AWS_READ_TIMEOUT_S, load_settings

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
CRASH = 1_800_000_000.0  # epoch seconds: the dead replica renewed its lease, then died
ELSEWHERE = "0123abcd@another-machine/pid:[4026531836]/4242"  # a replica on another machine
OWNER = "import sys; from bot.access.leases import Leases; print(Leases().owner, flush=True)"


def test_a_replica_elsewhere_that_died_is_taken_over_within_a_minute_with_default_settings(
    tmp_path: Path,
) -> None:
    settings = load_settings({"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": "s"})
    wall = [CRASH]
    here = Scheduler(
        SqliteStore(tmp_path / "state.sqlite3"),
        lambda: NOW,
        leases=Leases(settings.lease_seconds, now=lambda: wall[0]),
    )
    job = here.add("retire", "req1", NOW - timedelta(seconds=1))
    lease = Lease(ELSEWHERE, CRASH + settings.lease_seconds)  # its last heartbeat
    assert here.move(job, RUNNING, lease=lease.to_dict())

    # Until the lease has ended and an AWS attempt sent before could have too, it is left
    # where it is: the replica may be alive and cut off, with that attempt still under way.
    last_sent = lease.until - here.leases.beat_seconds  # Held: none sent after this
    attempt_ends = last_sent + AWS_CONNECT_TIMEOUT_S + AWS_READ_TIMEOUT_S  # the gateway's limits
    assert attempt_ends > lease.until
    for wall[0] in (lease.until - 0.1, lease.until + 0.1, attempt_ends - 0.1):
        here.recover()
        assert here.get(job.id).state == RUNNING

    # The scheduler looks every poll_s; at worst it looked just before the lease ended.
    while here.get(job.id).state == RUNNING:
        wall[0] += here.poll_s
        here.recover()
    assert here.get(job.id).state == WAITING  # due again: the next pass runs it
    assert attempt_ends <= wall[0] <= attempt_ends + here.poll_s
    assert wall[0] - CRASH <= 60


def _owner_of_a_process(*, alive: bool) -> tuple[str, subprocess.Popen]:
    """The lease owner another bot process on this machine would write; that process still
    running (until its stdin closes) or gone."""
    wait = "sys.stdin.read()" if alive else "pass"
    process = subprocess.Popen(
        [sys.executable, "-c", f"{OWNER}; {wait}"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    owner = process.stdout.readline().strip()
    if not alive:
        process.wait(10)
    return owner, process


def test_a_restart_on_the_same_machine_takes_a_dead_process_run_at_once_never_a_live_one() -> None:
    leases = Leases()
    until = leases.new().until  # a lease with its whole length still to run
    dead, _ = _owner_of_a_process(alive=False)
    assert leases.takeable(Lease(dead, until))

    live, process = _owner_of_a_process(alive=True)
    try:
        assert not leases.takeable(Lease(live, until))
    finally:
        process.communicate(timeout=10)

    # Its PID in another PID namespace (another container) says nothing: wait for the lease.
    tag, _, place = dead.partition("@")
    boot, _, pid = place.rpartition("/")
    elsewhere = f"{tag}@{boot.split('/')[0]}/pid:[1]/{pid}"
    assert not leases.takeable(Lease(elsewhere, until))
    assert not leases.takeable(Lease(ELSEWHERE, until))
