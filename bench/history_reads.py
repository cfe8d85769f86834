"""A /metrics scrape and a Home open's "Latest requests" with 20,000 finished requests stored.

Both used to read (and parse) every request in the store: the scrape to count requests by
state, a Home open to pick the ten latest a person may see. Now the scrape counts in the store
(``count_by_state``) and reads only the pending requests, and a Home open reads the window of
the most recently changed requests (``latest``). Same SQLite file, same run; printed as times
and the ratio old/new. On DynamoDB the same changes turn a Query of every item of every state
into a count per state (no items returned) and one one-page Query per state.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest

from bot.access.approvals import KIND, Approvals, Request, State, utc_now
from bot.access.rules import Rules
from bot.access.store import SqliteStore
from bot.operator_rules import parse_config
from bot.ops.pending import RECENT
from bot.ops.registry import GATES
from bot.ops.terms import OPERATIONS
from bot.slack.metrics import RequestsCollector

FINISHED = 20_000
OPEN = 20  # pending requests beside them
ROUNDS = 5
CONFIG = "permissions: {offboard: ['*'], approve: ['*']}\n"
FINISHED_STATES = (State.DONE, State.FAILED, State.DENIED, State.CANCELLED, State.EXPIRED)


def seed(store: SqliteStore) -> None:
    now = utc_now()
    for i in range(FINISHED + OPEN):
        state = FINISHED_STATES[i % len(FINISHED_STATES)] if i < FINISHED else State.PENDING
        request = Request(
            id=f"r{i:06d}", command="offboard", target=f"user{i}", requester="U0ALICE",
            reason="left the company", plan={"user": f"user{i}", "steps": []},
            created=now, expires=now + timedelta(hours=1), required=1, state=state,
        )  # fmt: skip
        assert store.put_if_version(request.to_record()) is not None


def best(run: Callable[[], Any]) -> float:
    """The fastest of ROUNDS runs, in seconds: what the code costs, not the machine's noise."""
    times = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def old_scrape(store: SqliteStore, approvals: Approvals) -> None:
    """What a scrape read before: every request, to count them by state."""
    every = store.list_by_state(KIND, [s.value for s in State])
    assert len(every) == FINISHED + OPEN
    assert approvals.in_state(State.PENDING)


def new_scrape(store: SqliteStore, approvals: Approvals) -> None:
    registry = CollectorRegistry()
    registry.register(RequestsCollector(store, approvals))
    assert b'iambot_requests{state="done"} 4000.0' in generate_latest(registry)


def report(label: str, old: float, new: float) -> None:
    print(f"{label:28s} before {old * 1000:8.1f} ms  after {new * 1000:7.1f} ms  {old / new:6.0f}x")


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        store = SqliteStore(Path(folder) / "state.sqlite3")
        seed(store)
        config = parse_config(CONFIG, OPERATIONS)
        rules = Rules(config, lambda group: frozenset())
        approvals = Approvals(store, rules, config, utc_now, gates=GATES)
        print(f"{FINISHED} finished and {OPEN} pending requests, best of {ROUNDS}:")
        report(
            "/metrics scrape",
            best(lambda: old_scrape(store, approvals)),
            best(lambda: new_scrape(store, approvals)),
        )
        report(
            "Home: latest requests",
            best(lambda: approvals.in_state(*State)),
            best(lambda: approvals.latest(RECENT)),
        )


if __name__ == "__main__":
    main()
