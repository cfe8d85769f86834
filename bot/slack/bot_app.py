"""The Bolt app as served: its metrics, its readiness, and a scope around each Slack request
(HTTP and Socket Mode alike) under which the request and the jobs it starts log.
"""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from slack_bolt import App, BoltRequest, BoltResponse

from bot.access.leases import Leases
from bot.access.schedule import Scheduler
from bot.logs import Scope, finish, scoped
from bot.slack.commands import SLASH_COMMAND, SUBCOMMANDS, accepted
from bot.slack.jobs import Jobs
from bot.slack.listeners.functions import requester_of
from bot.slack.metrics import Metrics
from bot.slack.readiness import Readiness
from bot.slack.scope import team_of
from bot.slack.words import subcommand, tokens

if TYPE_CHECKING:
    from bot.iam.events_queue import QueuePoller
    from bot.slack.incidents import IncidentDesk

_SUBCOMMANDS = frozenset(s.name for s in SUBCOMMANDS) | {"help"}


def _text(body: dict[str, Any]) -> str:
    return str(body.get("text") or "")


def _subcommand(text: str) -> str:
    """The label of a slash command: its subcommand, "help", or "unknown" (what people mistype
    never becomes a label, so the metric's series stay few)."""
    name = subcommand(tokens(text)) or "help"
    return name if name in _SUBCOMMANDS else "unknown"


def _scope_of(body: dict[str, Any], metrics: Metrics) -> Scope:
    """Who sent a Slack request and what it is, for the logs; a slash command's scope also
    counts its outcome."""
    scope = Scope(request_id=uuid.uuid4().hex[:16], team=team_of(body))
    if body.get("command") == SLASH_COMMAND:
        scope.kind, scope.user = "command", body.get("user_id", "")
        scope.command = _subcommand(_text(body))
        scope.on_finish = lambda done: metrics.command(done.command, done.outcome)
    elif isinstance(user := body.get("user"), dict):
        action = (body.get("actions") or [{}])[0].get("action_id")
        scope.user, scope.kind = user.get("id", ""), "click" if action else "modal"
        scope.command = action or (body.get("view") or {}).get("callback_id", "")
    elif isinstance(event := body.get("event"), dict):
        scope.kind, scope.command = "event", event.get("type", "")
        # A workflow step names no user of its own: whoever ran the workflow asks.
        scope.user = event.get("user") or requester_of(event.get("inputs") or {})
    return scope


class _FormRequest(BoltRequest):
    """A request whose form body Bolt misread, with its fields read right, here and in the
    copies Bolt makes for lazy listeners (which read the raw body again)."""

    @classmethod
    def of(cls, req: BoltRequest, fields: dict[str, Any]) -> _FormRequest:
        fixed = cls(
            body=req.raw_body,
            query=req.query,
            headers=req.headers,
            context=req.context,
            mode=req.mode,
        )
        fixed.body = fields
        return fixed

    def to_copyable(self) -> BoltRequest:
        return _FormRequest.of(super().to_copyable(), self.body)


def _read_right(req: BoltRequest) -> BoltRequest:
    """Bolt takes a form body containing the word "payload" anywhere (`/iam keys
    payload-svc`) for an interactive payload and, finding no such field, reads nothing; such
    a body is read again as the plain form it is. (The signature is checked on the raw body,
    which stays untouched.)"""
    raw = req.raw_body
    if req.body or not raw or raw.startswith("{") or "payload" not in raw:
        return req
    fields = dict(parse_qsl(raw, keep_blank_values=True))
    return req if "payload" in fields else _FormRequest.of(req, fields)


class BotApp(App):
    """The Bolt app as served: its own metrics registry (so several bots in one process never
    share counts), its readiness probes, and a scope around each Slack request (HTTP and Socket
    Mode alike) under which the request and the jobs it starts log."""

    def __init__(self, *, metrics: Metrics, readiness: Readiness, **bolt: Any) -> None:
        # Named, so Bolt does not name it from ``inspect.stack()``: that reads the source of
        # every frame above, nearly all of the CPU Bolt's own construction took.
        super().__init__(name="iam-bot", **bolt)
        self.metrics, self.readiness = metrics, readiness
        # What serving it needs to stop it or tick it (set by ``build_app``): its job pool, its
        # scheduler, and the leases its runs hold.
        self.jobs: Jobs
        self.scheduler: Scheduler
        self.leases: Leases
        self.incidents: IncidentDesk  # AWS's alarms about keys, in
        self.events: QueuePoller | None  # the queue they come by on a server, if any

    def dispatch(self, req: BoltRequest) -> BoltResponse:
        """A slash command's outcome is counted where it becomes known: here when the ack
        answered it (the usage card, or input refused), else when its work ends
        (:func:`bot.slack.listeners.guard.guarded`)."""
        req = _read_right(req)
        scope = _scope_of(req.body, self.metrics)
        started = time.perf_counter()
        with scoped(scope):
            response = super().dispatch(req)
            if req.mode == "socket_mode" and not req.lazy_only:  # HTTP's ack: in wsgi_app
                self.metrics.ack_seconds.observe(time.perf_counter() - started)
            acked = scope.on_finish is not None and not req.lazy_only  # a command's ack
            if acked and accepted(_text(req.body))[0] is None:  # answered there: no work follows
                helped = scope.command == "help"
                finish("ok" if helped else "refused", "" if helped else "usage")
        return response
