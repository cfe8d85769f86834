"""Serving the Bolt app: HTTP through Bolt's WSGI adapter on waitress, or Socket Mode.

waitress is a production WSGI server in pure Python: multi-threaded (Bolt's listeners are
synchronous), no C build, runs in-process (so the demo and the tests use the very server that
production uses), and works wherever Python does.

Beside Slack's endpoint the server answers operators: ``/healthz`` (the process is alive),
``/readyz`` (the store, AWS and Slack answer; in Socket Mode, the socket is connected) and
``/metrics`` (Prometheus). In Socket Mode nothing else listens, so these run on a side port.

Stopping (SIGTERM, :mod:`bot.cli`): readiness fails at once with "stopping" and Slack requests on
connections still open are refused (503), the server accepts no new connection (Socket Mode: the
socket is closed), and ``/healthz`` answers until the process exits: a load balancer sends no
more work, and does not mistake the drain for a dead process.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import math
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any, Self
from urllib.parse import parse_qsl

import waitress
from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk.signature import SignatureVerifier
from waitress import wasyncore

from bot.access.leases import Leases
from bot.access.schedule import Scheduler
from bot.logs import Scope, finish, scoped
from bot.metrics import Metrics
from bot.slack import inbound
from bot.slack.commands import SLASH_COMMAND, SUBCOMMANDS, accepted
from bot.slack.inbound import MAX_BODY_BYTES, MAX_COMMAND_BYTES, Refused
from bot.slack.jobs import Jobs
from bot.slack.scope import team_of
from bot.slack.words import subcommand, tokens

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
_LENGTH = re.compile(r"[0-9]{1,18}")

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _content_length(environ: dict[str, Any]) -> int:
    raw = environ.get("CONTENT_LENGTH") or "0"
    if _LENGTH.fullmatch(raw) is None:
        raise Refused(HTTPStatus.BAD_REQUEST, "malformed Content-Length")
    return int(raw)


def _read_body(environ: dict[str, Any]) -> bytes:
    """The body, read only as far as its kind may go: past ``MAX_COMMAND_BYTES`` only when it
    starts as an interactive payload or a JSON event does."""
    length, stream = _content_length(environ), environ["wsgi.input"]
    inbound.check_size(length)
    head = stream.read(min(length, MAX_COMMAND_BYTES))
    inbound.check_size(length, head)
    return head + stream.read(length - len(head))


def _slack_body(environ: dict[str, Any], verifier: SignatureVerifier | None) -> bytes:
    """The body of a request to Slack's endpoint, refused unless Bolt can safely take it."""
    body = _read_body(environ)
    headers = {
        "content-type": environ.get("CONTENT_TYPE") or "",
        "x-slack-request-timestamp": environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP") or "",
        "x-slack-signature": environ.get("HTTP_X_SLACK_SIGNATURE") or "",
    }
    inbound.check(body, headers, verifier)
    return body


# --- readiness --------------------------------------------------------------------------------


class Probe:
    """Whether one dependency answers, asked at most once per ``ttl`` seconds, so a load
    balancer probing every second does not hammer STS or Slack. One question at a time: a
    probe that finds one in flight waits for its answer instead of asking again."""

    def __init__(
        self,
        name: str,
        check: Callable[[], object],
        *,
        ttl: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name, self._check, self._ttl, self._clock = name, check, ttl, clock
        self._lock = threading.Lock()
        self._failure: str | None = None
        self._at = -math.inf
        self._asking: threading.Event | None = None

    def ask(self) -> threading.Event:
        """Set once a fresh enough answer is known: at once if the last one still is."""
        with self._lock:
            if self._clock() - self._at < self._ttl:
                answered = threading.Event()
                answered.set()
                return answered
            if self._asking is None:
                self._asking = threading.Event()
                threading.Thread(target=self._run, name=f"probe-{self.name}", daemon=True).start()
            return self._asking

    def failure(self) -> str | None:
        """Why the last answer was not a good one (None: it was)."""
        with self._lock:
            return self._failure

    def _run(self) -> None:
        try:
            self._check()
            failure = None
        except Exception as exc:
            failure = type(exc).__name__
            if self._failure is None:  # a refused connection needs no traceback; the rest may
                trace = None if isinstance(exc, OSError) else exc
                log.warning("not ready: %s does not answer (%s)", self.name, exc, exc_info=trace)
        with self._lock:
            if failure is None and self._failure is not None:
                log.info("%s answers again", self.name)
            self._failure, self._at = failure, self._clock()
            asking, self._asking = self._asking, None
        if asking is not None:
            asking.set()


class Readiness:
    """Every probe asked at once, answered within ``timeout`` seconds all told: a hung
    dependency makes readiness fail fast rather than the load balancer's probe time out."""

    def __init__(self, probes: Iterable[Probe], timeout: float = 2.0) -> None:
        self._probes = list(probes)
        self._timeout = timeout
        self.stopping = False

    def add(self, probe: Probe) -> None:
        self._probes.append(probe)

    def stop(self) -> None:
        """Not ready from now on, whatever the dependencies say: the process is stopping."""
        self.stopping = True

    def failures(self) -> dict[str, str]:
        """What does not answer, and why, by probe name; empty when ready."""
        if self.stopping:
            return {"bot": "stopping"}
        asked = [(probe, probe.ask()) for probe in self._probes]
        deadline = time.monotonic() + self._timeout
        failed = {}
        for probe, answered in asked:
            if not answered.wait(max(0.0, deadline - time.monotonic())):
                failed[probe.name] = f"no answer in {self._timeout:g} s"
            elif why := probe.failure():
                failed[probe.name] = why
        return failed


# --- operators' endpoints ----------------------------------------------------------------------


def _answer(
    start_response: Callable[..., Any], status: HTTPStatus, body: bytes, content_type: str
) -> list[bytes]:
    start_response(
        f"{status.value} {status.phrase}",
        [("Content-Type", content_type), ("Content-Length", str(len(body)))],
    )
    return [body]


def _ready(readiness: Readiness, start_response: Callable[..., Any]) -> list[bytes]:
    """200 when every dependency answers; 503 naming the ones that do not (the detail is in
    the log: this endpoint may be reachable from outside)."""
    failed = readiness.failures()
    status = HTTPStatus.SERVICE_UNAVAILABLE if failed else HTTPStatus.OK
    body = {"ready": False, "failed": failed} if failed else {"ready": True}
    return _answer(start_response, status, json.dumps(body).encode() + b"\n", "application/json")


def operations_app(app: BotApp, otherwise: WsgiApp | None = None) -> WsgiApp:
    """``/healthz``, ``/readyz`` and ``/metrics``; anything else goes to ``otherwise`` (404
    without one)."""

    def serve(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        method, path = environ.get("REQUEST_METHOD"), environ.get("PATH_INFO")
        if method in ("GET", "HEAD"):
            if path == "/healthz":
                return _answer(start_response, HTTPStatus.OK, b"ok\n", "text/plain")
            if path == "/readyz":
                return _ready(app.readiness, start_response)
            if path == "/metrics":
                body, content_type = app.metrics.exposition()
                return _answer(start_response, HTTPStatus.OK, body, content_type)
        if otherwise is not None:
            return otherwise(environ, start_response)
        return _answer(start_response, HTTPStatus.NOT_FOUND, b"Not Found\n", "text/plain")

    return serve


# --- Slack's endpoint --------------------------------------------------------------------------


def wsgi_app(app: BotApp) -> WsgiApp:
    """Slack's single endpoint plus the operators' endpoints.

    Requests to Slack's endpoint are read (at most ``MAX_BODY_BYTES``), and their signature and
    shape checked, before Bolt sees them: a malformed request gets a 4xx and one log line, not a
    500 and a traceback, and a forged one never has its body parsed or logged. The time from
    such a request reaching this app (waitress has read it) to its ack is ``iambot_ack_seconds``.
    """
    slack = SlackRequestHandler(app, path=EVENTS_PATH)
    verifier = inbound.verifier_of(app)

    def serve(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != EVENTS_PATH or environ.get("REQUEST_METHOD") != "POST":
            return slack(environ, start_response)
        if app.readiness.stopping:  # its work could not finish here; Slack may retry elsewhere
            return _refuse(environ, start_response, _STOPPING)
        arrived = time.perf_counter()
        try:
            body = _slack_body(environ, verifier)
        except Refused as refused:
            return _refuse(environ, start_response, refused)
        environ["wsgi.input"], environ["CONTENT_LENGTH"] = io.BytesIO(body), str(len(body))
        ack = slack(environ, start_response)
        app.metrics.ack_seconds.observe(time.perf_counter() - arrived)
        return ack

    return operations_app(app, serve)


_STOPPING = Refused(HTTPStatus.SERVICE_UNAVAILABLE, "stopping")


def _refuse(
    environ: dict[str, Any], start_response: Callable[..., Any], refused: Refused
) -> Iterable[bytes]:
    status = refused.status
    inbound.log_refused(environ.get("REMOTE_ADDR"), refused)
    return _answer(start_response, status, f"{status.phrase}\n".encode(), "text/plain")


# --- each Slack request's scope: its log fields, and its outcome counted -----------------------

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
        scope.user = event.get("user", "")
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
        super().__init__(**bolt)
        self.metrics, self.readiness = metrics, readiness
        # What serving it needs to stop it or tick it (set by ``build_app``): its job pool, its
        # scheduler, and the leases its runs hold.
        self.jobs: Jobs
        self.scheduler: Scheduler
        self.leases: Leases

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


# --- servers -----------------------------------------------------------------------------------


class WsgiServer:
    """A waitress server, startable in a thread for the demo and the tests."""

    def __init__(self, wsgi: WsgiApp, host: str, port: int, threads: int) -> None:
        self._server = waitress.create_server(
            wsgi,
            host=host,
            port=port,
            threads=threads,
            # waitress refuses a declared length at or over this from the headers, unread
            max_request_body_size=MAX_BODY_BYTES + 1,
        )
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.effective_port)

    def serve_forever(self) -> None:
        self._server.run()

    def start(self) -> Self:
        self._thread = threading.Thread(target=self._server.run, name="http", daemon=True)
        self._thread.start()
        return self

    def stop_listening(self) -> None:
        """Accept no new connection; those already open are still answered until :meth:`stop`."""
        server = self._server  # its own close() would close the loop's wake-up pipe too
        with contextlib.suppress(OSError):  # the loop has already closed everything
            server.trigger.pull_trigger(lambda: wasyncore.dispatcher.close(server))

    def stop(self) -> None:
        """Close every socket from the server's own loop thread, which then returns."""
        if self._thread is None:
            self._server.close()
            return
        server = self._server
        # OSError: the loop has already closed its sockets, wake-up pipe included.
        with contextlib.suppress(OSError):
            server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))
        self._thread.join(5)
        server.task_dispatcher.shutdown()


class HttpServer(WsgiServer):
    """The production HTTP server: Slack's endpoint and the operators' endpoints."""

    def __init__(
        self, app: BotApp, host: str = "0.0.0.0", port: int = 3000, threads: int = 16
    ) -> None:
        super().__init__(wsgi_app(app), host, port, threads)

    @property
    def events_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{EVENTS_PATH}"


class SocketModeServer:
    """Socket Mode: Slack pushes over a websocket the bot opens, for installs behind a firewall.
    The operators' endpoints run on ``health_port``; ready includes the socket being connected
    (slack_sdk's client says whether it is)."""

    def __init__(self, app: BotApp, app_token: str, health_port: int) -> None:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        self._handler = SocketModeHandler(app, app_token)
        app.readiness.add(Probe("socket", self._connected, ttl=0))
        self._health = WsgiServer(operations_app(app), "0.0.0.0", health_port, threads=4)

    def _connected(self) -> None:
        if not self._handler.client.is_connected():
            raise ConnectionError("the Socket Mode websocket is not connected")

    def start(self) -> Self:
        self._health.start()
        self._handler.connect()
        return self

    def stop_listening(self) -> None:
        """Close the socket: Slack sends nothing more here (the health port still answers)."""
        self._handler.close()

    def stop(self) -> None:
        self._health.stop()
