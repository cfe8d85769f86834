"""The log as an operator reads it: JSON lines carry the request's scope (into the jobs it
starts) and no secret; the text format masks secrets as the JSON format does, and both keep
each entry on its own lines. (A bad LOG_FORMAT stopping startup is in test_startup.py.)"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from bot.logs import JsonLines, OneLineEntries, Scope, scoped
from tests.fixtures.aws import stored_secret, user_with_key
from tests.fixtures.logs import captured_log
from tests.fixtures.slack import Bot, open_request

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
