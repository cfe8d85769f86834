"""One contract for every state store: SQLite and DynamoDB (moto server, through the sandbox
proxy) pass the same tests. Each test opens the store through ``open_store`` as the bot does;
``reopen`` opens another instance on the same file or table, as a second replica would."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

import boto3
import pytest

from bot.access import dynamo
from bot.access.backends import open_store
from bot.access.store import Record, Store

Opener = Callable[[], Store]


@pytest.fixture(params=["sqlite", "dynamodb"])
def reopen(request, tmp_path) -> Opener:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/state.sqlite3"
    else:
        request.getfixturevalue("aws")  # moto, emptied, with boto3 pointed at it
        table = f"iam-bot-{uuid.uuid4().hex[:8]}"
        dynamo.create_table(table)  # what `iam-bot store create` does
        url = f"dynamodb://{table}"
    return lambda: open_store(url)


@pytest.fixture
def store(reopen: Opener) -> Store:
    return reopen()


def _race(count: int, work: Callable[[int], None]) -> None:
    """``count`` threads start ``work`` at the same moment; the first error any of them met is
    raised here, so a writer that died is not mistaken for a lost write."""
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        barrier.wait()
        try:
            work(i)
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def test_create_if_absent_then_compare_and_set(store: Store) -> None:
    assert store.get("r1") is None
    created = store.put_if_version(Record("r1", "request", "pending", {"a": 1}))
    assert created == Record("r1", "request", "pending", {"a": 1}, 1)
    assert store.put_if_version(Record("r1", "request", "pending", {"a": 2})) is None  # exists
    moved = store.put_if_version(replace(created, state="approved", data={"a": 3}))
    assert moved is not None and moved.version == 2
    assert store.put_if_version(replace(created, state="denied")) is None  # stale version loses
    assert store.put_if_version(replace(moved, version=7)) is None  # a version never stored
    assert store.get("r1") == Record("r1", "request", "approved", {"a": 3}, 2)


def test_a_version_that_never_matches_writes_nothing(store: Store) -> None:
    """`iam-bot serve` probes the store this way at startup."""
    assert store.put_if_version(Record("probe", "check", "check", {}, -1)) is None
    assert store.get("probe") is None


def test_json_documents_come_back_as_written(store: Store) -> None:
    data = {"n": 3, "x": 1.5, "big": 2**53, "none": None, "list": [1, "b"], "é": {"ok": True}}
    stored = store.put_if_version(Record("doc", "request", "pending", data))
    assert stored is not None and stored.data == data
    fetched = store.get("doc")
    assert fetched is not None and fetched.data == data
    assert type(fetched.data["n"]) is int and type(fetched.version) is int


def test_of_eight_racing_writers_one_wins(reopen: Opener) -> None:
    first = reopen().put_if_version(Record("r", "request", "pending", {}))
    assert first is not None
    stores = [reopen() for _ in range(8)]  # each its own connection, as replicas have
    winners: list[int] = []

    def write(i: int) -> None:
        if stores[i].put_if_version(replace(first, state="approved", data={"by": i})):
            winners.append(i)

    _race(8, write)
    assert len(winners) == 1
    assert reopen().get("r") == Record("r", "request", "approved", {"by": winners[0]}, 2)


def test_of_eight_racing_creators_one_wins(reopen: Opener) -> None:
    stores = [reopen() for _ in range(8)]
    winners: list[int] = []

    def create(i: int) -> None:
        if stores[i].put_if_version(Record("lock", "open-lock", "held", {"by": i})):
            winners.append(i)

    _race(8, create)
    assert len(winners) == 1
    assert reopen().get("lock").data == {"by": winners[0]}


def test_journal_is_ordered_per_record(store: Store) -> None:
    store.append_journal("r1", "step-a", "start")
    store.append_journal("r2", "step-x", "start")
    store.append_journal("r1", "step-a", "done", note="ok", count=2)
    entries = store.journal("r1")
    assert [(e.record_id, e.seq, e.step, e.event) for e in entries] == [
        ("r1", 1, "step-a", "start"),
        ("r1", 2, "step-a", "done"),
    ]
    assert entries[1].detail == {"note": "ok", "count": 2}
    assert entries[0].at <= entries[1].at and entries[1].at.tzinfo is not None
    assert [e.seq for e in store.journal("r2")] == [1]
    assert store.journal("none") == []


def test_the_journal_and_its_record_do_not_mix(store: Store) -> None:
    store.put_if_version(Record("r", "request", "running", {}))
    store.append_journal("r", "s", "start")
    assert [e.seq for e in store.journal("r")] == [1]
    assert store.get("r") == Record("r", "request", "running", {}, 1)


def test_concurrent_appends_take_every_seq_once_in_order(reopen: Opener) -> None:
    stores = [reopen() for _ in range(8)]

    def append(i: int) -> None:
        for n in range(6):
            stores[i].append_journal("r", f"writer-{i}", "step", n=n)

    _race(8, append)
    entries = reopen().journal("r")
    assert [e.seq for e in entries] == list(range(1, 49))
    for i in range(8):  # each writer's own entries in the order it wrote them
        assert [e.detail["n"] for e in entries if e.step == f"writer-{i}"] == list(range(6))


def test_list_by_state(store: Store) -> None:
    for i, state in enumerate(["pending", "running", "done", "running", "failed"]):
        store.put_if_version(Record(f"r{i}", "request", state, {"i": i}))
    store.put_if_version(Record("s", "schedule", "running", {}))
    assert [r.id for r in store.list_by_state("request", ["running"])] == ["r1", "r3"]
    finished = store.list_by_state("request", ["done", "failed", "cancelled"])
    assert sorted(r.id for r in finished) == ["r2", "r4"]
    assert store.list_by_state("request", []) == []
    assert [r.id for r in store.list_by_state("schedule", ["running"])] == ["s"]
    assert store.list_by_state("request", ["running"])[0] == Record(
        "r1", "request", "running", {"i": 1}, 1
    )


def test_purge_removes_only_older_records_of_that_kind_and_state(store: Store) -> None:
    store.put_if_version(Record("old", "delivery", "done", {}))
    store.put_if_version(Record("other-kind", "request", "done", {}))
    store.put_if_version(Record("other-state", "delivery", "held", {}))
    time.sleep(0.002)
    cut = datetime.now(UTC)
    time.sleep(0.002)
    store.put_if_version(Record("new", "delivery", "done", {}))

    assert store.purge("delivery", "done", cut) == 1

    assert store.get("old") is None
    assert [r.id for r in store.list_by_state("delivery", ["done"])] == ["new"]
    assert store.get("other-kind") is not None and store.get("other-state") is not None


def test_a_record_written_again_while_dynamodb_purges_is_kept(aws) -> None:
    """DynamoDB's purge reads an eventually consistent index, then deletes one record at a
    time: a record another replica writes in between is no longer one to remove."""
    table = f"iam-bot-{uuid.uuid4().hex[:8]}"
    dynamo.create_table(table)
    store = open_store(f"dynamodb://{table}")
    claim = store.put_if_version(Record("claim", "delivery", "done", {}))
    assert claim is not None
    time.sleep(0.002)
    cut = datetime.now(UTC)
    purged: list[int] = []
    aws.hold("DeleteItem")
    purging = threading.Thread(target=lambda: purged.append(store.purge("delivery", "done", cut)))
    purging.start()
    assert aws.wait_held("DeleteItem")

    store.put_if_version(replace(claim, data={"again": True}))  # written after the cut
    aws.release("DeleteItem")
    purging.join()

    assert purged == [0]
    assert store.get("claim") == Record("claim", "delivery", "done", {"again": True}, 2)


def test_a_record_moves_between_listings_with_its_state(store: Store) -> None:
    created = store.put_if_version(Record("r", "request", "pending", {}))
    store.put_if_version(replace(created, state="approved"))
    assert store.list_by_state("request", ["pending"]) == []
    assert [r.version for r in store.list_by_state("request", ["approved"])] == [2]


def test_listings_are_in_order_of_last_change(store: Store) -> None:
    records = {}
    for name in ["a", "b", "c"]:
        records[name] = store.put_if_version(Record(name, "request", "waiting", {}))
        time.sleep(0.002)
    store.put_if_version(records["a"])  # "a" changed last
    assert [r.id for r in store.list_by_state("request", ["waiting"])] == ["b", "c", "a"]


def test_reopening_sees_everything(reopen: Opener) -> None:
    first = reopen()
    created = first.put_if_version(Record("r", "request", "pending", {"k": "v"}))
    first.append_journal("r", "plan", "saved")
    again = reopen()
    assert again.get("r") == created
    assert [(e.step, e.event) for e in again.journal("r")] == [("plan", "saved")]
    assert [r.id for r in again.list_by_state("request", ["pending"])] == ["r"]
    assert again.put_if_version(created) is not None  # the version carries over
    assert first.put_if_version(created) is None


# DynamoDB only: TTL, the table's shape, and how it fails.


@pytest.fixture
def table(aws) -> str:
    name = f"iam-bot-{uuid.uuid4().hex[:8]}"
    dynamo.create_table(name)
    return name


def _item(table: str, record_id: str, seq: int = 0) -> dict:
    key = {"id": {"S": record_id}, "seq": {"N": str(seq)}}
    return boto3.client("dynamodb").get_item(TableName=table, Key=key)["Item"]


def _expires_in_days(item: dict) -> float:
    return (int(item["expires_at"]["N"]) - time.time()) / 86_400


def test_finished_records_expire_after_the_retention(table: str) -> None:
    store = open_store(f"dynamodb://{table}")
    running = store.put_if_version(Record("r", "request", "running", {}))
    assert "expires_at" not in _item(table, "r")
    failed = store.put_if_version(replace(running, state="failed"))
    assert 89.9 < _expires_in_days(_item(table, "r")) <= 90
    store.put_if_version(replace(failed, state="running"))  # a retry: it lives again
    assert "expires_at" not in _item(table, "r")
    for kind, state in [("schedule", "done"), ("outbox", "sent"), ("request", "expired")]:
        store.put_if_version(Record(f"{kind}-{state}", kind, state, {}))
        assert "expires_at" in _item(table, f"{kind}-{state}")
    store.put_if_version(Record("lock", "open-lock", "held", {}))
    assert "expires_at" not in _item(table, "lock")


def test_retention_is_configurable_and_covers_the_journal(table: str) -> None:
    store = open_store(f"dynamodb://{table}", retention_days=7)
    store.put_if_version(Record("r", "request", "done", {}))
    store.append_journal("r", "step", "done")
    assert 6.9 < _expires_in_days(_item(table, "r")) <= 7
    assert 6.9 < _expires_in_days(_item(table, "r", seq=1)) <= 7


def test_the_table_has_its_index_and_ttl(table: str) -> None:
    client = boto3.client("dynamodb")
    described = client.describe_table(TableName=table)["Table"]
    assert {k["AttributeName"]: k["KeyType"] for k in described["KeySchema"]} == {
        "id": "HASH",
        "seq": "RANGE",
    }
    [index] = described["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "by_state"
    assert [k["AttributeName"] for k in index["KeySchema"]] == ["kind_state", "updated_at"]
    ttl = client.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}


def test_listing_is_a_query_never_a_scan(table: str, aws) -> None:
    store = open_store(f"dynamodb://{table}")
    store.put_if_version(Record("r", "request", "pending", {}))
    before = len(aws.calls())
    assert [r.id for r in store.list_by_state("request", ["pending", "approved"])] == ["r"]
    assert [c.action for c in aws.calls()[before:]] == ["Query", "Query"]


def _cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``iam-bot`` as an operator runs it, against the sandbox AWS that boto3 points at."""
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_store_urls_and_missing_tables(aws) -> None:
    for url in ["dynamodb://", "dynamodb://a/b", "dynamodb://x", "dynamodb://t?x=1"]:
        with pytest.raises(ValueError, match=r"dynamodb://TABLE"):
            open_store(url)
    with pytest.raises(RuntimeError, match="missing-table"):
        open_store("dynamodb://missing-table")


def test_store_create_makes_the_table_of_iam_bot_state(aws) -> None:
    made = _cli("store", "create", IAM_BOT_STATE="dynamodb://dev-table")
    assert made.returncode == 0, made.stderr
    assert "created DynamoDB table dev-table" in made.stdout
    assert open_store("dynamodb://dev-table").get("x") is None
    again = _cli("store", "create", "--state", "dynamodb://dev-table")
    assert again.returncode == 2 and len(again.stderr.splitlines()) == 1
    assert "ResourceInUseException" in again.stderr
    sqlite = _cli("store", "create", "--state", "sqlite:///x.db")
    assert (sqlite.returncode, "use dynamodb://TABLE" in sqlite.stderr) == (2, True)


def test_serve_stops_at_a_missing_table_or_a_bad_retention(aws) -> None:
    env = {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": "test", "PORT": "0"}
    missing = _cli("serve", IAM_BOT_STATE="dynamodb://missing-table", **env)
    assert missing.returncode == 2 and len(missing.stderr.splitlines()) == 1
    assert "IAM_BOT_STATE: cannot use dynamodb://missing-table" in missing.stderr
    assert "ResourceNotFoundException" in missing.stderr
    bad = _cli("serve", IAM_BOT_RETENTION_DAYS="forever", **env)
    assert bad.returncode == 2
    assert "IAM_BOT_RETENTION_DAYS must be a number of days" in bad.stderr
