"""The whole bot on DynamoDB state (``IAM_BOT_STATE=dynamodb://TABLE``, moto server behind the
sandbox proxy): requests, approvals, the journal, the scheduler and the Slack outbox all live in
one table, and an offboarding runs as it does on SQLite."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import boto3
import pytest

from bot.access import dynamo
from bot.access.backends import open_store
from sandbox.harness import start_bot
from tests.fixtures.aws import make_full_user, user_exists
from tests.fixtures.slack import (
    CONFIG,
    Bot,
    audit_log,
    current,
    flatten,
    open_request,
    request_id,
)


@pytest.fixture
def table(aws) -> str:
    name = f"iam-bot-{uuid.uuid4().hex[:8]}"
    dynamo.create_table(name)  # what `iam-bot store create` does
    return name


@pytest.fixture
def bot(table: str, slack, tmp_path) -> Iterator[Bot]:
    store = open_store(f"dynamodb://{table}")
    running = start_bot(slack, CONFIG, tmp_path / "unused.sqlite3", store=store)
    yield Bot(**vars(running))
    running.stop()


def test_an_offboarding_is_approved_and_done(bot: Bot, iam, aws, table: str, tmp_path) -> None:
    made = make_full_user(iam)
    plan = open_request(bot)
    assert made.keys[0] in flatten(plan)

    bot.press(plan, "Approve", user="U0SEC1")

    assert not user_exists(iam, "leaver")
    assert aws.count("DeleteUser") == 1
    assert "Done." in flatten(current(bot, plan))
    audit = audit_log(bot)
    assert "approved by <@U0SEC1>" in audit and "done:" in audit
    history = bot.said(bot.command("history leaver"))  # the snapshot, read back from the table
    assert "Snapshot: console password, 2 access keys" in history
    assert not list(tmp_path.glob("*.sqlite3*"))  # no state anywhere but the table

    record = boto3.client("dynamodb").get_item(
        TableName=table, Key={"id": {"S": request_id(plan)}, "seq": {"N": "0"}}
    )["Item"]
    assert record["state"]["S"] == "done"
    assert 89 < (int(record["expires_at"]["N"]) - time.time()) / 86_400 <= 90
    assert bot.store.journal(request_id(plan))  # every step the run took


def test_pending_lists_from_the_index_and_a_denial_stops_it(bot: Bot, iam) -> None:
    make_full_user(iam)
    plan = open_request(bot)
    assert "Waiting on you" in bot.said(bot.command("pending", user="U0SEC1"))
    bot.press(plan, "Deny", user="U0SEC2")
    view = bot.slack.calls("views.open")[-1].args["view"]
    bot.sender.submit_view(
        view,
        user_id="U0SEC2",
        values={"reason": {"reason": {"type": "plain_text_input", "value": "wait for HR"}}},
    )
    bot.settle()
    assert "wait for HR" in flatten(current(bot, plan))
    assert user_exists(iam, "leaver")
    assert "Nothing is waiting on you." in bot.said(bot.command("pending", user="U0SEC1"))
