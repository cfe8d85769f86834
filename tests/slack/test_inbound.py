"""The checks both doors share (:mod:`bot.slack.inbound`), seen through the HTTP server: what
Bolt could not read is answered before it tries (Lambda's side: tests/ship/test_lambda.py)."""

from __future__ import annotations

from tests.fixtures.slack import Bot


def _nested(depth: int) -> bytes:
    nested = "[" * depth + "]" * depth
    return b'{"type": "event_callback", "mark": "BODYMARK", "x": %s}' % nested.encode()


def test_signed_json_nested_beyond_any_slack_payload_is_refused(bot: Bot, log_output) -> None:
    for depth in (40, 5000):  # one json reads, one it cannot (RecursionError)
        reply = bot.sender.signed(_nested(depth), "application/json")
        assert reply.status == 400
    bot.settle()
    logged = log_output.getvalue()
    assert logged.count("refused a request") == 2
    assert "Traceback" not in logged and "BODYMARK" not in logged


def test_an_event_as_deep_as_slack_sends_is_taken(bot: Bot) -> None:
    assert bot.sender.signed(_nested(20), "application/json").status != 400
