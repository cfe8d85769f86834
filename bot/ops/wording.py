"""Plain words for durations, shared by every room that tells people how long something takes."""

from __future__ import annotations

_UNITS = ((7 * 24 * 60, "week"), (24 * 60, "day"), (60, "hour"), (1, "minute"))


def duration(minutes: int) -> str:
    """``1440`` -> "24 hours", ``90`` -> "90 minutes", ``10080`` -> "1 week": the largest unit
    that says it exactly (hours up to two days, as people say "36 hours", not "1.5 days")."""
    if minutes <= 0:
        return "no time"
    for size, unit in _UNITS:
        if minutes % size == 0 and (unit != "day" or minutes > 2 * 24 * 60):
            count = minutes // size
            return f"{count} {unit}" + ("" if count == 1 else "s")
    return f"{minutes} minutes"
