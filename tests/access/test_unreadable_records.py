"""Both stores (SQLite, DynamoDB on the moto server) skip a record whose stored data is not a
JSON object, and report it once; counting and the newest window read no record at all or a
bounded few. The scheduler runs every due step beside one it cannot read or has no handler for.
(What people see of this, over HTTP, is in tests/e2e/test_bad_records.py.)"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from bot.access import dynamo
from bot.access.backends import open_store
from bot.access.records import Unreadable, unreadable_counts
from bot.access.schedule import DONE, KIND, WAITING, Scheduler
from bot.access.store import Record, SqliteStore, Store

# (record ID, the text to store as its data; with a journal entry's seq, as that entry's detail)
Corrupt = Callable[..., None]
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "dynamodb"])
def stored(request, tmp_path) -> tuple[Store, Corrupt]:
    """A store, and how someone editing its file or table by hand overwrites a record's data."""
    if request.param == "sqlite":
        path = tmp_path / "state.sqlite3"

        def in_file(record_id: str, text: str, seq: int = 0) -> None:
            with sqlite3.connect(path) as db:
                if seq:
                    sql, key = "UPDATE journal SET detail = ? WHERE record_id = ? AND seq = ?", seq
                    db.execute(sql, (text, record_id, key))
                else:
                    db.execute("UPDATE records SET data = ? WHERE id = ?", (text, record_id))

        return SqliteStore(path), in_file
    request.getfixturevalue("aws")
    table = f"iam-bot-{uuid.uuid4().hex[:8]}"
    dynamo.create_table(table)

    def in_table(record_id: str, text: str, seq: int = 0) -> None:
        boto3.client("dynamodb").update_item(
            TableName=table,
            Key={"id": {"S": record_id}, "seq": {"N": str(seq)}},
            UpdateExpression="SET #data = :data",
            ExpressionAttributeNames={"#data": "detail" if seq else "data"},
            ExpressionAttributeValues={":data": {"S": text}},
        )

    return open_store(f"dynamodb://{table}"), in_table


def _put(store: Store, record_id: str, state: str = "pending", kind: str = "request") -> None:
    assert store.put_if_version(Record(record_id, kind, state, {"n": 1})) is not None


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", '"a string"'])
def test_data_that_is_no_json_object_is_skipped_and_reported_once(
    stored: tuple[Store, Corrupt], text: str
) -> None:
    store, corrupt = stored
    bad = f"bad-{uuid.uuid4().hex[:8]}"
    for record_id in ("before", bad, "after"):
        _put(store, record_id)
    corrupt(bad, text)
    counted = unreadable_counts().get("request", 0)

    listed = [r.id for r in store.list_by_state("request", ["pending"])]
    window = [r.id for r in store.latest("request", ["pending"], 10)]
    with pytest.raises(Unreadable, match=f"id `{bad}`"):
        store.get(bad)

    assert sorted(listed) == sorted(window) == ["after", "before"]
    assert unreadable_counts()["request"] == counted + 1  # one record, read three times


def test_a_journal_entry_that_cannot_be_read_is_skipped(stored: tuple[Store, Corrupt]) -> None:
    store, corrupt = stored
    run = f"run-{uuid.uuid4().hex[:8]}"
    for step in ("a", "b", "c"):
        store.append_journal(run, step, "done", n=1)
    corrupt(run, "{not json", 2)
    counted = unreadable_counts().get("journal", 0)

    assert [e.step for e in store.journal(run)] == ["a", "c"]
    assert unreadable_counts()["journal"] == counted + 1


def test_counts_by_state_read_no_record(stored: tuple[Store, Corrupt]) -> None:
    store, corrupt = stored
    for i, state in enumerate(["pending", "done", "done", "failed"]):
        _put(store, f"r{i}", state)
    _put(store, "job", "done", kind="schedule")
    corrupt("r1", "{not json")  # counted all the same: counting reads no data

    counts = store.count_by_state("request", ["pending", "done", "failed", "expired"])

    assert counts == {"pending": 1, "done": 2, "failed": 1, "expired": 0}


def test_the_newest_window_is_bounded_and_newest_first(stored: tuple[Store, Corrupt]) -> None:
    store, _ = stored
    for i in range(6):
        _put(store, f"r{i}", ["pending", "done"][i % 2])
    changed = store.get("r0")
    assert changed is not None and store.put_if_version(changed) is not None  # r0 changed last

    assert [r.id for r in store.latest("request", ["pending", "done"], 3)] == ["r0", "r5", "r4"]


def test_every_due_step_runs_beside_an_unreadable_or_unknown_one(tmp_path) -> None:
    store = SqliteStore(tmp_path / "state.sqlite3")
    scheduler = Scheduler(store, lambda: NOW)
    ran: list[str] = []
    scheduler.handlers["known"] = lambda job: ran.append(job.request_id) or DONE
    good = scheduler.add("known", "r-good", NOW - timedelta(minutes=1))
    newer = scheduler.add("from-a-newer-bot", "r-newer", NOW - timedelta(minutes=1))
    broken = Record("broken", KIND, WAITING, {"step": "known"})  # no request, no due time
    assert store.put_if_version(broken) is not None

    assert scheduler.run_due() == 1

    assert ran == ["r-good"]
    assert scheduler.get(good.id).state == DONE
    assert scheduler.get(newer.id).state == WAITING  # left for a bot that knows its step
