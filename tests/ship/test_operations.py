"""What an operator scrapes and probes: /metrics counts what happened, /readyz says whether the
store, AWS and Slack answer, /healthz that the process is alive. All against the running bot
(the JSON log lines are in test_logs.py)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from tests.fixtures.aws import user_with_key
from tests.fixtures.slack import Bot, open_request

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def get(bot: Bot, path: str) -> tuple[int, bytes]:
    """An operator's GET of the bot's own endpoint: status and body, an error status included."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{bot.server.port}{path}", timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def scrape(bot: Bot) -> Samples:
    """Every sample /metrics shows now, parsed by Prometheus's own parser, by name and labels."""
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


def test_metrics_count_a_keys_command_and_an_approval(bot, iam) -> None:
    user_with_key(iam)
    before = scrape(bot)

    bot.command("keys dave")
    plan = open_request(bot, "offboard dave left the company")
    waiting = scrape(bot)
    bot.press(plan, "Approve", user="U0SEC1")
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
