"""Hostile text and hostile requests: user text cannot ping, link or forge a status line; the
HTTP endpoint refuses what Slack would never send with a 4xx and one log line; numbers are
parsed strictly; a row of same-action buttons is still a message Slack accepts."""

from __future__ import annotations

import contextlib
import io
import logging
import re
import time
from collections.abc import Iterator

import pytest

from bot.logs import setup_logging
from tests.fixtures.aws import user_with_key
from tests.fixtures.hostile import FORGED_STATUS, PINGS_AND_LINKS, unescaped
from tests.fixtures.slack import Bot, audit_log, current, flatten, posted

HOSTILE = " ".join(PINGS_AND_LINKS) + " & more"


# --- user text in messages ---------------------------------------------------------------------


@pytest.mark.parametrize("command", ["offboard leaver {reason}", "deactivate {key} {reason}"])
def test_a_hostile_reason_shows_as_typed_and_pings_no_one(bot: Bot, iam, command: str) -> None:
    iam.create_user(UserName="leaver")
    key = user_with_key(iam)
    bot.command(command.format(reason=HOSTILE, key=key), user="U0ALICE")
    plan = bot.channel()[-1]
    shown = flatten(plan)
    assert unescaped(shown) == []
    for sequence in PINGS_AND_LINKS:
        assert sequence not in shown
    # The reader still sees what was typed, quoted: Slack shows &lt; as "<".
    assert ">&lt;!channel&gt; &lt;!here&gt;" in shown and "&amp; more" in shown


def test_the_audit_channel_quotes_reasons_too(bot: Bot, iam) -> None:
    iam.create_user(UserName="leaver")
    bot.command(f"offboard leaver {HOSTILE}", user="U0ALICE")
    bot.deny(bot.channel()[-1], f"no\n{FORGED_STATUS}\n<!here> <https://evil.example|x>")
    audit = audit_log(bot)
    assert "requested by <@U0ALICE>" in audit and "denied by <@U0SEC1>" in audit
    assert unescaped(audit) == []
    assert not [line for line in audit.splitlines() if line.startswith(":white_check_mark:")]


def test_a_deny_reason_cannot_forge_a_status_line(bot: Bot, iam) -> None:
    key = user_with_key(iam)
    bot.command(f"rotate dave {key}", user="U0ALICE")
    plan = posted(bot, "Rotate the access key")
    bot.deny(plan, f"not now\n{FORGED_STATUS}\n<!channel> see <https://evil.example|the fix>")
    shown = flatten(current(bot, plan))
    lines = shown.splitlines()
    assert ":no_entry: Denied by <@U0SEC1>:" in lines
    assert [line for line in lines if "Done." in line] == [f">{FORGED_STATUS}"]
    assert not [line for line in lines if line.startswith(":white_check_mark:")]
    assert unescaped(shown) == []
    assert len(iam.list_access_keys(UserName="dave")["AccessKeyMetadata"]) == 1  # nothing ran


def test_history_quotes_reasons(bot: Bot, iam) -> None:
    key = user_with_key(iam)
    bot.command(f"deactivate {key} {HOSTILE}", user="U0ALICE")
    reply = bot.command("history dave", user="U0ALICE")
    shown = "\n".join(flatten(m) for m in bot.replies(reply))
    assert "&lt;!channel&gt;" in shown and unescaped(shown) == []


def test_an_unknown_subcommand_is_echoed_escaped(bot: Bot) -> None:
    reply = bot.command("<!channel> now")
    assert "<!channel>" not in reply.body and "&lt;!channel&gt;" in reply.body


def test_an_unknown_onboard_option_is_echoed_escaped(bot: Bot) -> None:
    reply = bot.command("onboard newbie --<!here>")
    assert "is not an option" in reply.body
    assert "<!here>" not in reply.body


# --- numbers typed by users --------------------------------------------------------------------


@pytest.mark.parametrize("days", ["²", "٣", "0", "3651", "-1", "1e3", "9" * 5000])
def test_audit_days_must_be_a_plain_number_in_range(bot: Bot, aws, days: str) -> None:
    reply = bot.command(f"audit --days {days}", user="U0ALICE")
    assert reply.status == 200
    assert "Usage: `/iam audit [--org] [--days N]` (a whole number from 1 to 3650)" in reply.body
    assert bot.replies(reply) == []
    assert [c for c in aws.calls() if c.service == "iam"] == []


# --- buttons -----------------------------------------------------------------------------------


def test_two_rotations_in_a_row_offer_a_delete_button_for_each_key(bot: Bot, iam) -> None:
    old = user_with_key(iam)
    bot.command("rotate dave", user="U0ALICE")
    bot.press(posted(bot, "Rotate the access key"), "Confirm", user="U0ALICE")
    keys = {k["AccessKeyId"] for k in iam.list_access_keys(UserName="dave")["AccessKeyMetadata"]}
    (new,) = keys - {old}

    reply = bot.command("rotate dave", user="U0ALICE")
    (answer,) = bot.replies(reply)  # Slack refused it (invalid_blocks) when the IDs repeated
    labels = {
        b["text"]["text"]
        for block in answer.blocks
        for b in block.get("elements", [])
        if b["type"] == "button"
    }
    assert labels == {f"Delete {old}", f"Delete {new}"}
    bot.press(answer, f"Delete {new}", user="U0ALICE")  # the second, renumbered, still works
    assert new in flatten(posted(bot, "Delete the access key"))


# --- HTTP --------------------------------------------------------------------------------------


@contextlib.contextmanager
def bot_log(level: str) -> Iterator[io.StringIO]:
    """The log as `iam-bot serve` writes it (its own set-up), into a string, for a while."""
    root = logging.getLogger()
    kept, old_level = root.handlers[:], root.level
    setup_logging(level)
    (handler,) = root.handlers
    stream = io.StringIO()
    handler.setStream(stream)
    root.handlers[:] = [*kept, handler]
    try:
        yield stream
    finally:
        root.handlers[:] = kept
        root.setLevel(old_level)


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    with bot_log("INFO") as stream:
        yield stream


def test_an_oversized_body_is_refused_before_it_is_read(bot: Bot, log_lines) -> None:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    start = time.perf_counter()
    reply = bot.sender.declared(200_000_000, b"payload=" + b"A" * 4096, headers)
    assert reply.status == 413
    assert time.perf_counter() - start < 5  # answered without waiting for 200 MB to arrive
    assert "AAAA" not in log_lines.getvalue()


def _form_as_json(bot: Bot):
    return bot.sender.signed(b"command=%2Fiam&text=keys+alice", "application/json")


def _json_list(bot: Bot):
    return bot.sender.signed(b'["not", "an", "object"]', "application/json")


def _not_utf8(bot: Bot):
    return bot.sender.signed(b"command=%2Fiam&text=\xff\xfe BODYMARK", "text/plain")


def _junk_timestamp(bot: Bot):
    headers = {"X-Slack-Request-Timestamp": "soon", "X-Slack-Signature": "v0=" + "0" * 64}
    return bot.sender.raw(b"text=BODYMARK", headers)


def _unsigned(bot: Bot):
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": str(int(time.time())),
        "X-Slack-Signature": "v0=" + "0" * 64,
    }
    return bot.sender.raw(b"payload=%7B%22enterprise%22%3A5%7D&BODYMARK", headers)


def _non_ascii_signature(bot: Bot):
    headers = {"X-Slack-Request-Timestamp": str(int(time.time())), "X-Slack-Signature": "v0=é"}
    return bot.sender.raw(b"text=BODYMARK", headers)


@pytest.mark.parametrize(
    ("send", "status"),
    [
        (_form_as_json, 400),
        (_json_list, 400),
        (_not_utf8, 400),
        (_junk_timestamp, 401),
        (_unsigned, 401),
        (_non_ascii_signature, 401),
    ],
)
def test_malformed_requests_get_a_4xx_and_one_log_line(
    bot: Bot, aws, log_lines, send, status: int
) -> None:
    reply = send(bot)
    bot.settle()
    assert reply.status == status
    logged = log_lines.getvalue()
    (refused,) = [line for line in logged.splitlines() if "refused a request" in line]
    assert f": {status} " in refused
    assert "Traceback" not in logged and "\n| " not in logged
    assert "BODYMARK" not in logged
    assert [c for c in aws.calls() if c.service == "iam"] == []


def test_user_text_cannot_forge_a_log_line(bot: Bot, iam) -> None:
    forged = "2026-01-01 00:00:00,000 ERROR bot.slack.requests: forged entry"
    with bot_log("DEBUG") as stream:  # the most any library ever writes
        key = user_with_key(iam)
        bot.command(f"rotate dave {key}", user="U0ALICE")
        bot.deny(posted(bot, "Rotate the access key"), f"no\n{forged}\r{forged}")
        try:
            raise ValueError(f"bad\n{forged}")
        except ValueError:
            logging.getLogger("bot.test").exception("user said %s", f"x\n{forged}")
    lines = stream.getvalue().splitlines()
    assert any(forged in line for line in lines)  # it was logged, inside a real entry
    assert not [line for line in lines if line.startswith(forged[:10])]
    # Every line is an entry, or marked as the traceback that follows one.
    entry = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ \S+: ")
    assert [line for line in lines if not (entry.match(line) or line.startswith("| "))] == []
