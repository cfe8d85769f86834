"""One incident per key, whichever replica or invocation brings its signals: on SQLite and on
DynamoDB (moto), racing writers make one record, each signal in it once."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.access import incidents
from bot.access.store import Store
from bot.iam.signals import Signal, signals_of
from sandbox.aws_events import guardduty_event, health_event
from tests.access.test_store_contract import _race, reopen, store  # noqa: F401 (fixtures)

KEY = "AKIAEXAMPLEKEY000001"


def _signal(event: dict) -> Signal:
    [signal] = signals_of(event, min_guardduty_severity=7.0)
    return signal


def test_the_same_signal_raced_by_replicas_is_kept_once(reopen) -> None:  # noqa: F811
    signal = _signal(health_event(KEY))
    replicas = [reopen() for _ in range(6)]
    results: list[incidents.Recorded] = []

    _race(6, lambda i: results.append(incidents.record(replicas[i], signal, datetime.now(UTC))))

    assert sum(r.changed for r in results) == 1 and sum(r.new for r in results) == 1
    [incident] = incidents.listed(replicas[0])
    assert len(incident.signals) == 1


def test_different_signals_raced_all_land_in_one_incident(reopen) -> None:  # noqa: F811
    events = [
        health_event(KEY),
        guardduty_event(KEY),
        health_event(KEY, code="AWS_RISK_CREDENTIALS_EXPOSED"),
    ]
    signals = [_signal(e) for e in events]
    replicas = [reopen() for _ in signals]

    _race(3, lambda i: incidents.record(replicas[i], signals[i], datetime.now(UTC)))

    [incident] = incidents.listed(replicas[0])
    assert sorted(s.source_id for s in incident.signals) == sorted(s.source_id for s in signals)


def test_closing_keeps_the_timeline_and_a_new_signal_opens_it_again(store: Store) -> None:  # noqa: F811
    now = datetime.now(UTC)
    incidents.record(store, _signal(health_event(KEY)), now)

    closed = incidents.close(store, KEY, incidents.FALSE_POSITIVE, "test key", "U0ALICE", now)
    again = incidents.record(store, _signal(guardduty_event(KEY)), now).incident

    assert closed.state == incidents.FALSE_POSITIVE and closed.reason == "test key"
    assert again.state == incidents.OPEN
    assert [e.text.split(":")[0] for e in again.timeline] == [
        "health",
        "closed as false-positive by U0ALICE",
        "reopened by guardduty",
    ]
