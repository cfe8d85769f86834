"""One stored record the bot cannot read (hand-edited, corrupt, or a newer bot's) is skipped,
logged once with its ID and counted in /metrics; it never stalls the others. Against SQLite
and DynamoDB (moto server): `/iam pending`, Home, /metrics, the scheduler's expiry and every
other Slack reply go on; a click on the unreadable request itself is told so, in words."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pytest

from bot.access import dynamo
from bot.access.backends import open_store
from bot.access.store import Record, SqliteStore, Store
from sandbox.harness import ShiftedClock, start_bot
from tests.e2e.test_home import open_home, shown
from tests.fixtures.aws import make_full_user
from tests.fixtures.logs import captured_log
from tests.fixtures.slack import CONFIG, Bot, audit_log, current, flatten, open_request, request_id
from tests.ship.test_operations import get, moved, scrape


@pytest.fixture(params=["sqlite", "dynamodb"])
def store(request, aws, tmp_path) -> Store:
    if request.param == "sqlite":
        return SqliteStore(tmp_path / "state.sqlite3")
    table = f"iam-bot-{uuid.uuid4().hex[:8]}"
    dynamo.create_table(table)
    return open_store(f"dynamodb://{table}")


@pytest.fixture
def bot_log() -> Iterator[io.StringIO]:
    """What the bot itself logs (not boto3's debug lines, which quote whole requests)."""
    with captured_log(logger="bot") as stream:
        yield stream


@pytest.fixture
def clock() -> ShiftedClock:
    return ShiftedClock()


@pytest.fixture
def bot(store: Store, clock: ShiftedClock, slack, tmp_path) -> Iterator[Bot]:
    running = start_bot(slack, CONFIG, tmp_path / "unused.sqlite3", store=store, clock=clock)
    yield Bot(**vars(running))
    running.stop()


def _copy(store: Store, of: str, record_id: str, **change: object) -> str:
    """A pending request written beside ``of``, as someone editing the table would write it:
    ``change`` sets fields, a None removes one."""
    original = store.get(of)
    assert original is not None
    data = {k: v for k, v in {**original.data, **change}.items() if v is not None}
    assert store.put_if_version(Record(record_id, original.kind, "pending", data)) is not None
    return record_id


def _lines_naming(log: io.StringIO, record_id: str) -> list[str]:
    return [line for line in log.getvalue().splitlines() if record_id in line]


def test_unreadable_records_are_skipped_and_everything_else_goes_on(
    bot: Bot, iam, clock: ShiftedClock, bot_log: io.StringIO
) -> None:
    make_full_user(iam)
    iam.create_user(UserName="other")
    good = open_request(bot)
    due = open_request(bot, "offboard other left too")
    before = scrape(bot)
    store, good_id = bot.store, request_id(good)
    corrupt = _copy(store, good_id, f"bad{uuid.uuid4().hex[:9]}", requester=None)
    newer = _copy(store, good_id, f"new{uuid.uuid4().hex[:9]}", created=1_765_000_000)
    unknown = _copy(store, good_id, f"op{uuid.uuid4().hex[:9]}", command="suspend")
    outbox = f"out{uuid.uuid4().hex[:9]}"  # an entry of the audit channel's lane, its kind gone
    entry = Record(outbox, "outbox", "waiting", {"lane": "channel:C0AUDIT", "seq": 1})
    assert store.put_if_version(entry) is not None

    pending = bot.said(bot.command("pending", user="U0SEC1"))
    home = shown(open_home(bot, "U0SEC1"))
    status, _ = get(bot, "/metrics")
    after = scrape(bot)

    for text in (pending, home):
        assert good_id in text and request_id(due) in text
        assert corrupt not in text and newer not in text
    assert status == 200
    assert moved(before, after, "iambot_unreadable_records_total", kind="request") == 3
    assert moved(before, after, "iambot_requests", state="pending") == 3  # counted, not read

    clock.advance(timedelta(minutes=61))  # every request expires, the unreadable ones aside
    bot.catch_up()
    assert "expired" in flatten(current(bot, due)).lower()
    assert "expired without approval" in audit_log(bot)  # the outbox entry's lane went on
    parked = store.get(outbox)
    assert parked is not None and parked.state == "failed"  # no tick reads it again
    assert moved(before, scrape(bot), "iambot_unreadable_records_total", kind="outbox") == 1
    for record_id in (corrupt, newer, unknown, outbox):
        [line] = _lines_naming(bot_log, record_id)  # once, however often it was read
        assert "unreadable" in line and "left the company" not in line


def test_a_click_on_an_unreadable_request_is_told_so(bot: Bot, iam) -> None:
    make_full_user(iam)
    plan = open_request(bot)
    stored = bot.store.get(request_id(plan))
    assert stored is not None  # a newer bot wrote a state this one has no name for
    assert bot.store.put_if_version(replace(stored, state="paused")) is not None

    said = bot.said(bot.press(plan, "Approve", user="U0SEC1"))

    assert (
        f"That request's record cannot be read; an operator has been told (id `{request_id(plan)}`)"
        in said
    )
