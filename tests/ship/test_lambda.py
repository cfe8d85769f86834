"""The bot on AWS Lambda (``bot.lambda_handler.handler``) as AWS runs it: Slack's signed requests
through a Function URL, Bolt's lazy listeners as the function's own asynchronous invocations,
the scheduler's tick as an EventBridge Scheduler event, Slack's secrets from Secrets Manager and
the state in DynamoDB (all in the sandbox's moto).

Lambda itself is :class:`LocalLambda`, a loopback HTTP peer with the two faces the function
meets: its Function URL (an HTTP request becomes a payload 2.0 event, the handler's answer the
HTTP response) and Lambda's Invoke API, which Bolt's adapter calls through an ordinary boto3
client (``AWS_ENDPOINT_URL_LAMBDA``): the payload is recorded, answered 202 as an asynchronous
invocation is, then handed to ``handler``. moto's Lambda runs code only in Docker, and a
stand-in for the boto3 client would skip the wire (the event's JSON round trip, the function's
ARN in the URL) that this peer keeps. One invocation runs at a time, as in one warm container.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import logging
import re
import secrets
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

import boto3
import pytest

from bot import lambda_handler
from bot.access import dynamo
from bot.access.backends import open_store
from bot.config_error import ConfigError
from sandbox.aws_events import health_event
from sandbox.slack_api import FakeSlack
from sandbox.slack_requests import Reply, SlackSender
from tests.fixtures.aws import aged_key, key_statuses, user_with_key
from tests.fixtures.slack import CONFIG, flatten

FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:iam-bot"
TICK = {"source": "iam-bot.tick"}
CHECK = {"source": "iam-bot.check"}
_INVOKE = re.compile(r"/2015-03-31/functions/(?P<name>[^/]+)/invocations")
_TEXT = ("application/json", "text/")


@dataclass
class LambdaContext:
    """What the runtime passes as ``context``: the parts Bolt and the handler read."""

    function_name: str = "iam-bot"
    invoked_function_arn: str = FUNCTION_ARN
    aws_request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    deadline: float = field(default_factory=lambda: time.monotonic() + 60)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


def url_event(path: str, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    """A Function URL's event (payload format 2.0) for a POST: headers in lower case, a body
    that is not text base64-encoded."""
    text = headers.get("content-type", "").startswith(_TEXT)
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "anonymous",
            "domainName": "abc123.lambda-url.us-east-1.on.aws",
            "http": {
                "method": "POST",
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": uuid.uuid4().hex,
            "routeKey": "$default",
            "stage": "$default",
            "timeEpoch": int(time.time() * 1000),
        },
        "body": body.decode() if text else base64.b64encode(body).decode(),
        "isBase64Encoded": not text,
    }


class LocalLambda:
    """One function on loopback: its Function URL and Lambda's Invoke API for it."""

    def __init__(self) -> None:
        self.invocations: list[tuple[str, dict[str, Any]]] = []  # (function name, payload)
        self._container = threading.Lock()
        self._idle = threading.Condition()
        self._pending = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _front(self))
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def invoke(self, event: dict[str, Any]) -> Any:
        """A synchronous invocation (the Function URL's, or a test's tick)."""
        with self._container:
            return lambda_handler.handler(json.loads(json.dumps(event)), LambdaContext())

    def invoke_async(self, name: str, payload: dict[str, Any]) -> None:
        with self._idle:
            self.invocations.append((name, payload))
            self._pending += 1
        threading.Thread(target=self._run, args=(payload,), daemon=True).start()

    def _run(self, payload: dict[str, Any]) -> None:
        try:
            self.invoke(payload)
        finally:
            with self._idle:
                self._pending -= 1
                self._idle.notify_all()

    def wait_idle(self, timeout: float = 30.0) -> None:
        """Until every asynchronous invocation asked for so far has returned."""
        with self._idle:
            assert self._idle.wait_for(lambda: self._pending == 0, timeout), "still invoking"

    def close(self) -> None:
        self.wait_idle()
        self._server.shutdown()
        self._server.server_close()


def _front(function: LocalLambda) -> type[BaseHTTPRequestHandler]:
    class Front(BaseHTTPRequestHandler):
        def log_message(self, *_: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            path = urlsplit(self.path).path
            if invoke := _INVOKE.fullmatch(path):
                assert self.headers.get("X-Amz-Invocation-Type") == "Event"
                function.invoke_async(unquote(invoke["name"]), json.loads(body))
                self._reply(202, {}, b"")
                return
            headers = {k.lower(): v for k, v in self.headers.items()}
            answer = function.invoke(url_event(path, headers, body))
            self._reply(answer["statusCode"], answer.get("headers") or {}, answer["body"].encode())

        def _reply(self, status: int, headers: dict[str, str], body: bytes) -> None:
            self.send_response(status)
            for name, value in headers.items():
                if name.lower() != "content-length":
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Front


@dataclass
class Deployed:
    """The function as deployed: Lambda, Slack's sender to its URL, its table."""

    function: LocalLambda
    sender: SlackSender
    slack: FakeSlack
    table: str

    def command(self, text: str, *, user: str = "U0ALICE") -> Reply:
        reply = self.sender.command(text, user_id=user)
        assert reply.status == 200, reply.body
        self.function.wait_idle()
        return reply

    def answer(self, reply: Reply) -> str:
        """What came by the command's response_url."""
        return "\n".join(
            flatten(m) for m in self.slack.messages() if m.response_key == reply.response_key
        )

    def channel(self, channel: str = "C0OPS") -> str:
        return "\n".join(flatten(m) for m in self.slack.messages(channel) if not m.ephemeral)

    def tick(self) -> Any:
        return self.function.invoke(TICK)


@pytest.fixture
def cold(monkeypatch) -> Iterator[None]:
    """Every test starts a new container; the process's logging is left as it was."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    botocore = logging.getLogger("botocore").level
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    yield
    if lambda_handler.cold_start.cache_info().currsize:
        lambda_handler.cold_start().jobs.shutdown(wait=True)
    lambda_handler.cold_start.cache_clear()
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.getLogger("botocore").setLevel(botocore)


def _secret(name: str, value: str) -> str:
    client = boto3.client("secretsmanager", region_name="us-east-1")
    return client.create_secret(Name=name, SecretString=value)["ARN"]


def _deploy(monkeypatch, slack: FakeSlack, tmp_path, config: str) -> Iterator[Deployed]:
    table = f"iam-bot-{uuid.uuid4().hex[:8]}"
    dynamo.create_table(table)
    signing = secrets.token_hex(16)
    both = json.dumps({"SLACK_BOT_TOKEN": "xoxb-lambda", "SLACK_SIGNING_SECRET": signing})
    arn = _secret("iam-bot/slack", both)  # one secret holds both, each under its name
    (tmp_path / "iam-bot.yml").write_text(config)
    function = LocalLambda()
    monkeypatch.setenv("SLACK_BOT_TOKEN_SECRET_ARN", arn)
    monkeypatch.setenv("SLACK_SIGNING_SECRET_SECRET_ARN", arn)
    monkeypatch.setenv("SLACK_API_URL", slack.api_url)
    monkeypatch.setenv("IAM_BOT_CONFIG", str(tmp_path / "iam-bot.yml"))
    monkeypatch.setenv("IAM_BOT_STATE", f"dynamodb://{table}")
    monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", function.url)
    try:
        yield Deployed(function, SlackSender(f"{function.url}/", signing, slack), slack, table)
    finally:
        function.close()


@pytest.fixture
def deployed(aws, slack, tmp_path, monkeypatch, cold) -> Iterator[Deployed]:
    yield from _deploy(monkeypatch, slack, tmp_path, CONFIG)


ROTATION = CONFIG + "rotation: {grace_minutes: 0, delete_after_minutes: 0}\n"


@pytest.fixture
def rotating(aws, slack, tmp_path, monkeypatch, cold) -> Iterator[Deployed]:
    yield from _deploy(monkeypatch, slack, tmp_path, ROTATION)


def test_keys_is_acked_then_answered_by_the_functions_own_invocation(deployed, iam) -> None:
    key = user_with_key(iam, "dave")

    reply = deployed.command("keys dave")

    assert key in deployed.answer(reply)
    [(name, payload)] = deployed.function.invocations  # Bolt re-invoked itself, once
    assert name == FUNCTION_ARN
    assert payload["headers"]["x-slack-bolt-lazy-only"] == "1"
    assert not [t for t in threading.enumerate() if t.name == "iam-bot-scheduler"]
    store = open_store(f"dynamodb://{deployed.table}")
    assert store.list_by_state("outbox", ["sent"])  # the answer went through the table


def test_a_forged_request_is_refused_and_invokes_nothing(deployed) -> None:
    forged = deployed.sender.command("keys dave", signature="v0=" + "0" * 64)
    assert forged.status == 401
    assert deployed.function.invocations == []


@contextlib.contextmanager
def logged() -> Iterator[io.StringIO]:
    """What the container logs meanwhile (its logging is set up at its first invocation)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logging.getLogger().addHandler(handler)
    try:
        yield stream
    finally:
        logging.getLogger().removeHandler(handler)


_FORM = "application/x-www-form-urlencoded"
_NESTED = b'{"type": "BODYMARK", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"


@pytest.mark.parametrize(
    ("body", "content_type", "refused"),
    [
        (b'{"type": "event_callback", "BODYMARK": ', "application/json", "401 invalid signature"),
        (_NESTED, "application/json", "401 invalid signature"),
        (b"command=%2Fiam&text=\xff\xfe BODYMARK", _FORM, "400 body is not UTF-8"),
        (b"command=%2Fiam&text=keys+BODYMARK", _FORM, "401 invalid signature"),  # well formed
    ],
)
def test_an_unsigned_body_is_refused_unparsed_with_one_line(
    deployed, body: bytes, content_type: str, refused: str
) -> None:
    deployed.tick()  # a warm container
    forged = {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": str(int(time.time())),
        "X-Slack-Signature": "v0=" + "0" * 64,
    }
    with logged() as stream:
        reply = deployed.sender.raw(body, forged)

    assert reply.status == int(refused[:3])
    lines = stream.getvalue().splitlines()
    (line,) = [line for line in lines if "refused a request" in line]
    assert refused in line
    assert not [line for line in lines if "BODYMARK" in line or "Traceback" in line]
    assert deployed.function.invocations == []


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (_NESTED, "application/json", 400),
        (b"command=%2Fiam&text=\xff\xfe BODYMARK", _FORM, 400),
        (b'["BODYMARK"]', "application/json", 400),
        (b"command=%2Fiam&text=" + b"BODYMARK" * 70_000, _FORM, 413),  # over a command's size
        (b"payload=" + b"BODYMARK" * 270_000, _FORM, 413),  # over any request's
    ],
)
def test_a_signed_body_bolt_could_not_read_is_refused_with_one_line(
    deployed, body: bytes, content_type: str, status: int
) -> None:
    deployed.tick()
    with logged() as stream:
        reply = deployed.sender.signed(body, content_type)

    assert reply.status == status
    lines = stream.getvalue().splitlines()
    (refused,) = [line for line in lines if "refused a request" in line]
    assert f": {status} " in refused
    assert not [line for line in lines if "BODYMARK" in line or "Traceback" in line]
    assert deployed.function.invocations == []


def test_the_tick_delivers_what_slack_refused_and_nothing_else_does(deployed, iam) -> None:
    key = user_with_key(iam, "dave")
    deployed.slack.fail("response_url", "http_500", times=3)  # the client's own retries too

    reply = deployed.command("keys dave")
    assert key not in deployed.answer(reply)
    time.sleep(2.5)  # the outbox's first backoff (2 s) is over: the entry is due again
    assert key not in deployed.answer(reply)  # no thread of the function delivers it

    assert deployed.tick() == {"failed": 0}

    assert key in deployed.answer(reply)


def test_the_tick_runs_a_due_scheduled_step(rotating, iam, aws) -> None:
    iam.create_user(UserName="dave")
    old = aged_key(iam, aws, "dave", age_days=200, used_days_ago=10)
    rotating.command("rotate dave")
    plan = next(
        m for m in rotating.slack.messages("C0OPS") if "Rotate the access key" in flatten(m)
    )
    assert rotating.sender.press(plan, user_id="U0ALICE", label="Confirm").status == 200
    rotating.function.wait_idle()
    assert key_statuses(iam, "dave")[old] == "Inactive"  # grace 0: retired in the same run
    assert "Delete the access key" not in rotating.channel()  # its deletion is due, not yet run

    rotating.tick()

    assert "Delete the access key" in rotating.channel()
    assert old in rotating.channel()


def test_slack_secrets_from_parameter_store(deployed, slack, monkeypatch) -> None:
    ssm = boto3.client("ssm", region_name="us-east-1")
    ssm.put_parameter(Name="/iam-bot/bot-token", Value="xoxb-from-ssm", Type="SecureString")
    monkeypatch.delenv("SLACK_BOT_TOKEN_SECRET_ARN")  # read at the container's first invocation
    monkeypatch.setenv("SLACK_BOT_TOKEN_SSM_PARAMETER", "/iam-bot/bot-token")

    reply = deployed.command("keys nobody-here")

    assert "nobody-here" in deployed.answer(reply)
    assert {c.token for c in slack.calls() if c.token} == {"xoxb-from-ssm"}


@pytest.mark.parametrize(
    ("variables", "line"),
    [
        (
            {"SLACK_BOT_TOKEN_SECRET_ARN": "iam-bot/missing"},
            "SLACK_BOT_TOKEN_SECRET_ARN: cannot read iam-bot/missing (ResourceNotFoundException)",
        ),
        (
            {"SLACK_BOT_TOKEN_SECRET_ARN": "iam-bot/other", "SLACK_BOT_TOKEN": "xoxb-plain"},
            "SLACK_BOT_TOKEN: set only one of SLACK_BOT_TOKEN, SLACK_BOT_TOKEN_SECRET_ARN or "
            "SLACK_BOT_TOKEN_SSM_PARAMETER",
        ),
        (
            {"SLACK_SIGNING_SECRET_SECRET_ARN": "iam-bot/other"},
            "SLACK_SIGNING_SECRET_SECRET_ARN: iam-bot/other holds no text for SLACK_SIGNING_SECRET",
        ),
    ],
)
def test_a_secret_that_cannot_be_read_stops_with_one_line(
    aws, cold, monkeypatch, variables: dict[str, str], line: str
) -> None:
    _secret("iam-bot/other", json.dumps({"SLACK_BOT_TOKEN": "xoxb-never-shown"}))
    for name, value in variables.items():
        monkeypatch.setenv(name, value)

    with pytest.raises(ConfigError) as stopped:
        lambda_handler.handler(TICK, LambdaContext())

    assert str(stopped.value) == line
    assert "xoxb-never-shown" not in str(stopped.value)


def test_the_check_event_reads_iam_with_the_functions_own_role(deployed, aws) -> None:
    """After a deployment, `aws lambda invoke --payload '{"source": "iam-bot.check"}'` proves
    what no laptop can: the function's own role reads IAM (here: it is denied, as the central
    role of central.yaml without ActInHomeAccount=true is)."""
    assert deployed.function.invoke(CHECK) == {
        "accounts": {"this account (the bot's own credentials)": "ok"},
        "missing": "",
    }
    aws.fail("GetAccountSummary", code="AccessDenied", status=403, message="denied")

    answer = deployed.function.invoke(CHECK)

    assert answer["missing"].startswith("AWS: cannot read IAM in 1 of 1 account")
    assert "ActInHomeAccount=true" in answer["missing"]


def test_a_cold_start_names_config_accounts_and_region(deployed, capsys) -> None:
    deployed.tick()
    started = [line for line in capsys.readouterr().err.splitlines() if "AWS Lambda, " in line]
    assert len(started) == 1, started
    assert started[0].endswith("iam-bot.yml, one account, region us-east-1")


@pytest.fixture
def with_incidents(aws, slack, tmp_path, monkeypatch, cold) -> Iterator[Deployed]:
    yield from _deploy(monkeypatch, slack, tmp_path, CONFIG + "incidents: {channel: C0SEC}\n")


def test_an_aws_alarm_invokes_the_function_and_posts_the_incident_card(
    with_incidents, slack, iam
) -> None:
    deployed = with_incidents
    key = user_with_key(iam, "dave")
    event = health_event(key)

    first = deployed.function.invoke(event)  # EventBridge's rule, invoking the function
    again = deployed.function.invoke(event)  # EventBridge delivers at least once

    assert first == {"incidents": [key]} and again == {"incidents": []}
    assert key in deployed.channel("C0SEC")  # delivered before the invocation returned
    posts = [c for c in slack.calls("chat.postMessage") if c.args["channel"] == "C0SEC"]
    card = [c for c in posts if "thread_ts" not in c.args]
    investigation = [c for c in posts if "thread_ts" in c.args]  # what the key did, once
    assert len(card) == 1 and len(investigation) == 1


def _from_the_queue(*bodies: str) -> dict[str, Any]:
    """A batch of the alarms' queue as Lambda's poller hands it to the function (the record
    shape of Lambda's SQS event source): message ``m<n>`` carries ``bodies[n]``."""
    queue = "arn:aws:sqs:us-east-1:123456789012:iam-bot-events-iam-bot"
    return {
        "Records": [
            {
                "messageId": f"m{n}",
                "receiptHandle": f"receipt-{n}",
                "body": body,
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "eventSourceARN": queue,
                "awsRegion": "us-east-1",
            }
            for n, body in enumerate(bodies)
        ]
    }


def test_an_alarm_the_store_cannot_take_goes_back_to_its_queue_and_is_taken_later(
    with_incidents, aws, iam
) -> None:
    deployed = with_incidents
    first, second = user_with_key(iam, "dave"), user_with_key(iam, "erin")
    batch = _from_the_queue(
        json.dumps(health_event(first)), "not an event", json.dumps(health_event(second))
    )
    deployed.tick()  # a warm container: the outage starts after its cold start
    aws.fail("PutItem", code="AccessDeniedException", status=400, times=1000)  # store down

    handed_back = deployed.function.invoke(batch)

    assert handed_back == {
        "batchItemFailures": [{"itemIdentifier": "m0"}, {"itemIdentifier": "m2"}]
    }
    assert first not in deployed.channel("C0SEC")
    aws.heal("PutItem")
    assert deployed.function.invoke(batch) == {"batchItemFailures": []}  # the queue, again
    cards = deployed.channel("C0SEC")
    assert first in cards and second in cards
