"""A workflow step's claim is moved by its opener or by the tick, compare-and-set: whichever
moves it first decides how the step ends, and the other changes nothing in Slack."""

from __future__ import annotations

from datetime import UTC, datetime

from slack_sdk import WebClient

from bot.access.store import SqliteStore
from bot.slack.outbox import Outbox
from bot.slack.workflow_steps import WorkflowSteps
from sandbox.slack_api import FakeSlack


def _steps(tmp_path, slack: FakeSlack) -> WorkflowSteps:
    store = SqliteStore(tmp_path / "state.sqlite3")
    client = WebClient(token="xoxb-steps", base_url=slack.api_url)
    outbox = Outbox(store, client, lambda work, *args: work(*args))  # delivered at once
    return WorkflowSteps(store, outbox, client, lambda: datetime.now(UTC))


def test_a_failure_after_the_request_opened_is_not_sent(tmp_path, slack: FakeSlack) -> None:
    steps = _steps(tmp_path, slack)
    assert steps.claim("Fx0OPENED") is not None
    assert steps.waiting_on("Fx0OPENED")  # the opener moved it first

    steps.failed("Fx0OPENED", "given up")  # the tick, having looked just before

    assert slack.calls("functions.completeError") == []


def test_a_request_opened_after_its_step_failed_is_told_so(tmp_path, slack: FakeSlack) -> None:
    steps = _steps(tmp_path, slack)
    assert steps.claim("Fx0SLOW") is not None
    steps.failed("Fx0SLOW", "given up")  # the tick moved it first

    assert not steps.waiting_on("Fx0SLOW")  # the opener learns it is too late
    (told,) = slack.calls("functions.completeError")
    assert told.args == {"function_execution_id": "Fx0SLOW", "error": "given up"}
