"""The state store on one DynamoDB table, for several replicas (or AWS Lambda) sharing state.

It keeps the :class:`~bot.access.store.Store` contract with DynamoDB's conditional writes:

- A record is the item ``(id, seq=0)``; its journal entries are ``(id, seq=1..)`` in the same
  partition, so a record and its journal are read with one key and ordered by the sort key.
- ``put_if_version`` is one conditional ``PutItem``: absent for version 0, ``version = v``
  otherwise. Of racing writers DynamoDB lets exactly one through; the others get
  ``ConditionalCheckFailedException`` and see None.
- ``append_journal`` takes the next ``seq`` with a conditional put (the item must not exist),
  reading the last one again when another writer took it first.
- ``list_by_state`` is a Query per state on the sparse GSI ``by_state`` (partition
  ``kind#state``, sort ``updated_at``): never a Scan. A GSI is eventually consistent, so a
  listing may briefly miss or show an old version; every caller claims what it lists with
  ``put_if_version``, which reads the table itself and refuses a stale version.
- ``count_by_state`` asks the same index for counts only, and ``latest`` reads one page per
  state from its newest end: neither returns the history, however long it grows.
- A record that reaches a finished state carries ``expires_at`` (epoch seconds, the table's
  TTL attribute) ``retention_days`` later; leaving that state removes it. Journal entries expire
  ``retention_days`` after they are written, so they never outlive their record's run by more
  than the run took. The audit channel and the logs keep the lasting trail.

Data is stored as a JSON string (the contract is JSON documents), so DynamoDB's own number
type (``Decimal`` in boto3) never reaches the bot. Secrets are never written, as with SQLite.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from bot.access.records import read_one, readable
from bot.access.store import JournalEntry, Record, document
from bot.iam.aws import Aws
from bot.process_settings import DEFAULT_RETENTION_DAYS

INDEX = "by_state"
TTL_ATTRIBUTE = "expires_at"
# The states a record does not leave by itself: requests (done, failed, denied, cancelled,
# expired), scheduled steps (done, failed, cancelled) and Slack outbox entries (sent, failed).
FINISHED = frozenset({"done", "failed", "denied", "cancelled", "expired", "sent"})
_RECORD_SEQ = 0
_TABLE_NAME = re.compile(r"[A-Za-z0-9_.-]{3,255}")
_DAY_S = 86_400
# Key names go through placeholders: DynamoDB reserves many plain words in expressions.
_KEY_NAMES = {"#id": "id", "#seq": "seq"}
_ABSENT = {  # create-only: the item with this key must not exist yet
    "ConditionExpression": "attribute_not_exists(#id)",
    "ExpressionAttributeNames": {"#id": "id"},
}


def table_name(url: str) -> str:
    """The table of ``dynamodb://TABLE``; ValueError (naming the setting) for anything else."""
    table = url.removeprefix("dynamodb://")
    if table == url or not _TABLE_NAME.fullmatch(table):
        raise ValueError("IAM_BOT_STATE: use dynamodb://TABLE (3-255 of A-Z a-z 0-9 _ . -)")
    return table


def client() -> Any:
    """A plain DynamoDB client: region and endpoint from the usual AWS settings (``AWS_REGION``,
    ``AWS_ENDPOINT_URL``...). It comes from the gateway only for its client configuration
    (standard retries, a pool for the workers): boto3 stays behind bot/iam/aws.py, and the
    store's calls are not the IAM work the bot's derived policy covers."""
    return Aws().client("dynamodb")


def create_table(table: str) -> None:
    """The table with its keys, the ``by_state`` index and TTL, for development; production
    tables come from the deploy template. Waits until the table is active."""
    try:
        _create(table, client())
    except Exception as exc:  # botocore's errors; botocore stays behind aws.py
        raise RuntimeError(f"DynamoDB table {table!r}: {exc}") from None


def _create(table: str, dynamodb: Any) -> None:
    dynamodb.create_table(
        TableName=table,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[
            {"AttributeName": "id", "KeyType": "HASH"},
            {"AttributeName": "seq", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "id", "AttributeType": "S"},
            {"AttributeName": "seq", "AttributeType": "N"},
            {"AttributeName": "kind_state", "AttributeType": "S"},
            {"AttributeName": "updated_at", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": INDEX,
                "KeySchema": [
                    {"AttributeName": "kind_state", "KeyType": "HASH"},
                    {"AttributeName": "updated_at", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    dynamodb.get_waiter("table_exists").wait(TableName=table)
    dynamodb.update_time_to_live(
        TableName=table,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE},
    )


class DynamoStore:
    """One DynamoDB table shared by every replica; see the module docstring for its layout."""

    def __init__(self, table: str, *, retention_days: int = DEFAULT_RETENTION_DAYS) -> None:
        self._table = table
        self._retention_s = retention_days * _DAY_S
        self._db = self._connect()

    def _connect(self) -> Any:
        """Fail at startup, in one sentence, when AWS or the table is unusable or the index is
        missing: as SQLite's schema check does (``RuntimeError``), not at the first request."""
        try:
            dynamodb = client()
            table = dynamodb.describe_table(TableName=self._table)["Table"]
        except Exception as exc:  # botocore's errors; botocore stays behind aws.py
            raise RuntimeError(f"DynamoDB table {self._table!r}: {exc}") from None
        indexes = {i["IndexName"] for i in table.get("GlobalSecondaryIndexes", [])}
        if INDEX not in indexes:
            raise RuntimeError(
                f"DynamoDB table {self._table!r} has no index {INDEX!r} "
                "(create it with `iam-bot store create` or the deploy template)"
            )
        return dynamodb

    def get(self, record_id: str) -> Record | None:
        item = self._db.get_item(
            TableName=self._table, Key=_key(record_id, _RECORD_SEQ), ConsistentRead=True
        ).get("Item")
        if item is None:
            return None
        return read_one(item, _record, item.get("kind", {}).get("S", "?"), key=_item_id)

    def put_if_version(self, record: Record) -> Record | None:
        data = json.dumps(record.data, default=str, sort_keys=True)
        stored = Record(record.id, record.kind, record.state, json.loads(data), record.version + 1)
        if record.version == 0:
            condition: dict[str, Any] = _ABSENT
        else:
            condition = {
                "ConditionExpression": "#version = :v",
                "ExpressionAttributeNames": {"#version": "version"},
                "ExpressionAttributeValues": {":v": {"N": str(record.version)}},
            }
        item = {
            **_key(record.id, _RECORD_SEQ),
            "kind": {"S": record.kind},
            "state": {"S": record.state},
            "kind_state": {"S": f"{record.kind}#{record.state}"},
            "version": {"N": str(stored.version)},
            "data": {"S": data},
            "updated_at": {"S": datetime.now(UTC).isoformat()},
        }
        if record.state in FINISHED:
            item[TTL_ATTRIBUTE] = self._expiry()
        return stored if self._put(item, **condition) else None

    def list_by_state(self, kind: str, states: Iterable[str]) -> list[Record]:
        items = [
            item
            for state in dict.fromkeys(states)
            for page in self._db.get_paginator("query").paginate(**self._in_state(kind, state))
            for item in page["Items"]
        ]
        items.sort(key=_updated_at)
        return readable(items, _record, kind, key=_item_id)

    def count_by_state(self, kind: str, states: Iterable[str]) -> dict[str, int]:
        """A Query per state that returns counts, not items (DynamoDB still reads them)."""
        return {
            state: sum(
                page["Count"]
                for page in self._db.get_paginator("query").paginate(
                    **self._in_state(kind, state), Select="COUNT"
                )
            )
            for state in dict.fromkeys(states)
        }

    def latest(self, kind: str, states: Iterable[str], limit: int) -> list[Record]:
        """The newest ``limit`` of each state (one page each, newest first), then the newest
        ``limit`` of those."""
        items = [
            item
            for state in dict.fromkeys(states)
            for item in self._db.query(
                **self._in_state(kind, state), ScanIndexForward=False, Limit=limit
            )["Items"]
        ]
        items.sort(key=_updated_at, reverse=True)
        return readable(items[:limit], _record, kind, key=_item_id)

    def _in_state(self, kind: str, state: str) -> dict[str, Any]:
        """A Query of the ``by_state`` index for the records of ``kind`` in ``state``."""
        return {
            "TableName": self._table,
            "IndexName": INDEX,
            "KeyConditionExpression": "kind_state = :ks",
            "ExpressionAttributeValues": {":ks": {"S": f"{kind}#{state}"}},
        }

    def purge(self, kind: str, state: str, before: datetime) -> int:
        """One Query on ``by_state`` (its sort key is ``updated_at``), then a delete per record;
        TTL would take them only ``retention_days`` after they were written. The index is
        eventually consistent and another replica may write a record between the query and
        its delete: each delete holds only if the record is still what the query matched."""
        matched = {
            ":ks": {"S": f"{kind}#{state}"},
            ":before": {"S": before.astimezone(UTC).isoformat()},
        }
        pages = self._db.get_paginator("query").paginate(
            TableName=self._table,
            IndexName=INDEX,
            KeyConditionExpression="kind_state = :ks AND updated_at < :before",
            ExpressionAttributeValues=matched,
            ProjectionExpression="#id",
            ExpressionAttributeNames={"#id": "id"},
        )
        ids = [item["id"]["S"] for page in pages for item in page["Items"]]
        return sum(self._delete_if(record_id, matched) for record_id in ids)

    def _delete_if(self, record_id: str, matched: dict[str, Any]) -> bool:
        try:
            self._db.delete_item(
                TableName=self._table,
                Key=_key(record_id, _RECORD_SEQ),
                ConditionExpression="kind_state = :ks AND updated_at < :before",
                ExpressionAttributeValues=matched,
            )
        except self._db.exceptions.ConditionalCheckFailedException:
            return False  # written again since: no longer one to remove
        return True

    def append_journal(self, record_id: str, step: str, event: str, **detail: Any) -> None:
        item = {
            "at": {"S": datetime.now(UTC).isoformat()},
            "step": {"S": step},
            "event": {"S": event},
            "detail": {"S": json.dumps(detail, default=str)},
            TTL_ATTRIBUTE: self._expiry(),
        }
        seq = self._last_seq(record_id) + 1
        while not self._put({**item, **_key(record_id, seq)}, **_ABSENT):
            seq = self._last_seq(record_id) + 1  # another writer took it: after theirs

    def journal(self, record_id: str) -> list[JournalEntry]:
        pages = self._db.get_paginator("query").paginate(
            TableName=self._table,
            KeyConditionExpression="#id = :id AND #seq > :record",
            ExpressionAttributeNames=_KEY_NAMES,
            ExpressionAttributeValues={
                ":id": {"S": record_id},
                ":record": {"N": str(_RECORD_SEQ)},
            },
            ConsistentRead=True,
        )
        items = (item for page in pages for item in page["Items"])
        return readable(items, _entry, "journal", key=lambda item: f"{record_id}#{_seq(item)}")

    def _last_seq(self, record_id: str) -> int:
        """The journal's last seq (0 for none), read consistently from the table."""
        items = self._db.query(
            TableName=self._table,
            KeyConditionExpression="#id = :id",
            ExpressionAttributeNames=_KEY_NAMES,
            ExpressionAttributeValues={":id": {"S": record_id}},
            ProjectionExpression="#seq",
            ScanIndexForward=False,
            Limit=1,
            ConsistentRead=True,
        )["Items"]
        return int(items[0]["seq"]["N"]) if items else 0

    def _put(self, item: dict[str, Any], **condition: Any) -> bool:
        """A conditional put; False when the condition failed (someone else wrote first)."""
        try:
            self._db.put_item(TableName=self._table, Item=item, **condition)
        except self._db.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def _expiry(self) -> dict[str, str]:
        return {"N": str(int(time.time()) + self._retention_s)}


def _key(record_id: str, seq: int) -> dict[str, Any]:
    return {"id": {"S": record_id}, "seq": {"N": str(seq)}}


def _record(item: dict[str, Any]) -> Record:
    return Record(
        id=item["id"]["S"],
        kind=item["kind"]["S"],
        state=item["state"]["S"],
        data=document(item["data"]["S"]),
        version=int(item["version"]["N"]),
    )


def _entry(item: dict[str, Any]) -> JournalEntry:
    return JournalEntry(
        item["id"]["S"],
        int(item["seq"]["N"]),
        datetime.fromisoformat(item["at"]["S"]),
        item["step"]["S"],
        item["event"]["S"],
        document(item["detail"]["S"]),
    )


def _seq(item: dict[str, Any]) -> str:
    return str(item.get("seq", {}).get("N", "?"))


def _item_id(item: dict[str, Any]) -> str:
    return str(item.get("id", {}).get("S", "?"))


def _updated_at(item: dict[str, Any]) -> str:
    return str(item.get("updated_at", {}).get("S", ""))
