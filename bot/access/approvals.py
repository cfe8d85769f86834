"""Who approved what: the request record of every destructive command and its state machine.

pending -> approved -> running -> done | failed (failed -> running on Retry), or
pending -> denied | cancelled | expired. Every transition is a compare-and-set in the store, so
double clicks, two approvers in the same instant, Slack retries and a second replica all end in
one transition; whoever loses is refused with the current state (the chat layer says "already
approved by X").

An approval counts for the plan version its approver saw: a plan that changed re-opens the
request and the count starts again. A requester's own click on a request they confirm
(``required`` 0) is a confirmation, recorded as such, never an approval. A running request
carries a lease (owner, end) that its runner renews; only a run whose lease has ended may be
taken over.

Nobody decides a request about themselves: the Slack users linked to its IAM user(s)
(``subjects``, recorded when it is opened) may not approve, deny or retry it (a requester's own
click stays theirs: confirming, or denying to withdraw). A plan that acts in several accounts
(``plan_accounts``) counts an approval only from someone who may approve in every one of them.

One request per operation and subject at a time: while a request is open (pending, approved or
running), a second one for the same operation on the same target (and key) is refused with
:class:`AlreadyOpen`, which carries the open one (see :meth:`Approvals.open`).
"""

from __future__ import annotations

import contextlib
import enum
import functools
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.access.identity import IdentityMap
from bot.access.leases import Lease, Leases
from bot.access.records import Unreadable, read_one, readable
from bot.access.rules import Rules
from bot.access.store import Record, Store
from bot.iam import sessions
from bot.operator_rules import Config

KIND = "request"
OPEN_LOCK = "open-lock"
OPENING_GRACE = timedelta(minutes=1)  # how long a lock may name a request not yet written


def _nothing_more(plan: Mapping[str, Any]) -> str:
    return ""


class Target(enum.Enum):
    """What an operation's target is, for the rule that no command changes a protected user."""

    USER = "an IAM user that exists"  # read before opening and before running
    USER_READ_BY_RUN = "an IAM user its execution reads anyway"  # judged on that read
    NEW_USER = "a user still to be created"  # judged by its name and the tags its plan sets
    NONE = "no IAM user"  # an account alias; a person, whose users each part judges
    # An IAM user whose leaked key is contained: protected users too, the one exception to
    # "no command changes a protected user" (a leaked key must not stay usable because of it).
    LEAKED_KEY = "an IAM user whose leaked key is contained, protected or not"

    @property
    def is_user(self) -> bool:
        """An IAM user that exists, which can be linked to a Slack user: who it is about."""
        return self in (Target.USER, Target.USER_READ_BY_RUN, Target.LEAKED_KEY)


@dataclass(frozen=True)
class Gate:
    """What the rooms below the workflows need to know of an operation, as the operation
    declares it (in bot/ops, beside its code): who may ask for it (any one of
    ``permissions``), who must agree before it runs, what its target is (:class:`Target`), and
    what besides its operation, account and target makes two requests the same (``same``,
    from the plan: a key's ID, so two keys of one user are two subjects).

    ``confirms``: its requester confirms it unless config asks for approvers; else
    ``approvals.required`` approvers. ``floor``: the fewest approvers config may set (1: it
    always needs someone other than the requester)."""

    permissions: tuple[str, ...]
    confirms: bool
    floor: int
    target: Target
    same: Callable[[Mapping[str, Any]], str] = _nothing_more


class State(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    DENIED = "denied"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


OPEN = (State.PENDING, State.APPROVED, State.RUNNING)


@dataclass(frozen=True)
class Decision:
    who: str
    verdict: str  # approve | deny | cancel | retry | resume | expire | reopen
    at: datetime
    reason: str = ""
    plan_version: int = 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "who": self.who,
            "verdict": self.verdict,
            "at": self.at.isoformat(),
            "reason": self.reason,
            "plan_version": self.plan_version,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Decision:
        return cls(
            d["who"],
            d["verdict"],
            datetime.fromisoformat(d["at"]),
            d.get("reason", ""),
            d.get("plan_version", 1),
        )


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
    plan_version: int = 1  # bumped whenever the plan changes; approvals count for one version
    lease: Lease | None = None  # set while running: who runs it, and until when
    asked: tuple[str, ...] = ()  # who could approve it when it was opened (config principals)
    account: str = ""  # the AWS account it acts in ("" with no ``accounts:`` config)
    account_name: str = ""  # that account's name when the request was opened
    subjects: tuple[str, ...] = ()  # the Slack users it is about: they never decide it
    subject_name: str = ""  # its IAM user, if linked by name only: its namesake never decides
    plan_accounts: dict[str, str] = field(default_factory=dict)  # ID -> name, if it acts in many
    version: int = 0

    def _current(self, *verdicts: str) -> list[Decision]:
        return [
            d
            for d in self.decisions
            if d.verdict in verdicts and d.plan_version == self.plan_version
        ]

    @property
    def approvers(self) -> list[str]:
        """Who approved the plan as it stands now (approvals of an earlier plan do not count).
        Never the requester: their own click is a confirmation (:attr:`confirmed`)."""
        return [d.who for d in self._current("approve") if d.who != self.requester]

    @property
    def confirmed(self) -> bool:
        """Whether the requester confirmed the plan as it stands now (records written before
        confirmations had their own verdict say "approve")."""
        return any(d.who == self.requester for d in self._current("confirm", "approve"))

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
            "decisions": [d.to_dict() for d in self.decisions],
            "channel": self.channel,
            "message_ts": self.message_ts,
            "outcome": self.outcome,
            "plan_version": self.plan_version,
            "lease": self.lease.to_dict() if self.lease else None,
            "asked": list(self.asked),
            "account": self.account,
            "account_name": self.account_name,
            "subjects": list(self.subjects),
            "subject_name": self.subject_name,
            "plan_accounts": self.plan_accounts,
        }
        return Record(self.id, KIND, self.state.value, data, self.version)

    @classmethod
    def from_record(cls, record: Record) -> Request:
        """The request as stored; KeyError, ValueError or TypeError for a record this version
        cannot read: a field missing or of another type, a state it does not know (a newer
        bot's). An operation it does not know is :meth:`Approvals._read`'s to refuse."""
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
            decisions=tuple(Decision.from_dict(x) for x in d["decisions"]),
            channel=d.get("channel", ""),
            message_ts=d.get("message_ts", ""),
            outcome=d.get("outcome", {}),
            plan_version=d.get("plan_version", 1),
            lease=Lease.from_dict(d.get("lease")),
            asked=tuple(d.get("asked", ())),
            account=d.get("account", ""),
            account_name=d.get("account_name", ""),
            subjects=tuple(d.get("subjects", ())),
            subject_name=d.get("subject_name", ""),
            plan_accounts=d.get("plan_accounts", {}),
            version=record.version,
        )


@dataclass(frozen=True)
class Transition:
    """The result of a transition (a click, a run starting or ending): the request as it now
    stands, and whether this call changed it.

    ``refusal`` is set when the click was not allowed or came too late; it is meant for the
    person who clicked, and names nobody. ``moved_on`` marks a refusal because the request is
    past what the click could change (approved, denied, carried out...): what to tell then
    names who decided, so the chat layer words it from ``request``. ``now`` is the state this
    call moved the request to (None if unchanged).
    """

    request: Request
    now: State | None = None
    refusal: str | None = None
    moved_on: bool = False


class Refused(Exception):
    """Why a request may not change; ``moved_on`` as in :class:`Transition`."""

    def __init__(self, reason: str, *, moved_on: bool = False) -> None:
        super().__init__(reason)
        self.moved_on = moved_on

    @classmethod
    def state_of(cls, request: Request) -> Refused:
        return cls(describe_state(request), moved_on=True)


class AlreadyOpen(Refused):
    """A request for the same operation and subject is still open. ``request`` is that one,
    for the chat layer to link; None in the instant another caller is opening it."""

    def __init__(self, request: Request | None) -> None:
        super().__init__("A request for this is already open.")
        self.request = request


def subject(request: Request, gate: Gate) -> str:
    """What a request acts on, for "one open request at a time": the operation, the account,
    and its target as IAM compares names (case-insensitively), and whatever else its gate
    says tells two of its requests apart (a key: two keys of one user are two subjects)."""
    where = f"{request.account}:" if request.account else ""
    more = gate.same(request.plan)
    return f"{request.command}/{where}{request.target.casefold()}" + (f"/{more}" if more else "")


def new_request_id() -> str:
    return uuid.uuid4().hex[:12]


def account_here() -> str:
    """The ID of the account the current scope acts in ("" with no ``accounts:`` config): the
    account a request opened now acts in, and the only one whose requests a lookup sees."""
    return sessions.current_account_id()


class Approvals:
    """``gates``: every operation's, by name (see :class:`Gate`); a request of any other
    operation (a newer bot's) cannot be read."""

    def __init__(
        self,
        store: Store,
        rules: Rules,
        config: Config,
        clock: Callable[[], datetime],
        leases: Leases | None = None,
        identity: IdentityMap | None = None,
        *,
        gates: Mapping[str, Gate],
    ):
        self._store = store
        self._rules = rules
        self._config = config
        self._clock = clock
        self.leases = leases or Leases()
        self._identity = identity
        self._gates = gates

    def open(
        self,
        *,
        command: str,
        target: str,
        requester: str,
        reason: str,
        plan: dict[str, Any],
        channel: str,
        subjects: tuple[str, ...] | None = None,
        plan_accounts: dict[str, str] | None = None,
        required: int | None = None,
        asked: tuple[str, ...] | None = None,
        notes: Sequence[dict[str, Any]] = (),
        request_id: str | None = None,
    ) -> Request:
        """Open a request and store it, in one write, with the ``notes`` its plan already has
        to say (a key kept inactive, say); its ID ``request_id`` when the caller chose it
        beforehand (:func:`new_request_id`), to keep it before the request exists (a
        workflow step does); :class:`AlreadyOpen` if one for the same
        subject is still open (:meth:`_claim`). It acts in the account of the current scope
        (its plan, in ``plan_accounts`` when it acts in several). ``subjects``: the Slack users
        it is about, when the caller knows them; else the one its target IAM user is linked
        to. ``required`` and ``asked``: how many approvers, and whom to ask, when the caller
        counted them (a plan acting in several accounts: the strictest of their rules); else
        the rules of the account it is opened in."""
        now = self._clock()
        where = sessions.current_account()
        account = account_here()
        if asked is None:
            asked = self._config.account_principals("approve", account)
        if asked is None:
            asked = self._config.principals("approve")
        if required is None:
            required = self._config.required_for(command, account)
        subject_name = ""
        if subjects is None:
            subjects, subject_name = self._linked(command, target)
        request = Request(
            id=request_id or new_request_id(),
            command=command,
            target=target,
            requester=requester,
            reason=reason,
            plan=plan,
            created=now,
            expires=now + timedelta(minutes=self._config.approvals.expire_minutes),
            required=required,
            channel=channel,
            asked=tuple(p for p in asked if p != requester and p not in subjects),
            account=account,
            account_name=where.name if where else "",
            subjects=subjects,
            subject_name=subject_name,
            plan_accounts=plan_accounts or {},
            outcome={"notes": list(notes)} if notes else {},
        )
        self._claim(request)
        stored = self._store.put_if_version(request.to_record())
        if stored is None:  # an ID chosen beforehand, opened already (its caller's retry)
            raise AlreadyOpen(self.get(request.id))
        return Request.from_record(stored)

    def _linked(self, command: str, target: str) -> tuple[tuple[str, ...], str]:
        """Who the request's target IAM user is linked to, read in the scope it is opened in
        (so no click reads IAM again), if it is about one: the Slack user its tags name, or
        (linked by name only) its name, which a click compares with the clicker's e-mail."""
        if self._identity is None or not self._gates[command].target.is_user:
            return (), ""
        if person := self._identity.person_of(target):
            return (person,), ""
        return (), (target if self._identity.named_by(target) else "")

    def _claim(self, request: Request) -> None:
        """Point the subject's open-lock at ``request``, unless it points at another request
        that is still open: then :class:`AlreadyOpen` with that one.

        The lock is one record per subject, written by compare-and-set, so of two callers
        opening the same thing at once exactly one wins and the other sees the winner. It is
        never released: a lock whose request is no longer open (done, failed, denied,
        cancelled, expired or overdue) is free, so no transition can forget to free it and a
        crash cannot strand it. The lock is written before its request; a lock naming a
        request not written yet is held for :data:`OPENING_GRACE` (its opener is between
        the two writes, or died there)."""
        about = subject(request, self._gates[request.command])
        lock_id = f"{OPEN_LOCK}/{about}"
        now = self._clock()
        while True:
            lock = self._store.get(lock_id)
            if lock is not None and lock.data["request"] != request.id:
                holder = self.get(lock.data["request"])
                if holder is None and now - datetime.fromisoformat(lock.data["at"]) < OPENING_GRACE:
                    raise AlreadyOpen(None)
                if holder is not None and self.is_open(holder):
                    raise AlreadyOpen(holder)
            data = {"request": request.id, "at": now.isoformat()}
            claim = Record(lock_id, OPEN_LOCK, "held", data, lock.version if lock else 0)
            if self._store.put_if_version(claim) is not None:
                return

    def is_open(self, request: Request) -> bool:
        """Pending (and not overdue), approved or running: a second one would duplicate it."""
        return request.state in OPEN and not self._is_overdue(request)

    def get(self, request_id: str) -> Request | None:
        """The request, None if there is none; :class:`Refused`, saying so, if its record
        cannot be read (a click on it is told that, not shown a stack trace)."""
        try:
            record = self._store.get(request_id)
            if record is None or record.kind != KIND:
                return None
            return read_one(record, self._read, KIND)
        except Unreadable:
            raise Refused(str(Unreadable(KIND, request_id))) from None

    def gate(self, command: str) -> Gate:
        """The rules of ``command``, one of the operations this bot knows."""
        return self._gates[command]

    def _read(self, record: Record) -> Request:
        """A stored request; ValueError for an operation this bot does not know (a newer
        bot's), as for any record it cannot read."""
        request = Request.from_record(record)
        if request.command not in self._gates:
            raise ValueError(f"unknown operation {request.command!r}")
        return request

    def some(self, request_ids: Iterable[str]) -> list[Request]:
        """The requests among ``request_ids`` that exist and can be read, in that order (one
        that cannot be read has been reported by :meth:`get`)."""
        found = []
        for request_id in request_ids:
            with contextlib.suppress(Refused):
                if (request := self.get(request_id)) is not None:
                    found.append(request)
        return found

    def save(self, request: Request) -> Request | None:
        stored = self._store.put_if_version(request.to_record())
        return Request.from_record(stored) if stored else None

    def history(self, target: str, *states: State) -> list[Request]:
        """The requests about ``target`` (named as IAM compares names) in the account the
        current scope acts in, in ``states`` (none: any). The same name in another account is
        another user: its requests, snapshots and jobs say nothing about this one."""
        here, name = account_here(), target.casefold()
        return [
            r
            for r in self.in_state(*(states or tuple(State)))
            if r.account == here and r.target.casefold() == name
        ]

    def in_state(self, *states: State) -> list[Request]:
        """The readable requests in ``states`` (one that cannot be read is reported, skipped)."""
        return readable(
            self._store.list_by_state(KIND, [s.value for s in states]), self._read, KIND
        )

    def latest(self, limit: int) -> list[Request]:
        """At most ``limit`` readable requests, the most recently changed first: a window of
        the history that stays the same size however long the history grows."""
        return readable(self._store.latest(KIND, [s.value for s in State], limit), self._read, KIND)

    def _transition(self, request_id: str, change: Callable[[Request], Request]) -> Transition:
        """Apply ``change`` by compare-and-set; if another writer won, re-read and decide again."""
        while True:
            current = self.get(request_id)
            if current is None:
                raise Refused("That request does not exist (any more).")
            if self._is_overdue(current):
                expired = self.save(self._expired(current))
                if expired is None:
                    continue
                return Transition(expired, State.EXPIRED, "This request has expired.")
            try:
                wanted = change(current)
            except Refused as refusal:
                return Transition(current, None, str(refusal), refusal.moved_on)
            stored = self.save(wanted)
            if stored is not None:
                return Transition(stored, stored.state if stored.state != current.state else None)

    def _is_overdue(self, request: Request) -> bool:
        return request.state is State.PENDING and self._clock() >= request.expires

    def _expired(self, request: Request) -> Request:
        return replace(request, state=State.EXPIRED, decisions=self._decide(request, "", "expire"))

    def expire_due(self) -> list[Request]:
        """Expire every pending request whose time is up; returns those this call expired."""
        expired = []
        for request in self.in_state(State.PENDING):
            if self._is_overdue(request) and (saved := self.save(self._expired(request))):
                expired.append(saved)
        return expired

    def _decide(
        self, request: Request, who: str, verdict: str, reason: str = ""
    ) -> tuple[Decision, ...]:
        decision = Decision(who, verdict, self._clock(), reason, request.plan_version)
        return (*request.decisions, decision)

    def _require_pending(self, request: Request) -> None:
        if request.state is not State.PENDING:
            raise Refused.state_of(request)

    def is_about(self, request: Request, who: str) -> bool:
        """Whether ``request`` is about ``who`` (their own IAM user, by tag or by name): then
        they never decide it, and nothing lists it as waiting on them."""
        return who in request.subjects or self._named_like(request, who)

    def require_not_subject(self, request: Request, who: str, verb: str) -> None:
        if self.is_about(request, who):
            raise Refused(
                f"This request is about you (your own IAM user), so you may not {verb} it: "
                "someone else decides it."
            )

    def _named_like(self, request: Request, who: str) -> bool:
        """Whether the request's IAM user, linked by name only, is named like ``who``'s e-mail."""
        name, identity = request.subject_name, self._identity
        return bool(name) and identity is not None and identity.named_like(who, name)

    def _approver(self, who: str) -> Callable[[str], bool]:
        """Whether ``who`` may approve in an account, for one decision. Group membership is
        looked up fresh, once per account: when another approver's write wins the
        compare-and-set, the decision is made again without asking Slack again, so a click
        never waits on Slack twice and the window between read and write stays short."""
        return functools.cache(
            lambda account: self._rules.allowed(who, "approve", fresh=True, account=account)
        )

    def _require_everywhere(
        self, request: Request, may_approve: Callable[[str], bool], verb: str
    ) -> None:
        """With a plan across accounts, the decider must also be allowed to approve in every
        other account it acts in; the refusal names the first where they are not."""
        for account, name in request.plan_accounts.items():
            if account != request.account and not may_approve(account):
                raise Refused(
                    f"You need the `approve` permission in {name} ({account}) to {verb} this: "
                    "its plan acts there."
                )

    def approve(self, request_id: str, who: str, plan_version: int | None = None) -> Transition:
        """Record ``who``'s approval of the plan version they saw (None: the current one).
        Group membership is looked up fresh: someone just removed from the approvers' group
        cannot approve on a cached answer."""
        may_approve = self._approver(who)

        def change(request: Request) -> Request:
            self._require_pending(request)
            if plan_version is not None and plan_version != request.plan_version:
                raise Refused(
                    "The plan changed after you saw it. Read the updated message, then decide."
                )
            if request.required == 0:
                if who != request.requester:
                    self.require_not_subject(request, who, "confirm")
                    if not may_approve(request.account):
                        raise Refused("Only the requester or an approver can confirm this.")
            else:
                if who == request.requester:
                    raise Refused(
                        "You asked for this, so your approval does not count. Ask an approver."
                    )
                self.require_not_subject(request, who, "approve")
                if not may_approve(request.account):
                    raise Refused("You need the `approve` permission to approve this.")
                self._require_everywhere(request, may_approve, "approve")
                if who in request.approvers:
                    raise Refused("You have already approved this; it needs another approver.")
            verdict = "confirm" if who == request.requester else "approve"
            approved = replace(request, decisions=self._decide(request, who, verdict))
            done = approved.confirmed or len(approved.approvers) >= max(1, request.required)
            return replace(approved, state=State.APPROVED if done else State.PENDING)

        return self._transition(request_id, change)

    def deny(self, request_id: str, who: str, reason: str) -> Transition:
        def change(request: Request) -> Request:
            self._require_pending(request)
            if who != request.requester:
                self.require_not_subject(request, who, "deny")
                if not self._rules.allowed(who, "approve", account=request.account):
                    raise Refused("You need the `approve` permission to deny this.")
            if not reason.strip():
                raise Refused("A denial needs a reason.")
            return replace(
                request, decisions=self._decide(request, who, "deny", reason), state=State.DENIED
            )

        return self._transition(request_id, change)

    def cancel(self, request_id: str, who: str) -> Transition:
        def change(request: Request) -> Request:
            self._require_pending(request)
            if who != request.requester:
                raise Refused("Only the requester can cancel this.")
            return replace(
                request, decisions=self._decide(request, who, "cancel"), state=State.CANCELLED
            )

        return self._transition(request_id, change)

    def withdraw(self, request_id: str, why: str) -> Transition:
        """pending -> cancelled by the bot itself, saying ``why``: a request nobody can see
        (Slack refused to show it) must not wait, nor hold its subject's lock, until it
        expires."""

        def change(request: Request) -> Request:
            self._require_pending(request)
            decisions = self._decide(request, "iam-bot", "cancel", why)
            return replace(request, decisions=decisions, state=State.CANCELLED)

        return self._transition(request_id, change)

    def _run_here(self, request: Request, who: str, verdict: str) -> Request:
        return replace(
            request,
            decisions=self._decide(request, who, verdict),
            state=State.RUNNING,
            lease=self.leases.new(),
        )

    def start(self, request_id: str, who: str, *, verdict: str = "run") -> Transition:
        """approved -> running, leased to this process. Only the caller that wins this
        transition executes the plan."""

        def change(request: Request) -> Request:
            if request.state is not State.APPROVED:
                raise Refused.state_of(request)
            return self._run_here(request, who, verdict)

        return self._transition(request_id, change)

    def retry(self, request_id: str, who: str) -> Transition:
        """failed -> running, for approvers only; refused while a newer request for the same
        subject is open (the retry takes the subject's lock back first)."""
        failed = self.get(request_id)
        if failed is not None and failed.state is State.FAILED:
            try:
                self._claim(failed)
            except AlreadyOpen as newer:
                return Transition(failed, None, str(newer))

        may_approve = self._approver(who)

        def change(request: Request) -> Request:
            if request.state is not State.FAILED:
                raise Refused.state_of(request)
            self.require_not_subject(request, who, "retry")
            if not may_approve(request.account):
                raise Refused("Only approvers can retry this.")
            self._require_everywhere(request, may_approve, "retry")
            return self._run_here(request, who, "retry")

        return self._transition(request_id, change)

    def take_over(self, request: Request) -> Transition:
        """Claim a run whose runner stopped renewing its lease (it crashed, or its replica
        died): of several callers the first wins and resumes it from the journal. A run whose
        lease is alive belongs to a live replica and is refused."""

        def change(current: Request) -> Request:
            if current.state is not State.RUNNING or not self.leases.takeable(current.lease):
                raise Refused("Another replica is running this.")
            return self._run_here(current, "iam-bot", "resume")

        return self._transition(request.id, change)

    def renew(self, request_id: str) -> bool:
        """Extend this process's lease on a running request; False if it is no longer ours."""

        def change(current: Request) -> Request:
            if current.state is not State.RUNNING or not self.leases.ours(current.lease):
                raise Refused("not ours")
            return replace(current, lease=self.leases.new())

        return self._transition(request_id, change).refusal is None

    def release(self, request_id: str) -> bool:
        """Give up this process's lease on a running request (it is stopping): the request
        stays running, and the next replica to look takes it over from its journal at once.
        False if the lease was no longer ours."""

        def change(current: Request) -> Request:
            if current.state is not State.RUNNING or not self.leases.ours(current.lease):
                raise Refused("not ours")
            return replace(current, lease=None)

        return self._transition(request_id, change).refusal is None

    def finish(self, request_id: str, *, ok: bool, **outcome: Any) -> Transition:
        """running -> done or failed, by the process holding the run's lease only: a runner
        whose lease was taken over must not end the run the new holder is still doing."""

        def change(request: Request) -> Request:
            if request.state is not State.RUNNING:
                raise Refused.state_of(request)
            if not self.leases.ours(request.lease):
                raise Refused("Another replica is running this.")
            return replace(
                request,
                state=State.DONE if ok else State.FAILED,
                outcome={**request.outcome, **outcome},
                lease=None,
            )

        return self._transition(request_id, change)

    def reopen(self, request_id: str, plan: dict[str, Any], why: str) -> Transition:
        """The world changed after approval: back to pending with the new plan, approvals reset."""

        def change(request: Request) -> Request:
            if request.state not in (State.APPROVED, State.RUNNING):
                raise Refused.state_of(request)
            now = self._clock()
            return replace(
                request,
                plan=plan,
                plan_version=request.plan_version + 1,
                state=State.PENDING,
                decisions=self._decide(request, "iam-bot", "reopen", why),
                expires=now + timedelta(minutes=self._config.approvals.expire_minutes),
                lease=None,
            )

        return self._transition(request_id, change)

    def note(
        self, request_id: str, *, line: dict[str, Any] | None = None, **outcome: Any
    ) -> Transition:
        """Merge facts into a request's outcome, in any state (later steps of a finished run);
        ``line`` (a stored note) is appended to its notes within the same compare-and-set."""

        def change(r: Request) -> Request:
            lines = [*r.outcome.get("notes", []), line] if line else r.outcome.get("notes", [])
            return replace(r, outcome={**r.outcome, **outcome, "notes": lines})

        return self._transition(request_id, change)

    def set_message(self, request_id: str, channel: str, ts: str) -> Transition:
        return self._transition(request_id, lambda r: replace(r, channel=channel, message_ts=ts))


def describe_state(request: Request) -> str:
    """What someone clicking a button on this request should be told, naming nobody (the chat
    layer adds who approved or denied it)."""
    match request.state:
        case State.PENDING:
            return "This request is still waiting for approval."
        case State.APPROVED | State.RUNNING:
            return "Already approved."
        case State.DONE:
            return "This request has already been carried out."
        case State.FAILED:
            return "This request failed; an approver can retry it."
        case State.DENIED:
            return "Already denied."
        case State.CANCELLED:
            return "The requester cancelled this request."
        case State.EXPIRED:
            return "This request has expired."


def utc_now() -> datetime:
    return datetime.now(UTC)
