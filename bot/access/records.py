"""A stored record this bot cannot read never stalls the others.

A record may be hand-edited, corrupted, or written by a newer version of the bot (a field it
does not know, a state it has no name for). Every reader of stored records goes through
:func:`readable` (a list: the record is skipped) or :func:`read_one` (one record asked for by
its ID: :class:`Unreadable`, in words meant for whoever asked). Either way the record is logged
once per process with its kind and ID, never its data (it may hold a reason someone typed), and
counted for ``/metrics`` (:func:`unreadable_counts`).
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

log = logging.getLogger(__name__)

S = TypeVar("S")
T = TypeVar("T")
# What parsing a record that is not as this bot wrote it raises: a missing key, a value of
# another type or shape (JSON that is not, a state or a date it cannot read).
_BROKEN = (LookupError, ValueError, TypeError, AttributeError)
_REMEMBERED = 10_000  # records already reported; the oldest are forgotten beyond this

_lock = threading.Lock()
_reported: dict[tuple[str, str], None] = {}  # insertion-ordered: the oldest go first
_counts: Counter[str] = Counter()


class Unreadable(Exception):
    """One record, asked for by its ID, that cannot be read."""

    def __init__(self, kind: str, record_id: str) -> None:
        super().__init__(
            f"That {kind}'s record cannot be read; an operator has been told (id `{record_id}`)."
        )
        self.kind, self.record_id = kind, record_id


def _id_of(record: Any) -> str:
    return str(getattr(record, "id", "?"))


def readable(
    records: Iterable[S],
    parse: Callable[[S], T],
    kind: str,
    *,
    key: Callable[[S], str] = _id_of,
    skipped: Callable[[S], None] | None = None,
) -> list[T]:
    """Every record ``parse`` can read, in order; the others are reported and skipped (and
    handed to ``skipped``, e.g. to park them). ``key`` names a record in the log."""
    found = []
    for record in records:
        try:
            found.append(parse(record))
        except _BROKEN as exc:
            _report(kind, key(record), exc)
            if skipped is not None:
                skipped(record)
    return found


def read_one(
    record: S, parse: Callable[[S], T], kind: str, *, key: Callable[[S], str] = _id_of
) -> T:
    """``parse(record)``, or :class:`Unreadable` once it has been reported."""
    try:
        return parse(record)
    except _BROKEN as exc:
        _report(kind, key(record), exc)
        raise Unreadable(kind, key(record)) from None


def unreadable_counts() -> dict[str, int]:
    """How many distinct unreadable records this process has met, by kind."""
    with _lock:
        return dict(_counts)


def _report(kind: str, record_id: str, exc: Exception) -> None:
    """Log and count a record the first time this process meets it. The exception's type
    names what is wrong; its text may quote the record's data, so it is left out (a missing
    key is named: keys are the bot's own words)."""
    with _lock:
        if (kind, record_id) in _reported:
            return
        _reported[kind, record_id] = None
        if len(_reported) > _REMEMBERED:
            del _reported[next(iter(_reported))]
        _counts[kind] += 1
    what = f"missing {exc.args[0]!r}" if isinstance(exc, KeyError) and exc.args else ""
    log.error(
        "unreadable %s record %s skipped (%s%s); other records go on",
        kind, record_id, type(exc).__name__, f": {what}" if what else "",
    )  # fmt: skip
