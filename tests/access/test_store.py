"""The state store: compare-and-set, the journal, schema versioning, several writers."""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import replace

import pytest

from bot.access.backends import open_store
from bot.access.store import Record, SqliteStore


@pytest.fixture
def store(tmp_path) -> SqliteStore:
    return SqliteStore(tmp_path / "state.sqlite3")


def test_create_then_compare_and_set(store: SqliteStore) -> None:
    created = store.put_if_version(Record("r1", "request", "pending", {"a": 1}))
    assert created is not None and created.version == 1
    assert store.put_if_version(Record("r1", "request", "pending", {"a": 2})) is None  # exists
    moved = store.put_if_version(replace(created, state="approved", data={"a": 3}))
    assert moved is not None and moved.version == 2
    assert store.put_if_version(replace(created, state="denied")) is None  # stale version loses
    assert store.get("r1") == Record("r1", "request", "approved", {"a": 3}, 2)


def test_only_one_of_many_racing_writers_wins(tmp_path) -> None:
    path = tmp_path / "race.sqlite3"
    first = SqliteStore(path).put_if_version(Record("r", "request", "pending", {}))
    winners: list[str] = []
    barrier = threading.Barrier(8)

    def writer(name: str) -> None:
        store = SqliteStore(path)  # its own connection, as a second replica would have
        barrier.wait()
        if store.put_if_version(replace(first, state="approved", data={"by": name})):
            winners.append(name)

    threads = [threading.Thread(target=writer, args=(f"w{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(winners) == 1
    assert SqliteStore(path).get("r").data["by"] == winners[0]


def test_journal_is_ordered_per_record(store: SqliteStore) -> None:
    store.append_journal("r1", "step-a", "start")
    store.append_journal("r2", "step-x", "start")
    store.append_journal("r1", "step-a", "done", note="ok")
    entries = store.journal("r1")
    assert [(e.seq, e.step, e.event) for e in entries] == [
        (1, "step-a", "start"),
        (2, "step-a", "done"),
    ]
    assert entries[1].detail == {"note": "ok"}


def test_list_by_state(store: SqliteStore) -> None:
    for i, state in enumerate(["pending", "running", "done", "running"]):
        store.put_if_version(Record(f"r{i}", "request", state, {}))
    store.put_if_version(Record("s", "schedule", "running", {}))
    assert sorted(r.id for r in store.list_by_state("request", ["running"])) == ["r1", "r3"]


def test_schema_is_versioned(tmp_path) -> None:
    path = tmp_path / "v.sqlite3"
    SqliteStore(path)
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone() == (1,)
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone() == ("wal",)
    sqlite3.connect(path).execute("PRAGMA user_version = 99")
    with pytest.raises(RuntimeError, match="newer"):
        SqliteStore(path)


def test_store_urls(tmp_path) -> None:
    assert open_store(f"sqlite:///{tmp_path}/a.db").get("x") is None
    with pytest.raises(ValueError, match="unsupported"):
        open_store("redis://localhost")
