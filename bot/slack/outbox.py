"""What the bot still has to tell people, kept in the store until Slack has it.

State changes and AWS work never wait on Slack: they write what is to be said here and go on
(the transactional outbox). Delivery runs on the job pool, one lane at a time (a request's
message, a response URL, a channel, a person's DMs), so each lane keeps its order. slack_sdk's
retry handlers honour ``Retry-After`` and retry server errors within a delivery; what still
fails is logged at ERROR with its request and retried with backoff on the scheduler's tick.
A request's message is rendered from the request as it stands when it is delivered, so many
updates collapse into one and the last one shown is always the current state.

Entries are claimed for a short while before delivery, so two replicas draining the same lane
deliver each entry once; a replica that dies mid-delivery leaves the claim to run out.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import (
    BackoffRetryIntervalCalculator,
    FixedValueRetryIntervalCalculator,
    RetryHandler,
)
from slack_sdk.http_retry.builtin_handlers import (  # the server-error one is not re-exported
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.webhook import WebhookClient

from bot.access.approvals import utc_now
from bot.access.records import readable
from bot.access.store import Record, Store

log = logging.getLogger(__name__)

KIND = "outbox"
WAITING, SENT, FAILED = "waiting", "sent", "failed"
MAX_ATTEMPTS = 12  # with the backoff below: about an hour of trying
CLAIM_S = 60.0
_TRANSIENT = {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "timeout"}


def retry_handlers(wait_s: float | None = None) -> list[RetryHandler]:
    """What the Web API client and response URLs retry on their own before the outbox does.
    Between tries after a failed connection or a 5xx: slack_sdk's backoff with jitter, or
    ``wait_s`` (the sandbox's tests: 0)."""
    wait = (
        BackoffRetryIntervalCalculator()
        if wait_s is None
        else FixedValueRetryIntervalCalculator(wait_s)
    )
    return [
        ConnectionErrorRetryHandler(max_retry_count=2, interval_calculator=wait),
        # Waits Slack's Retry-After (and up to a second of jitter) whatever ``wait_s`` says.
        RateLimitErrorRetryHandler(max_retry_count=3),
        ServerErrorRetryHandler(max_retry_count=2, interval_calculator=wait),
    ]


def backoff_s(attempts: int) -> float:
    return float(min(300, 2**attempts))


class Undeliverable(Exception):
    """Slack refused for good (a used-up response URL, an unknown channel): retrying is futile."""


@dataclass(frozen=True)
class Entry:
    id: str
    kind: str  # one of the handlers' names: message | audit | post | dm | respond | ephemeral
    lane: str
    seq: int
    payload: dict[str, Any]
    request_id: str = ""
    attempts: int = 0
    next_at: float = 0.0  # epoch seconds; also the end of a claim while one is delivering it
    state: str = WAITING
    version: int = 0

    def to_record(self) -> Record:
        data = {
            "kind": self.kind,
            "lane": self.lane,
            "seq": self.seq,
            "payload": self.payload,
            "request_id": self.request_id,
            "attempts": self.attempts,
            "next_at": self.next_at,
        }
        return Record(self.id, KIND, self.state, data, self.version)

    @classmethod
    def from_record(cls, record: Record) -> Entry:
        d = record.data
        return cls(
            record.id, d["kind"], d["lane"], d["seq"], d["payload"], d.get("request_id", ""),
            d.get("attempts", 0), d.get("next_at", 0.0), record.state, record.version,
        )  # fmt: skip


Handler = Callable[[dict[str, Any]], None]


class Outbox:
    def __init__(
        self,
        store: Store,
        client: WebClient,
        submit: Callable[..., Any],
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._store = store
        self._client = client
        self._submit = submit
        self._clock = clock  # the bot's clock: when an entry is due, as for every scheduled step
        self._locks: dict[str, threading.Lock] = defaultdict(threading.Lock)
        self._locks_guard = threading.Lock()
        self.handlers: dict[str, Handler] = {
            "post": self._post,
            "dm": self._dm,
            "respond": self._respond,
            "ephemeral": self._ephemeral,
        }
        self.coalesced = {"message"}  # kinds where only the newest entry of a lane matters

    @property
    def store(self) -> Store:
        """Where the entries are kept: handlers keep what Slack told them beside them (an audit
        thread's ts), with the same compare-and-set."""
        return self._store

    def _now(self) -> float:
        """The bot's clock in epoch seconds, as ``next_at`` keeps it."""
        return self._clock().timestamp()

    # --- what to say ----------------------------------------------------------------------------

    def add(
        self, kind: str, lane: str, payload: dict[str, Any], *, request_id: str = "", id: str = ""
    ) -> bool:
        """Keep ``payload`` for delivery by handler ``kind`` and start delivering its lane.
        With ``id``, at most once: False when an entry with that ID exists already."""
        # ``seq`` orders a lane's entries, in real time whatever the bot's clock says.
        entry = Entry(id or uuid.uuid4().hex, kind, lane, time.time_ns(), payload, request_id)
        if self._store.put_if_version(entry.to_record()) is None:
            return False
        self._submit(self.drain, lane)
        return True

    def post(
        self, channel: str, message: dict[str, Any], *, request_id: str = "", id: str = ""
    ) -> bool:
        return self.add(
            "post", f"channel:{channel}", {"channel": channel, **message},
            request_id=request_id, id=id,
        )  # fmt: skip

    def dm(self, user: str, text: str, *, request_id: str = "") -> None:
        self.add("dm", f"dm:{user}", {"user": user, "text": text}, request_id=request_id)

    def respond(self, url: str, message: dict[str, Any], *, request_id: str = "") -> None:
        self.add("respond", f"url:{url}", {"url": url, **message}, request_id=request_id)

    def ephemeral(self, channel: str, user: str, text: str, *, request_id: str = "") -> None:
        payload = {"channel": channel, "user": user, "text": text}
        self.add("ephemeral", f"channel:{channel}", payload, request_id=request_id)

    # --- delivery ---------------------------------------------------------------------------

    def deliver_due(self) -> None:
        """On the scheduler's tick: start every lane that has something due."""
        now = self._now()
        lanes = {e.lane for e in self._waiting() if e.next_at <= now}
        for lane in lanes:
            self._submit(self.drain, lane)

    def drain(self, lane: str) -> None:
        """Deliver the lane's due entries in order; stop at one that fails (order matters)."""
        with self._lane_lock(lane):
            due = sorted(
                (e for e in self._waiting() if e.lane == lane and e.next_at <= self._now()),
                key=lambda e: e.seq,
            )
            while due:
                batch = [due.pop(0)]
                if batch[0].kind in self.coalesced:
                    while due and due[0].kind == batch[0].kind:
                        batch.append(due.pop(0))
                if not self._deliver(batch):
                    return

    def _deliver(self, batch: list[Entry]) -> bool:
        claimed = [c for e in batch if (c := self._move(e, next_at=self._now() + CLAIM_S))]
        if not claimed:
            return True  # another replica has them
        newest = claimed[-1]
        # Coalesced entries go as one: what an older one said and a newer one does not repeat
        # (where the person who opened a request can be answered) is kept.
        payload = {k: v for entry in claimed for k, v in entry.payload.items()}
        try:
            self.handlers[newest.kind](payload)
        except Exception as exc:
            return self._failed(claimed, exc)
        for entry in claimed:
            self._move(entry, state=SENT)
        return True

    def _failed(self, claimed: list[Entry], exc: Exception) -> bool:
        newest = claimed[-1]
        attempts = newest.attempts + 1
        permanent = isinstance(exc, Undeliverable) or not _transient(exc)
        if permanent or attempts >= MAX_ATTEMPTS:
            log.error(
                "gave up telling Slack (%s for request %s, attempt %d): %s",
                newest.kind, newest.request_id or "-", attempts, _describe(exc),
            )  # fmt: skip
            for entry in claimed:
                self._move(entry, state=FAILED, attempts=attempts)
            return True  # the next entries of the lane may still go out
        delay = backoff_s(attempts)
        log.error(
            "could not tell Slack (%s for request %s, attempt %d): %s; retrying in %.0f s",
            newest.kind, newest.request_id or "-", attempts, _describe(exc), delay,
        )  # fmt: skip
        for entry in claimed:
            self._move(entry, attempts=attempts, next_at=self._now() + delay)
        return False

    def _waiting(self) -> list[Entry]:
        """The readable waiting entries; one that cannot be read is reported and parked."""
        records = self._store.list_by_state(KIND, [WAITING])
        return readable(records, Entry.from_record, KIND, skipped=self._park)

    def _park(self, record: Record) -> None:
        """An entry that cannot be read is failed as it stands, so no lane waits on it and no
        tick reads it again; its record stays for an operator to look at."""
        self._store.put_if_version(replace(record, state=FAILED))

    def _move(self, entry: Entry, **change: Any) -> Entry | None:
        stored = self._store.put_if_version(replace(entry, **change).to_record())
        return Entry.from_record(stored) if stored else None

    def _lane_lock(self, lane: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks[lane]

    # --- the standard handlers --------------------------------------------------------------

    def _post(self, payload: dict[str, Any]) -> None:
        self._client.chat_postMessage(**payload)

    def _dm(self, payload: dict[str, Any]) -> None:
        channel = self._client.conversations_open(users=payload["user"])["channel"]["id"]
        self._client.chat_postMessage(channel=channel, text=payload["text"])

    def _ephemeral(self, payload: dict[str, Any]) -> None:
        self._client.chat_postEphemeral(**payload)

    def _respond(self, payload: dict[str, Any]) -> None:
        body = {k: v for k, v in payload.items() if k != "url"}
        hook = WebhookClient(payload["url"], retry_handlers=self._client.retry_handlers)
        answer = hook.send_dict(body)
        if answer.status_code == 429 or answer.status_code >= 500:
            raise SlackApiError(f"response_url answered {answer.status_code}", answer)
        if answer.status_code != 200:
            raise Undeliverable(f"response_url answered {answer.status_code} {answer.body}")


def _transient(exc: Exception) -> bool:
    if isinstance(exc, SlackApiError):
        status = getattr(exc.response, "status_code", 200)
        error = exc.response.get("error", "") if hasattr(exc.response, "get") else ""
        return status == 429 or status >= 500 or error in _TRANSIENT
    return True  # connection errors, timeouts: Slack may well answer later


def _describe(exc: Exception) -> str:
    if isinstance(exc, SlackApiError):
        status = getattr(exc.response, "status_code", "?")
        error = exc.response.get("error", "") if hasattr(exc.response, "get") else ""
        return f"HTTP {status} {error}".strip()
    return type(exc).__name__ + (f": {exc}" if str(exc) else "")
