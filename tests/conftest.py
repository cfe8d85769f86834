"""Shared fixtures: the real app over HTTP, a faithful moto behind boto3, a fake Slack Web API.

Nothing of the bot is mocked. Tests send signed requests to the app served by waitress, the app
calls AWS through ordinary boto3 clients (``AWS_ENDPOINT_URL``), and Slack's side is a local
Web API that records what the bot posted.
"""

from __future__ import annotations

import io
import json
import logging
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import boto3
import pytest

from bot.logs import RedactSecrets
from sandbox.aws import FaithfulAws
from sandbox.harness import RunningBot, point_boto3_at, start_bot
from sandbox.slack_api import FakeSlack, Message
from sandbox.slack_requests import Reply

PEOPLE = {
    "U0ALICE": {"name": "alice", "email": "alice@example.com"},
    "U0BOB": {"name": "bob", "email": "bob@example.com"},
    "U0CAROL": {"name": "carol", "email": "carol@example.com"},
    "U0SEC1": {"name": "sec1", "email": "sec1@example.com"},
    "U0SEC2": {"name": "sec2", "email": "sec2@example.com"},
    "U0NOBODY": {"name": "nobody", "email": "nobody@example.com"},
}
GROUPS = {"S0ONCALL": ["U0ALICE", "U0BOB"], "S0SECURITY": ["U0SEC1", "U0SEC2"]}
CONFIG = """
permissions:
  keys: [S0ONCALL, S0SECURITY, U0CAROL]
  rotate: [S0ONCALL]
  deactivate: [S0ONCALL]
  offboard: [S0ONCALL, S0SECURITY]
  approve: [S0SECURITY]
audit_channel: C0AUDIT
approvals:
  required: 1
  expire_minutes: 60
protected_users: [break-glass-admin]
"""


@pytest.fixture(scope="session")
def aws_sandbox() -> Iterator[FaithfulAws]:
    with FaithfulAws() as sandbox:
        point_boto3_at(sandbox.endpoint_url)
        yield sandbox


@pytest.fixture
def aws(aws_sandbox: FaithfulAws) -> FaithfulAws:
    aws_sandbox.reset()
    return aws_sandbox


@pytest.fixture
def iam(aws: FaithfulAws):
    """A plain boto3 client, for arranging AWS state and checking it afterwards."""
    return boto3.client("iam", endpoint_url=aws.endpoint_url, region_name="us-east-1")


@pytest.fixture(scope="session")
def slack_sandbox() -> Iterator[FakeSlack]:
    with FakeSlack(users=PEOPLE, groups=GROUPS) as fake:
        yield fake


@pytest.fixture
def slack(slack_sandbox: FakeSlack) -> FakeSlack:
    slack_sandbox.clear()
    return slack_sandbox


class Bot(RunningBot):
    """The running app, as Slack and its users see it."""

    def command(self, text: str, *, user: str = "U0ALICE", channel: str = "C0OPS") -> Reply:
        reply = self.sender.command(text, user_id=user, channel_id=channel)
        assert reply.status == 200, reply.body
        self.settle()
        return reply

    def replies(self, reply: Reply) -> list[Message]:
        """What the user saw for one command: its ack, then what came by its response_url."""
        return [m for m in self.slack.messages() if m.response_key == reply.response_key]

    def said(self, reply: Reply) -> str:
        """All text of a command's answer (ack and response_url), blocks flattened."""
        parts = [reply.body] + [flatten(m) for m in self.replies(reply)]
        return "\n".join(parts)

    def channel(self, channel: str = "C0OPS") -> list[Message]:
        return [m for m in self.slack.messages(channel) if not m.ephemeral]

    def press(self, message: Message, label: str, *, user: str) -> Reply:
        reply = self.sender.press(message, user_id=user, label=label)
        assert reply.status == 200, reply.body
        self.settle()
        return reply


def flatten(message: Message) -> str:
    """Every piece of text in a message, as a person reading it would take it in."""
    texts = [message.text or ""]

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("text"), str):
                texts.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(message.blocks or [])
    return "\n".join(texts)


@pytest.fixture
def make_bot(aws: FaithfulAws, slack: FakeSlack, tmp_path) -> Iterator[Callable[..., Bot]]:
    started: list[Bot] = []

    def make(config: str = CONFIG, *, clock=None, state: str = "state.sqlite3") -> Bot:
        running = start_bot(slack, config, tmp_path / state, clock=clock)
        bot = Bot(**vars(running))
        started.append(bot)
        return bot

    yield make
    for bot in started:
        bot.stop()


@pytest.fixture
def bot(make_bot: Callable[..., Bot]) -> Bot:
    return make_bot()


@pytest.fixture
def log_output():
    """The bot's real log pipeline (the redacting handler) at its most talkative."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactSecrets())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(handler)
    root.setLevel(old_level)


def leaks(value: str, *, bot: Bot, aws: FaithfulAws, state: Path, logs: str = "") -> list[str]:
    """Where a secret value shows up: every fake Slack call, the state store file, the params
    of every AWS call, the log. Empty when it is nowhere."""
    places = {
        "slack": json.dumps([c.args for c in bot.slack.calls()]),
        "store": "\n".join(sqlite3.connect(state).iterdump()),
        "aws calls": json.dumps([c.params for c in aws.calls()], default=str),
        "log": logs,
    }
    return [where for where, text in places.items() if value in text]
