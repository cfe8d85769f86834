"""Plain words for counts, durations and ages, shared by every room that tells people how many,
how long or how long ago ("1 account", "24 hours", "today"), so no message says "1 accounts",
"1440 minutes" or "0 days ago". It sits on the ground floor and imports nothing from the bot, so
the lowest room (bot/iam, for its findings) can use it without reaching up into a higher one."""

from __future__ import annotations

from datetime import timedelta

_UNITS = ((7 * 24 * 60, "week"), (24 * 60, "day"), (60, "hour"), (1, "minute"))


def noun(n: int, one: str, many: str | None = None) -> str:
    """The noun for ``n`` things: ``one`` for one, else ``many`` (default ``one`` + "s")."""
    return one if n == 1 else many or one + "s"


def counted(n: int, one: str, many: str | None = None) -> str:
    """``n`` things, the noun agreeing with the number: "1 user", "3 users", "0 users";
    ``many`` for a plural that is not ``one`` + "s" ("1 inline policy", "2 inline policies")."""
    return f"{n} {noun(n, one, many)}"


def duration(minutes: int) -> str:
    """``1440`` -> "24 hours", ``90`` -> "90 minutes", ``10080`` -> "1 week": the largest unit
    that says it exactly (hours up to two days, as people say "36 hours", not "1.5 days")."""
    if minutes <= 0:
        return "no time"
    for size, unit in _UNITS:
        if minutes % size == 0 and (unit != "day" or minutes > 2 * 24 * 60):
            return counted(minutes // size, unit)
    return counted(minutes, "minute")


def days_ago(days: int) -> str:
    """A day-sized age (a key's creation, its last use): "today", "1 day ago", "30 days ago"."""
    return "today" if days <= 0 else f"{counted(days, 'day')} ago"


def ago(elapsed: timedelta) -> str:
    """A moment's age in the largest whole unit people use: "just now", "1 minute ago",
    "3 hours ago", then days as :func:`days_ago` says them."""
    minutes = int(elapsed.total_seconds() // 60)
    if minutes < 1:
        return "just now"
    if minutes < 60:
        return f"{counted(minutes, 'minute')} ago"
    if minutes < 24 * 60:
        return f"{counted(minutes // 60, 'hour')} ago"
    return days_ago(minutes // (24 * 60))
