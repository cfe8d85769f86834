"""Where the bot remembers requests, decisions and every step it took.

A small interface (get, put-if-version, list-by-state, count-by-state, the newest window,
append/read journal) that a DynamoDB table with conditional writes can satisfy as well as
SQLite does. A stored record or journal entry that cannot be read (a hand edit, a corruption)
is skipped by every list and reported once (:mod:`bot.access.records`). Every state change is a
compare-and-set on the record's version: of two replicas or two clicks racing to change the
same record, exactly one wins and the other sees what the winner wrote. Nothing secret is ever
written here; records hold IDs, names and decisions only.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from bot.access.records import read_one, readable

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Record:
    """A versioned document. ``version`` 0 means "not stored yet"."""

    id: str
    kind: str
    state: str
    data: dict[str, Any]
    version: int = 0


@dataclass(frozen=True)
class JournalEntry:
    record_id: str
    seq: int
    at: datetime
    step: str
    event: str
    detail: dict[str, Any] = field(default_factory=dict)


class Store(Protocol):
    def get(self, record_id: str) -> Record | None: ...

    def put_if_version(self, record: Record) -> Record | None:
        """Write ``record`` if the stored version still equals ``record.version``.

        Returns the stored record (version + 1), or None if someone else wrote first.
        """

    def list_by_state(self, kind: str, states: Iterable[str]) -> list[Record]: ...

    def purge(self, kind: str, state: str, before: datetime) -> int:
        """Remove the records of ``kind`` in ``state`` last written before ``before``, for
        records only worth keeping a while (delivery claims). Returns how many."""

    def count_by_state(self, kind: str, states: Iterable[str]) -> dict[str, int]:
        """How many records of ``kind`` are in each of ``states``, without reading them."""

    def latest(self, kind: str, states: Iterable[str], limit: int) -> list[Record]:
        """At most ``limit`` records of ``kind`` in ``states``, the most recently written
        first: a bounded window, however long the history."""

    def append_journal(self, record_id: str, step: str, event: str, **detail: Any) -> None: ...

    def journal(self, record_id: str) -> list[JournalEntry]: ...


class SqliteStore:
    """One SQLite file in WAL mode: readers never block the writer, and several processes
    (replicas on one host) can share it, serialised by SQLite's own locking."""

    def __init__(self, path: str | Path) -> None:
        self._path = str(path)
        self._local = threading.local()
        self._migrate()

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self._path, timeout=30, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA busy_timeout=30000")
            self._local.db = db
        return db

    def _migrate(self) -> None:
        db = self._db()
        (version,) = db.execute("PRAGMA user_version").fetchone()
        if version > SCHEMA_VERSION:
            raise RuntimeError(
                f"state store schema {version} is newer than this bot ({SCHEMA_VERSION})"
            )
        if version < 1:
            db.executescript(
                """
                BEGIN;
                CREATE TABLE IF NOT EXISTS records (
                    id TEXT PRIMARY KEY, kind TEXT NOT NULL, state TEXT NOT NULL,
                    version INTEGER NOT NULL, data TEXT NOT NULL, updated_at TEXT NOT NULL);
                CREATE INDEX IF NOT EXISTS records_by_state ON records (kind, state);
                CREATE TABLE IF NOT EXISTS journal (
                    record_id TEXT NOT NULL, seq INTEGER NOT NULL, at TEXT NOT NULL,
                    step TEXT NOT NULL, event TEXT NOT NULL, detail TEXT NOT NULL,
                    PRIMARY KEY (record_id, seq));
                PRAGMA user_version = 1;
                COMMIT;
                """
            )
        # The newest window (:meth:`latest`) reads this index backwards, as it reads the
        # ``by_state`` index on DynamoDB. An index changes no table, so a bot of any version reads a
        # file that has it: no new schema version.
        db.execute(
            "CREATE INDEX IF NOT EXISTS records_by_state_updated "
            "ON records (kind, state, updated_at)"
        )

    def get(self, record_id: str) -> Record | None:
        row = (
            self._db()
            .execute(
                "SELECT id, kind, state, data, version FROM records WHERE id = ?", (record_id,)
            )
            .fetchone()
        )
        return read_one(row, _record, str(row[1]), key=_row_id) if row else None

    def put_if_version(self, record: Record) -> Record | None:
        now = datetime.now(UTC).isoformat()
        data = json.dumps(record.data, default=str, sort_keys=True)
        db = self._db()
        if record.version == 0:
            cursor = db.execute(
                "INSERT OR IGNORE INTO records (id, kind, state, version, data, updated_at) "
                "VALUES (?, ?, ?, 1, ?, ?)",
                (record.id, record.kind, record.state, data, now),
            )
        else:
            cursor = db.execute(
                "UPDATE records SET state = ?, data = ?, version = version + 1, updated_at = ? "
                "WHERE id = ? AND version = ?",
                (record.state, data, now, record.id, record.version),
            )
        if cursor.rowcount != 1:
            return None
        return Record(record.id, record.kind, record.state, json.loads(data), record.version + 1)

    def list_by_state(self, kind: str, states: Iterable[str]) -> list[Record]:
        states = list(states)
        marks = ",".join("?" * len(states))
        rows = self._db().execute(
            "SELECT id, kind, state, data, version FROM records "
            f"WHERE kind = ? AND state IN ({marks}) ORDER BY updated_at",
            (kind, *states),
        )
        return readable(rows, _record, kind, key=_row_id)

    def count_by_state(self, kind: str, states: Iterable[str]) -> dict[str, int]:
        states = list(states)
        marks = ",".join("?" * len(states))
        rows = self._db().execute(
            "SELECT state, COUNT(*) FROM records "
            f"WHERE kind = ? AND state IN ({marks}) GROUP BY state",
            (kind, *states),
        )
        return {state: 0 for state in states} | dict(rows.fetchall())

    def latest(self, kind: str, states: Iterable[str], limit: int) -> list[Record]:
        """The newest ``limit`` of each state, then the newest ``limit`` of those."""
        db = self._db()
        rows = [
            row
            for state in dict.fromkeys(states)
            for row in db.execute(
                "SELECT id, kind, state, data, version, updated_at FROM records "
                "WHERE kind = ? AND state = ? ORDER BY updated_at DESC LIMIT ?",
                (kind, state, limit),
            )
        ]
        rows.sort(key=lambda row: row[5], reverse=True)
        return readable(rows[:limit], _record, kind, key=_row_id)

    def purge(self, kind: str, state: str, before: datetime) -> int:
        cursor = self._db().execute(
            "DELETE FROM records WHERE kind = ? AND state = ? AND updated_at < ?",
            (kind, state, before.astimezone(UTC).isoformat()),
        )
        return cursor.rowcount

    def append_journal(self, record_id: str, step: str, event: str, **detail: Any) -> None:
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            (seq,) = db.execute(
                "SELECT COALESCE(MAX(seq), 0) + 1 FROM journal WHERE record_id = ?", (record_id,)
            ).fetchone()
            db.execute(
                "INSERT INTO journal (record_id, seq, at, step, event, detail) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    record_id,
                    seq,
                    datetime.now(UTC).isoformat(),
                    step,
                    event,
                    json.dumps(detail, default=str),
                ),
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def journal(self, record_id: str) -> list[JournalEntry]:
        rows = self._db().execute(
            "SELECT record_id, seq, at, step, event, detail FROM journal "
            "WHERE record_id = ? ORDER BY seq",
            (record_id,),
        )
        return readable(rows, _entry, "journal", key=lambda row: f"{row[0]}#{row[1]}")


def _record(row: tuple[Any, ...]) -> Record:
    return Record(id=row[0], kind=row[1], state=row[2], data=document(row[3]), version=row[4])


def document(text: str) -> dict[str, Any]:
    """A record's data as stored; TypeError for JSON that is not an object (a hand edit)."""
    data = json.loads(text)
    if not isinstance(data, dict):
        raise TypeError("data is not a JSON object")
    return data


def _entry(row: tuple[Any, ...]) -> JournalEntry:
    return JournalEntry(
        row[0], row[1], datetime.fromisoformat(row[2]), row[3], row[4], document(row[5])
    )


def _row_id(row: tuple[Any, ...]) -> str:
    return str(row[0])
