"""Operations (issue 13): /metrics counts what happened, JSON log lines carry the request's scope
and no secret, /readyz says whether the store, AWS and Slack answer. All against the running bot."""

from __future__ import annotations

import io
import json
import logging
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.logs import JsonLines, RedactSecrets

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def get(bot: Any, path: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{bot.server.port}{path}", timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def scrape(bot: Any) -> Samples:
    status, body = get(bot, "/metrics")
    assert status == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def new_message(bot: Any, before: set[str]) -> Any:
    [message] = [m for m in bot.channel() if m.ts not in before]
    return message


def test_metrics_count_a_keys_command_and_an_approval(bot, iam) -> None:
    iam.create_user(UserName="dave")
    iam.create_access_key(UserName="dave")
    before = scrape(bot)

    bot.command("keys dave")
    seen = {m.ts for m in bot.channel()}
    bot.command("offboard dave left the company")
    waiting = scrape(bot)
    bot.press(new_message(bot, seen), "Approve", user="U0SEC1")
    after = scrape(bot)

    assert moved(before, after, "iambot_commands_total", subcommand="keys", outcome="ok") == 1
    assert moved(before, after, "iambot_commands_total", subcommand="offboard", outcome="ok") == 1
    assert sum(v for (name, _), v in after.items() if name == "iambot_commands_total") == 2
    assert moved(before, after, "iambot_ack_seconds_count") == 3  # two commands, one click
    assert value(after, "iambot_ack_seconds_bucket", le="3.0") == 3  # all within Slack's 3 s
    # requests by state and approvals awaited, read from the store at scrape time
    assert value(waiting, "iambot_requests", state="pending") == 1
    assert value(waiting, "iambot_pending_approvals") == 1
    assert value(after, "iambot_requests", state="pending") == 0
    assert value(after, "iambot_requests", state="done") == 1
    assert value(after, "iambot_pending_approvals") == 0
    # every AWS call counted by operation: the listing of /iam keys and the offboarding's

    def iam_ok(operation: str) -> float:
        labels = {"service": "iam", "operation": operation, "outcome": "ok"}
        return moved(before, after, "iambot_aws_calls_total", **labels)

    assert iam_ok("ListAccessKeys") >= 2
    assert iam_ok("DeleteAccessKey") == 1 and iam_ok("DeleteUser") == 1
    assert value(after, "iambot_jobs_queued") == 0 and value(after, "iambot_jobs_running") == 0
    assert value(after, "iambot_lease_takeovers_total") == 0


def test_commands_count_refusals_and_failures(bot, iam, aws) -> None:
    iam.create_user(UserName="dave")
    before = scrape(bot)

    bot.command("help")
    bot.command("frobnicate dave")  # answered in the ack
    bot.command("keys not/a/name")  # refused in the ack: not an IAM name
    bot.command("offboard dave left", user="U0CAROL")  # carol may read keys, not offboard
    aws.fail("ListAccessKeys", code="AccessDenied", status=403)  # the bot's role lacks it
    bot.command("keys dave")
    after = scrape(bot)

    def counted(subcommand: str, outcome: str) -> float:
        return moved(before, after, "iambot_commands_total", subcommand=subcommand, outcome=outcome)

    assert counted("help", "ok") == 1
    assert counted("unknown", "refused") == 1  # what people mistype never becomes a label
    assert counted("keys", "refused") == 1
    assert counted("offboard", "refused") == 1
    assert counted("keys", "failed") == 1
    assert sum(v for (name, _), v in after.items() if name == "iambot_commands_total") == 5


def test_a_throttled_aws_call_counts_the_retry(bot, iam, aws) -> None:
    iam.create_user(UserName="dave")
    before = scrape(bot)
    aws.fail("ListAccessKeys", code="Throttling", status=400)

    reply = bot.command("keys dave")
    after = scrape(bot)

    assert "Access keys of dave" in bot.said(reply)
    calls = {"service": "iam", "operation": "ListAccessKeys"}
    assert moved(before, after, "iambot_aws_calls_total", outcome="throttled", **calls) == 1
    assert moved(before, after, "iambot_aws_calls_total", outcome="ok", **calls) == 1
    assert moved(before, after, "iambot_commands_total", subcommand="keys", outcome="ok") == 1


def test_each_bot_has_its_own_registry(make_bot) -> None:
    first, second = make_bot(state="one.sqlite3"), make_bot(state="two.sqlite3")
    first.command("help")
    assert value(scrape(first), "iambot_commands_total", subcommand="help", outcome="ok") == 1
    assert value(scrape(second), "iambot_commands_total", subcommand="help", outcome="ok") == 0


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """The bot's JSON log pipeline (formatter and redacting filter) at its most talkative."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLines())
    handler.addFilter(RedactSecrets())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(handler)
    root.setLevel(old_level)


def test_json_log_lines_carry_the_scope_and_never_a_secret(bot, iam, aws, json_log) -> None:
    iam.create_user(UserName="dave")
    iam.create_access_key(UserName="dave")
    bot.command("keys dave", user="U0BOB")
    seen = {m.ts for m in bot.channel()}
    bot.command("rotate dave")
    bot.press(new_message(bot, seen), "Confirm", user="U0ALICE")

    lines = json_log.getvalue().splitlines()
    entries = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all(
        {"time", "level", "logger", "message", "request_id", "user", "command", "account"}
        <= entry.keys()
        for entry in entries
    )
    keys = [e for e in entries if e["command"] == "keys"]
    assert keys and {e["user"] for e in keys} == {"U0BOB"}
    assert len({e["request_id"] for e in keys}) == 1 and keys[0]["request_id"]
    # the AWS calls of /iam keys (made on the job pool) are logged under the command's ID
    assert any("ListAccessKeys" in e["message"] for e in keys)
    assert any(e["outcome"] == "ok" for e in keys)
    # the click that confirms the rotation is a scope of its own, its AWS work included
    click = [e for e in entries if e["command"].startswith("request:")]
    assert click and len({e["request_id"] for e in click}) == 1
    assert any("CreateAccessKey" in e["message"] for e in click)

    secrets = boto3.client("secretsmanager", endpoint_url=aws.endpoint_url, region_name="us-east-1")
    stored = secrets.get_secret_value(SecretId="iam-bot/dave/access-key")["SecretString"]
    secret = json.loads(stored)["SecretAccessKey"]
    assert len(secret) >= 40 and secret not in json_log.getvalue()
    assert "xoxb-" not in json_log.getvalue()


def test_ready_when_store_aws_and_slack_answer(bot) -> None:
    status, body = get(bot, "/readyz")
    assert (status, json.loads(body)) == (200, {"ready": True})
    assert get(bot, "/healthz") == (200, b"ok\n")


def test_not_ready_when_slack_fails_auth_test(bot, slack) -> None:
    slack.fail("auth.test", "http_500", times=20)
    status, body = get(bot, "/readyz")
    assert status == 503
    assert set(json.loads(body)["failed"]) == {"slack"}
    assert get(bot, "/healthz")[0] == 200  # alive all the same: nothing to restart


def test_not_ready_when_aws_is_unreachable(make_bot, monkeypatch) -> None:
    # The bot's AWS clients are made on first use, after this: they point at a closed port.
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    bot = make_bot()
    status, body = get(bot, "/readyz")
    assert status == 503
    assert set(json.loads(body)["failed"]) == {"aws"}
