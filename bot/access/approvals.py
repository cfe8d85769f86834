"""Who approved what: the request record of every destructive command and its state machine.

pending -> approved -> running -> done | failed (failed -> running on Retry), or
pending -> denied | cancelled | expired. Every transition is a compare-and-set in the store, so
double clicks, two approvers in the same instant, Slack retries and a second replica all end in
one transition; whoever loses is told the current state ("already approved by X").
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.access.rules import Rules
from bot.access.store import Record, Store
from bot.config import Config

KIND = "request"


class State(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    DENIED = "denied"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


@dataclass(frozen=True)
class Decision:
    who: str
    verdict: str  # approve | deny | cancel | retry | resume | expire
    at: datetime
    reason: str = ""


@dataclass(frozen=True)
class Request:
    id: str
    command: str
    target: str
    requester: str
    reason: str
    plan: dict[str, Any]
    created: datetime
    expires: datetime
    required: int
    state: State = State.PENDING
    decisions: tuple[Decision, ...] = ()
    channel: str = ""
    message_ts: str = ""
    outcome: dict[str, Any] = field(default_factory=dict)
    version: int = 0

    @property
    def approvers(self) -> list[str]:
        return [d.who for d in self.decisions if d.verdict == "approve"]

    def decided_by(self, verdict: str) -> Decision | None:
        return next((d for d in reversed(self.decisions) if d.verdict == verdict), None)

    def to_record(self) -> Record:
        data = {
            "command": self.command,
            "target": self.target,
            "requester": self.requester,
            "reason": self.reason,
            "plan": self.plan,
            "created": self.created.isoformat(),
            "expires": self.expires.isoformat(),
            "required": self.required,
            "decisions": [
                {"who": d.who, "verdict": d.verdict, "at": d.at.isoformat(), "reason": d.reason}
                for d in self.decisions
            ],
            "channel": self.channel,
            "message_ts": self.message_ts,
            "outcome": self.outcome,
        }
        return Record(self.id, KIND, self.state.value, data, self.version)

    @classmethod
    def from_record(cls, record: Record) -> Request:
        d = record.data
        return cls(
            id=record.id,
            command=d["command"],
            target=d["target"],
            requester=d["requester"],
            reason=d["reason"],
            plan=d["plan"],
            created=datetime.fromisoformat(d["created"]),
            expires=datetime.fromisoformat(d["expires"]),
            required=d["required"],
            state=State(record.state),
            decisions=tuple(
                Decision(
                    x["who"], x["verdict"], datetime.fromisoformat(x["at"]), x.get("reason", "")
                )
                for x in d["decisions"]
            ),
            channel=d.get("channel", ""),
            message_ts=d.get("message_ts", ""),
            outcome=d.get("outcome", {}),
            version=record.version,
        )


@dataclass(frozen=True)
class Outcome:
    """The result of a click: the request as it now stands, and whether this click changed it.

    ``refusal`` is set when the click was not allowed or came too late; it is meant for the
    person who clicked. ``now`` is the state this call moved the request to (None if unchanged).
    """

    request: Request
    now: State | None = None
    refusal: str | None = None


class Refused(Exception):
    pass


class Approvals:
    def __init__(self, store: Store, rules: Rules, config: Config, clock: Callable[[], datetime]):
        self._store = store
        self._rules = rules
        self._config = config
        self._clock = clock

    def open(
        self,
        *,
        command: str,
        target: str,
        requester: str,
        reason: str,
        plan: dict[str, Any],
        channel: str,
    ) -> Request:
        now = self._clock()
        request = Request(
            id=uuid.uuid4().hex[:12],
            command=command,
            target=target,
            requester=requester,
            reason=reason,
            plan=plan,
            created=now,
            expires=now + timedelta(minutes=self._config.approvals.expire_minutes),
            required=self._config.approvals.required_for(command),
            channel=channel,
        )
        stored = self._store.put_if_version(request.to_record())
        assert stored is not None, "request ids are unique"
        return Request.from_record(stored)

    def get(self, request_id: str) -> Request | None:
        record = self._store.get(request_id)
        return Request.from_record(record) if record and record.kind == KIND else None

    def save(self, request: Request) -> Request | None:
        stored = self._store.put_if_version(request.to_record())
        return Request.from_record(stored) if stored else None

    def history(self, target: str) -> list[Request]:
        everything = self._store.list_by_state(KIND, [s.value for s in State])
        return [r for r in map(Request.from_record, everything) if r.target == target]

    def in_state(self, *states: State) -> list[Request]:
        return [
            Request.from_record(r)
            for r in self._store.list_by_state(KIND, [s.value for s in states])
        ]

    def _transition(self, request_id: str, change: Callable[[Request], Request]) -> Outcome:
        """Apply ``change`` by compare-and-set; if another writer won, re-read and decide again."""
        while True:
            current = self.get(request_id)
            if current is None:
                raise Refused("That request no longer exists.")
            if current.state is State.PENDING and self._clock() >= current.expires:
                expired = replace(
                    current,
                    state=State.EXPIRED,
                    decisions=(*current.decisions, Decision("", "expire", self._clock())),
                )
                if self.save(expired) is None:
                    continue
                return Outcome(self.get(request_id) or expired, None, "This request has expired.")
            try:
                wanted = change(current)
            except Refused as refusal:
                return Outcome(current, None, str(refusal))
            stored = self.save(wanted)
            if stored is not None:
                return Outcome(stored, stored.state if stored.state != current.state else None)

    def _decide(
        self, request: Request, who: str, verdict: str, reason: str = ""
    ) -> tuple[Decision, ...]:
        return (*request.decisions, Decision(who, verdict, self._clock(), reason))

    def _require_pending(self, request: Request) -> None:
        if request.state is not State.PENDING:
            raise Refused(describe_state(request))

    def approve(self, request_id: str, who: str) -> Outcome:
        def change(request: Request) -> Request:
            self._require_pending(request)
            if request.required == 0:
                if who != request.requester and not self._rules.allowed(who, "approve"):
                    raise Refused("Only the requester or an approver can confirm this.")
            else:
                if who == request.requester:
                    raise Refused(
                        "You asked for this, so your approval does not count. Ask an approver."
                    )
                if not self._rules.allowed(who, "approve"):
                    raise Refused("You need the `approve` permission to approve this.")
                if who in request.approvers:
                    raise Refused("You have already approved this; it needs another approver.")
            decisions = self._decide(request, who, "approve")
            approvals = sum(1 for d in decisions if d.verdict == "approve")
            done = approvals >= max(1, request.required)
            return replace(
                request, decisions=decisions, state=State.APPROVED if done else State.PENDING
            )

        return self._transition(request_id, change)

    def deny(self, request_id: str, who: str, reason: str) -> Outcome:
        def change(request: Request) -> Request:
            self._require_pending(request)
            if who != request.requester and not self._rules.allowed(who, "approve"):
                raise Refused("You need the `approve` permission to deny this.")
            if not reason.strip():
                raise Refused("A denial needs a reason.")
            return replace(
                request, decisions=self._decide(request, who, "deny", reason), state=State.DENIED
            )

        return self._transition(request_id, change)

    def cancel(self, request_id: str, who: str) -> Outcome:
        def change(request: Request) -> Request:
            self._require_pending(request)
            if who != request.requester:
                raise Refused("Only the requester can cancel this.")
            return replace(
                request, decisions=self._decide(request, who, "cancel"), state=State.CANCELLED
            )

        return self._transition(request_id, change)

    def start(self, request_id: str, who: str, *, verdict: str = "run") -> Outcome:
        """approved -> running. Only the caller that wins this transition executes the plan."""

        def change(request: Request) -> Request:
            if request.state is not State.APPROVED:
                raise Refused(describe_state(request))
            return replace(
                request, decisions=self._decide(request, who, verdict), state=State.RUNNING
            )

        return self._transition(request_id, change)

    def retry(self, request_id: str, who: str) -> Outcome:
        """failed -> running, for approvers only."""

        def change(request: Request) -> Request:
            if request.state is not State.FAILED:
                raise Refused(describe_state(request))
            if not self._rules.allowed(who, "approve"):
                raise Refused("Only approvers can retry this.")
            return replace(
                request, decisions=self._decide(request, who, "retry"), state=State.RUNNING
            )

        return self._transition(request_id, change)

    def take_over(self, request: Request) -> Outcome:
        """Claim a run a crash left ``running``, as the caller saw it: of several callers (replicas
        restarting together) the first wins and resumes it from the journal; the record has
        moved on for the others, who are refused."""
        seen = request.version

        def change(request: Request) -> Request:
            if request.state is not State.RUNNING or request.version != seen:
                raise Refused("Another replica has already taken this run over.")
            return replace(request, decisions=self._decide(request, "iam-bot", "resume"))

        return self._transition(request.id, change)

    def finish(self, request_id: str, *, ok: bool, **outcome: Any) -> Outcome:
        def change(request: Request) -> Request:
            if request.state is not State.RUNNING:
                raise Refused(describe_state(request))
            return replace(
                request,
                state=State.DONE if ok else State.FAILED,
                outcome={**request.outcome, **outcome},
            )

        return self._transition(request_id, change)

    def reopen(self, request_id: str, plan: dict[str, Any], why: str) -> Outcome:
        """The world changed after approval: back to pending with the new plan, approvals reset."""

        def change(request: Request) -> Request:
            if request.state not in (State.APPROVED, State.RUNNING):
                raise Refused(describe_state(request))
            now = self._clock()
            return replace(
                request,
                plan=plan,
                state=State.PENDING,
                decisions=(*request.decisions, Decision("iam-bot", "reopen", now, why)),
                expires=now + timedelta(minutes=self._config.approvals.expire_minutes),
            )

        return self._transition(request_id, change)

    def note(self, request_id: str, *, line: str | None = None, **outcome: Any) -> Outcome:
        """Merge facts into a request's outcome, in any state (later steps of a finished run);
        ``line`` is appended to its notes within the same compare-and-set."""

        def change(r: Request) -> Request:
            lines = [*r.outcome.get("notes", []), line] if line else r.outcome.get("notes", [])
            return replace(r, outcome={**r.outcome, **outcome, "notes": lines})

        return self._transition(request_id, change)

    def set_message(self, request_id: str, channel: str, ts: str) -> Outcome:
        return self._transition(request_id, lambda r: replace(r, channel=channel, message_ts=ts))


def describe_state(request: Request) -> str:
    """What someone clicking a button on this request should be told."""
    match request.state:
        case State.PENDING:
            return "This request is still waiting for approval."
        case State.APPROVED | State.RUNNING:
            who = ", ".join(f"<@{u}>" for u in request.approvers) or "the requester"
            return f"Already approved by {who}."
        case State.DONE:
            return "This request has already been carried out."
        case State.FAILED:
            return "This request failed; an approver can retry it."
        case State.DENIED:
            d = request.decided_by("deny")
            return f"Already denied by <@{d.who}>." if d else "Already denied."
        case State.CANCELLED:
            return "The requester cancelled this request."
        case State.EXPIRED:
            return "This request has expired."


def utc_now() -> datetime:
    return datetime.now(UTC)
