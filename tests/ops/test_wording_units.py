"""Durations read as people say them ("24 hours", not "1440 minutes")."""

from __future__ import annotations

import pytest

from bot.ops.wording import duration


@pytest.mark.parametrize(
    ("minutes", "words"),
    [
        (0, "no time"),
        (1, "1 minute"),
        (90, "90 minutes"),
        (60, "1 hour"),
        (1440, "24 hours"),
        (2880, "48 hours"),
        (4320, "3 days"),
        (10080, "1 week"),
        (4380, "73 hours"),
    ],
)
def test_durations_in_words(minutes: int, words: str) -> None:
    assert duration(minutes) == words
