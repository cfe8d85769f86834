"""pytest's fixtures for every folder: the real app over HTTP, a faithful moto behind boto3, a
fake Slack Web API. (Plain helpers the test modules share are in ``tests/fixtures/``.)

Nothing of the bot is mocked. Tests send signed requests to the app served by waitress, the app
calls AWS through ordinary boto3 clients (``AWS_ENDPOINT_URL``), and Slack's side is a local
Web API that records what the bot posted.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator

import boto3
import pytest

from sandbox.aws import FaithfulAws
from sandbox.harness import point_boto3_at, start_bot
from sandbox.slack_api import FakeSlack
from tests.fixtures.logs import captured_log
from tests.fixtures.slack import CONFIG, GROUPS, PEOPLE, Bot


@pytest.fixture(scope="session")
def aws_sandbox() -> Iterator[FaithfulAws]:
    with FaithfulAws() as sandbox:
        point_boto3_at(sandbox.endpoint_url)
        yield sandbox


@pytest.fixture
def aws(aws_sandbox: FaithfulAws) -> FaithfulAws:
    aws_sandbox.reset()
    return aws_sandbox


@pytest.fixture(scope="session")
def _iam_client(aws_sandbox: FaithfulAws):
    return boto3.client("iam", endpoint_url=aws_sandbox.endpoint_url, region_name="us-east-1")


@pytest.fixture
def iam(aws: FaithfulAws, _iam_client):
    """A plain boto3 client, for arranging AWS state and checking it afterwards (one for the
    whole run: a client holds no state of a test's, and making one costs CPU every test)."""
    return _iam_client


@pytest.fixture(scope="session")
def slack_sandbox() -> Iterator[FakeSlack]:
    with FakeSlack(users=PEOPLE, groups=GROUPS) as fake:
        yield fake


@pytest.fixture
def slack(slack_sandbox: FakeSlack) -> FakeSlack:
    slack_sandbox.clear()
    return slack_sandbox


@pytest.fixture
def make_bot(aws: FaithfulAws, slack: FakeSlack, tmp_path) -> Iterator[Callable[..., Bot]]:
    started: list[Bot] = []

    def make(config: str = CONFIG, *, state: str = "state.sqlite3", **options) -> Bot:
        running = start_bot(slack, config, tmp_path / state, **options)
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
def log_output() -> Iterator[io.StringIO]:
    """The bot's real log pipeline (the redacting handler) at its most talkative."""
    with captured_log() as stream:
        yield stream
