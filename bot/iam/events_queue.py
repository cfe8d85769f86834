"""AWS's events on a server: EventBridge delivers them to an SQS queue, polled here.

Long polling (20 seconds, 10 messages a call) costs one request per 20 quiet seconds. A message
is deleted only once ``handle`` returned for it (its incident is stored); one ``handle`` raised
on stays in the queue, comes back after the queue's visibility timeout, and after the redrive
policy's receive count goes to the dead-letter queue (deploy/ makes both), so a poison message
never blocks the others. The calls are the bot's own, made for nobody in chat.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Any

from bot.iam.aws import Aws
from bot.iam.errors import IamError
from bot.iam.sessions import Account, Actor, acting

log = logging.getLogger(__name__)

WAIT_SECONDS = 20  # SQS's longest long poll
BATCH = 10  # SQS's most messages a call
_BACKOFF_S = 5.0  # after the queue itself failed
_BOT = Actor("iam-bot")
_HOME = Account("", "", None)  # the bot's own credentials, where its queue is


def receive(aws: Aws, url: str, wait_s: int = WAIT_SECONDS) -> list[dict[str, Any]]:
    """Up to 10 messages, waiting up to ``wait_s`` for the first."""
    with acting(_HOME, _BOT):
        answer = aws.call(
            "sqs", "ReceiveMessage", QueueUrl=url, MaxNumberOfMessages=BATCH,
            WaitTimeSeconds=wait_s, MessageSystemAttributeNames=["ApproximateReceiveCount"],
        )  # fmt: skip
    return list(answer.get("Messages", []))


def delete(aws: Aws, url: str, receipt: str) -> None:
    with acting(_HOME, _BOT):
        aws.call("sqs", "DeleteMessage", QueueUrl=url, ReceiptHandle=receipt)


class QueuePoller:
    """A thread polling ``url`` and handing each message's event to ``handle``."""

    def __init__(self, aws: Aws, url: str, handle: Callable[[dict[str, Any]], Any]) -> None:
        self._aws, self._url, self._handle = aws, url, handle
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="events-queue", daemon=True)

    def start(self) -> QueuePoller:
        self._thread.start()
        return self

    def stop(self) -> None:
        """No new poll starts; one under way ends within its wait and handles nothing."""
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                messages = receive(self._aws, self._url)
            except IamError as exc:
                log.error("events queue could not be read (%s); trying again", exc.code or exc)
                self._stop.wait(_BACKOFF_S)
                continue
            for message in messages:
                if self._stop.is_set():
                    return
                self.one(message)

    def one(self, message: dict[str, Any]) -> bool:
        """Handle one message; delete it once done with. False: kept for a later receive."""
        receives = message.get("Attributes", {}).get("ApproximateReceiveCount", "?")
        if not take(message.get("Body"), self._handle, message.get("MessageId"), receives):
            return False
        delete(self._aws, self._url, message["ReceiptHandle"])
        return True


def take(
    body: Any, handle: Callable[[dict[str, Any]], Any], message_id: Any, receives: Any
) -> bool:
    """Hand a queue message's event to ``handle``. True: done with it (handled, or no event at
    all, logged and dropped, so a poison message never blocks the others); False: ``handle``
    raised (its incident is not stored), and the message must come again. The server's
    poller and Lambda's (:mod:`bot.lambda_handler`) both take messages here."""
    try:
        event = json.loads(body)
        if not isinstance(event, dict):
            raise TypeError("not a JSON object")
    except (ValueError, TypeError):
        log.error("events queue: message %s is not an event; dropped", message_id)
        return True
    try:
        handle(event)
    except Exception:
        log.exception(
            "events queue: event %s not stored (receive %s); kept for a retry",
            str(event.get("id", "?"))[:64], receives,
        )  # fmt: skip
        return False
    return True
