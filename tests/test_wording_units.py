"""Durations, counts and ages read as people say them ("24 hours", not "1440 minutes"; "1 AWS
account", not "1 AWS accounts"; "today", not "0 days ago")."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.wording import ago, counted, days_ago, duration, noun


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


@pytest.mark.parametrize(
    ("n", "one", "many", "words"),
    [
        (0, "user", None, "0 users"),
        (1, "user", None, "1 user"),
        (3, "AWS account", None, "3 AWS accounts"),
        (1, "inline policy", "inline policies", "1 inline policy"),
        (2, "inline policy", "inline policies", "2 inline policies"),
    ],
)
def test_counts_agree_with_their_number(n: int, one: str, many: str | None, words: str) -> None:
    assert counted(n, one, many) == words


@pytest.mark.parametrize(("days", "words"), [(0, "today"), (1, "1 day ago"), (30, "30 days ago")])
def test_day_sized_ages(days: int, words: str) -> None:
    assert days_ago(days) == words


@pytest.mark.parametrize(
    ("elapsed", "words"),
    [
        (timedelta(seconds=59), "just now"),
        (timedelta(minutes=1), "1 minute ago"),
        (timedelta(minutes=59), "59 minutes ago"),
        (timedelta(minutes=61), "1 hour ago"),
        (timedelta(hours=3, minutes=59), "3 hours ago"),
        (timedelta(hours=25), "1 day ago"),
    ],
)
def test_ages_in_the_largest_whole_unit(elapsed: timedelta, words: str) -> None:
    assert ago(elapsed) == words


def test_a_noun_agrees_with_its_number() -> None:
    assert [noun(n, "group") for n in (0, 1, 2)] == ["groups", "group", "groups"]
    assert noun(2, "inline policy", "inline policies") == "inline policies"
