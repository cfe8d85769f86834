"""The state store an ``IAM_BOT_STATE`` URL names: SQLite in a file, or a DynamoDB table.

Apart from :mod:`bot.access.store` (the contract and SQLite), which DynamoDB's store builds on:
choosing between them here keeps that module free of the store built on it.
"""

from __future__ import annotations

from urllib.parse import urlparse

from bot.access import dynamo
from bot.access.store import SqliteStore, Store


def open_store(url: str, *, retention_days: int | None = None) -> Store:
    """``sqlite:///relative.db``, ``sqlite:////abs/path.db``, a plain path, or
    ``dynamodb://TABLE`` (region and endpoint from the usual AWS settings), whose finished records
    expire ``retention_days`` after they finish (SQLite keeps everything)."""
    parsed = urlparse(url)
    if parsed.scheme in ("", "file"):
        return SqliteStore(parsed.path or url)
    if parsed.scheme == "sqlite":
        path = url[len("sqlite:///") :] if url.startswith("sqlite:///") else ""
        if not path:
            raise ValueError(
                "IAM_BOT_STATE: use sqlite:///relative/path.db or sqlite:////abs/path.db"
            )
        return SqliteStore(path)
    if parsed.scheme == "dynamodb":
        return dynamo.DynamoStore(
            dynamo.table_name(url),
            retention_days=retention_days or dynamo.DEFAULT_RETENTION_DAYS,
        )
    raise ValueError(
        f"IAM_BOT_STATE: unsupported store scheme {parsed.scheme!r} (supported: sqlite, dynamodb)"
    )
