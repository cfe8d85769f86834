"""The log as an operator reads it: JSON lines carry the request's scope (into the jobs it
starts) and no secret; one line per command, click, event and run says who did what, where,
how it ended and how long it took, never what was typed; the text format masks secrets as the
JSON format does, and both keep each entry on its own lines; a start refused for a setting
says why in the log's format. (A bad LOG_FORMAT stopping startup is in test_startup.py.)"""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator

import pytest

from bot.logs import ACTIVITY, JsonLines, OneLineEntries, Scope, scoped
from sandbox.slack_requests import TEAM_ID
from tests.fixtures.accounts import listed_config, organization
from tests.fixtures.aws import make_full_user, stored_secret, user_with_key
from tests.fixtures.logs import captured_log
from tests.fixtures.serve import serve_env, serve_once
from tests.fixtures.slack import Bot, flatten, open_request

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"  # shaped like a secret access key


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """The bot's JSON log pipeline (formatter and redacting filter) at its most talkative."""
    with captured_log(JsonLines()) as stream:
        yield stream


def test_json_log_lines_carry_the_scope_and_never_a_secret(bot: Bot, iam, json_log) -> None:
    user_with_key(iam)
    bot.command("keys dave", user="U0BOB")
    bot.press(open_request(bot, "rotate dave"), "Confirm", user="U0ALICE")

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

    secret = stored_secret("iam-bot/dave/access-key")["SecretAccessKey"]
    assert len(secret) >= 40 and secret not in json_log.getvalue()
    assert "xoxb-" not in json_log.getvalue()


def _logged(formatter: logging.Formatter) -> str:
    """What one scoped warning and one exception, both carrying secrets and a forged line
    break, look like in the log written with ``formatter`` (only this test's logger: nothing
    else running may add a line)."""
    logger = logging.getLogger("tests.logs")
    scope = Scope(request_id="r1", user="U0ALICE", command="keys")
    with captured_log(formatter, logger=logger.name) as stream, scoped(scope):
        logger.warning("key %s\u2028fake entry", SECRET)
        try:
            raise RuntimeError(f"token xoxb-123-456-abc and {SECRET}")
        except RuntimeError:
            logger.exception("failed")
    return stream.getvalue()


def test_both_formats_mask_secrets_and_keep_entries_on_their_lines() -> None:
    text = _logged(OneLineEntries("%(levelname)s %(name)s: %(message)s"))
    as_json = _logged(JsonLines())
    for out in (text, as_json):
        assert SECRET not in out and "xoxb-123" not in out and "[redacted]" in out
    assert len(as_json.splitlines()) == 2  # the traceback is inside its entry
    assert '"request_id": "r1"' in as_json and '"user": "U0ALICE"' in as_json


TYPED = "contract-ended-see-ticket-4711"  # what a person typed: never in an outcome line


def _outcomes(stream: io.StringIO) -> list[dict]:
    entries = [json.loads(line) for line in stream.getvalue().splitlines()]
    return [e for e in entries if e["logger"] == ACTIVITY.name]


def test_one_json_line_per_command_click_event_and_run_says_who_did_what(
    bot: Bot, iam, json_log
) -> None:
    user_with_key(iam)
    make_full_user(iam)
    bot.command("keys dave", user="U0BOB")
    bot.command("rotate dave", user="U0NOBODY")  # may not rotate
    bot.command(f"rotate {TYPED} dave", user="U0BOB")  # not a rotate command: its usage
    plan = open_request(bot, f"offboard leaver {TYPED}")
    bot.press(plan, "Approve", user="U0SEC1")
    bot.sender.open_home("U0CAROL")
    bot.settle()

    lines = _outcomes(json_log)
    seen = [(e["kind"], e["command"], e["user"], e["outcome"]) for e in lines]
    assert sorted(seen) == sorted(
        [
            ("command", "keys", "U0BOB", "ok"),
            ("command", "rotate", "U0NOBODY", "refused (Denied)"),
            ("command", "rotate", "U0BOB", "refused (usage)"),
            ("command", "offboard", "U0ALICE", "ok"),
            ("run", "offboard", "U0ALICE", "done"),  # asked by alice
            ("click", "request:approve", "U0SEC1", "ok"),
            ("event", "app_home_opened", "U0CAROL", "ok"),
        ]
    ), seen
    inputs = [e for e in lines if e["kind"] != "run"]
    assert {e["team"] for e in inputs} == {TEAM_ID}
    assert len({e["request_id"] for e in inputs}) == len(inputs)
    assert all(isinstance(e["latency_ms"], int) and e["latency_ms"] >= 0 for e in lines)
    run = next(e for e in lines if e["kind"] == "run")
    assert run["approved_by"] == "U0SEC1" and f"request `{run['iam_request']}`" in flatten(plan)
    assert TYPED not in json.dumps(lines)


def test_text_lines_say_the_same(bot: Bot, iam) -> None:
    user_with_key(iam)
    text_format = OneLineEntries("%(levelname)s %(name)s: %(message)s")
    with captured_log(text_format, logger=ACTIVITY.name) as stream:
        bot.command("keys dave", user="U0BOB")
    line = re.compile(
        rf"INFO {ACTIVITY.name}: command keys by U0BOB \(team {TEAM_ID}\): ok in \d+ ms "
        r"\(request_id [0-9a-f]{16}\)"
    )
    assert [bool(line.fullmatch(entry)) for entry in stream.getvalue().splitlines()] == [True]


def test_a_refused_start_says_why_in_a_json_line_when_the_log_is_json() -> None:
    env = serve_env(LOG_FORMAT="json")
    del env["SLACK_BOT_TOKEN"]
    result = serve_once(env)
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.splitlines()
    entry = json.loads(line)
    assert (entry["level"], entry["message"]) == ("CRITICAL", "iam-bot: SLACK_BOT_TOKEN is not set")


def test_an_outcome_line_names_the_aws_account_the_command_acted_in(make_bot, aws) -> None:
    org = organization(aws)
    bot: Bot = make_bot(listed_config(org))
    aws.client("iam", org.staging).create_user(UserName="dave")
    with captured_log(JsonLines(), logger=ACTIVITY.name) as stream:
        bot.command("keys dave --account staging", user="U0BOB")
        bot.command("keys dave", user="U0BOB")
    assert [(e["command"], e["account"]) for e in _outcomes(stream)] == [
        ("keys", org.staging),
        ("keys", org.management),  # the default account
    ]


def test_a_denial_from_its_modal_has_its_line_too(bot: Bot, iam, json_log) -> None:
    make_full_user(iam)
    plan = open_request(bot, "offboard leaver left")
    bot.deny(plan, "  ", user="U0SEC1")  # refused in the modal: no reason
    bot.deny(plan, TYPED, user="U0SEC1")

    seen = [(e["kind"], e["command"], e["user"], e["outcome"]) for e in _outcomes(json_log)]
    assert [s for s in seen if s[0] == "modal"] == [
        ("modal", "request:deny-reason", "U0SEC1", "refused (reason)"),
        ("modal", "request:deny-reason", "U0SEC1", "ok"),
    ], seen
    assert TYPED not in json.dumps(_outcomes(json_log))  # the reason is what a person typed
