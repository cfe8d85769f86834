"""The bot on AWS Lambda: ``bot.lambda_handler.handler``, through Bolt's own Lambda adapter.

One function takes these kinds of event:

- Slack's requests, from a Function URL or API Gateway (payload 2.0 or 1.0). Their size,
  signature and shape are checked first, as the HTTP server does (:mod:`bot.slack.inbound`):
  what fails is answered 413, 401 or 400 with one log line, its body neither parsed nor
  logged. Bolt's ``SlackRequestHandler`` then acks within the invocation; each lazy
  listener (the AWS work behind a command or a click) runs in a new asynchronous invocation of
  this same function that Bolt makes itself (``lambda:InvokeFunction`` on the function's own
  ARN, the same signed request marked ``x-slack-bolt-lazy-only``). The ack is answered as the
  first invocation returns, so Slack's three seconds never wait on AWS.
- The scheduler's tick, ``{"source": "iam-bot.tick"}``, sent by an EventBridge Scheduler
  schedule (``rate(1 minute)``, the event as the target's Input): one pass of what the
  scheduler thread of ``iam-bot serve`` does each poll. Scheduled steps that are due run, the
  outbox delivers what Slack has not yet taken, pending requests are reminded or expired, runs
  whose lease ran out are taken over, and the scheduled audit is posted when its time came.
- AWS's alarms about access keys (``source`` ``aws.health``, ``aws.guardduty``,
  ``aws.trustedadvisor``, and CloudTrail's ``aws.iam`` calls), which EventBridge puts on a
  queue that Lambda polls for the function (deploy/lambda.yaml), a batch of messages an
  invocation: each is stored as its key's incident before the invocation returns, and its
  card delivered (:mod:`bot.slack.incidents`). A message whose incident could not be stored
  (the store failing) is handed back (``batchItemFailures``) and comes again, at last to the
  dead-letter queue; the others of its batch are done. An alarm invoking the function
  directly is taken too: an error fails that invocation; an event about nothing the bot
  follows returns ``{"dropped": why}``.
- The check, ``{"source": "iam-bot.check"}``, sent by the operator after a deployment
  (``aws lambda invoke --payload '{"source": "iam-bot.check"}'``): what `iam-bot config check`
  proves, with the function's own role, which no laptop has. It returns ``{"accounts":
  {account: "ok" | what is missing}, "missing": one line or ""}``.

The app is built once per container, at its first invocation, by the code path of
``iam-bot serve`` (:func:`bot.slack.app.build_app`), with ``background=False``: a container is
frozen between invocations, so no thread may hold work across one. Each invocation therefore
waits, before it returns, for the work it started on the job pool (outbox deliveries, a run);
what the function's timeout cuts short is resumed by a later tick, as a dead replica's work is.
"""

from __future__ import annotations

import base64
import binascii
import functools
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from slack_bolt.adapter.aws_lambda import SlackRequestHandler
from slack_bolt.adapter.aws_lambda.lazy_listener_runner import LambdaLazyListenerRunner
from slack_sdk.signature import SignatureVerifier

from bot.access import reach
from bot.access.schedule import Scheduler
from bot.cli import describe, open_state, reach_accounts
from bot.config_error import ConfigError
from bot.iam import events_queue, sessions
from bot.iam.aws import Aws
from bot.iam.secret_settings import resolve_secrets
from bot.logs import redact, setup_logging
from bot.operator_rules import load_config
from bot.ops.terms import OPERATIONS
from bot.process_settings import load_settings
from bot.slack import inbound
from bot.slack.app import build_app
from bot.slack.jobs import Jobs

log = logging.getLogger("iam-bot")

TICK_SOURCE = "iam-bot.tick"
CHECK_SOURCE = reach.CHECK_SOURCE
AWS_SOURCE = "aws."  # an EventBridge event from AWS itself: an alarm about a key, maybe
# Of an invocation's time, what waiting for its work leaves for returning.
_RETURN_MARGIN_S = 2.0


@dataclass(frozen=True)
class Function:
    """What a container builds once: Bolt's adapter over the app, the app's signature verifier
    (None when it checks none), its job pool, its scheduler."""

    slack: SlackRequestHandler
    verifier: SignatureVerifier | None
    jobs: Jobs
    scheduler: Scheduler
    read_iam: Callable[[], list[reach.Reach]]  # the IAM read in every account, as at startup
    intake: Callable[[dict[str, Any]], dict[str, Any]]  # an AWS event in: its incident stored

    def tick(self) -> dict[str, int]:
        """One scheduler pass (see :meth:`Scheduler.tick`): how many of its parts failed."""
        return {"failed": self.scheduler.tick()}

    def check(self) -> dict[str, Any]:
        """One IAM read in every configured account, with the function's own role."""
        results = self.read_iam()
        return {
            "accounts": {r.where: r.problem or "ok" for r in results},
            "missing": reach.summary(results),
        }

    def take_batch(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        """A batch of the alarms' queue, as Lambda's poller hands it: the messages whose
        incident is not stored are handed back, to come again (ReportBatchItemFailures)."""
        kept = [
            {"itemIdentifier": record.get("messageId")}
            for record in records
            if not events_queue.take(
                record.get("body"),
                self.intake,
                record.get("messageId"),
                (record.get("attributes") or {}).get("ApproximateReceiveCount", "?"),
            )
        ]
        return {"batchItemFailures": kept}

    def settle(self, context: Any) -> None:
        """Wait for the work this invocation started, as long as the invocation may last."""
        left = context.get_remaining_time_in_millis() / 1000 - _RETURN_MARGIN_S
        if not self.jobs.wait_idle(max(0.0, left)):
            log.warning("work still running as the invocation ends: a later tick resumes it")


@functools.cache
def cold_start() -> Function:
    """The app for this container, from the environment (secrets read from AWS by reference)."""
    settings = load_settings(resolve_secrets(os.environ, Aws()))
    setup_logging("INFO", settings.log_format, sessions.current_account_id)
    logging.getLogger("botocore").setLevel(logging.WARNING)
    config = load_config(settings.config_path, OPERATIONS)
    aws = Aws(attributed=config.accounts.enabled, max_workers=settings.workers)
    store = open_state(settings.state_url, settings.retention_days)
    app = build_app(settings, config, aws=aws, store=store, background=False)
    slack = SlackRequestHandler(app)
    # Bolt's re-invocations through the gateway's client: its region, retries and endpoint.
    app.listener_runner.lazy_listener_runner = LambdaLazyListenerRunner(
        slack.logger, aws.client("lambda")
    )
    log.info("AWS Lambda, %s", describe(settings.config_path, aws, config))
    reached = functools.partial(reach_accounts, config, aws, store)
    return Function(
        slack, inbound.verifier_of(app), app.jobs, app.scheduler, reached, app.incidents.intake
    )


def _function() -> Function:
    """The container's app; a setting that stops it is one line (a later invocation tries
    again, so a secret made readable since needs no redeploy)."""
    try:
        return cold_start()
    except ConfigError as exc:
        line = redact(str(exc))
        log.error("iam-bot: %s", line)
        raise ConfigError(line) from None


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda's entry point: a Slack request (or Bolt's own re-invocation), or the tick."""
    function = _function()
    try:
        if event.get("source") == TICK_SOURCE:
            return function.tick()
        if event.get("source") == CHECK_SOURCE:
            return function.check()
        if str(event.get("source", "")).startswith(AWS_SOURCE):
            return function.intake(event)
        if _from_queue(event):
            return function.take_batch(event["Records"])
        try:
            _admit(event, function.verifier)
        except inbound.Refused as refused:
            inbound.log_refused(_source(event), refused)
            return _refusal(refused.status)
        return function.slack.handle(event, context)
    finally:
        function.settle(context)


def _from_queue(event: dict[str, Any]) -> bool:
    """Whether Lambda's SQS poller sent ``event``: a batch of a queue's messages."""
    records = event.get("Records")
    return bool(records) and all(r.get("eventSource") == "aws:sqs" for r in records)


def _admit(event: dict[str, Any], verifier: SignatureVerifier | None) -> None:
    """Refuse a Slack request Bolt should not see (:mod:`bot.slack.inbound`). Bolt's own
    re-invocations for lazy listeners carry the request as it came, signature included."""
    text = event.get("body") or ""
    if not isinstance(text, str):
        raise inbound.Refused(HTTPStatus.BAD_REQUEST, "event body is not text")
    if event.get("isBase64Encoded"):
        inbound.check_size(len(text) * 3 // 4)  # before decoding it
        try:
            body = base64.b64decode(text, validate=True)
        except binascii.Error:
            raise inbound.Refused(HTTPStatus.BAD_REQUEST, "body is not base64") from None
    else:
        body = text.encode("utf-8", "surrogatepass")
    inbound.check_size(len(body), body)
    headers = event.get("headers") or {}
    inbound.check(body, {str(k).lower(): str(v) for k, v in headers.items()}, verifier)


def _source(event: dict[str, Any]) -> str:
    """The caller's address, from a Function URL's or API Gateway's event (payload 2.0 or 1.0)."""
    request = event.get("requestContext") or {}
    return str(
        (request.get("http") or {}).get("sourceIp")
        or (request.get("identity") or {}).get("sourceIp")
        or "an unknown address"
    )


def _refusal(status: HTTPStatus) -> dict[str, Any]:
    return {
        "statusCode": status.value,
        "headers": {"Content-Type": "text/plain"},
        "body": f"{status.phrase}\n",
    }
