"""Serving the Bolt app over HTTP: Bolt's WSGI adapter on waitress.

waitress is a production WSGI server in pure Python: multi-threaded (Bolt's listeners are
synchronous), no C build, runs in-process (so the demo and the tests use the very server that
production uses), and works wherever Python does.

Beside Slack's endpoint the server answers operators: ``/healthz`` (the process is alive),
``/readyz`` (the store, AWS and Slack answer; in Socket Mode, the socket is connected) and
``/metrics`` (Prometheus). In Socket Mode nothing else listens, so these run on a side port
(:mod:`bot.slack.socket_mode`).

Stopping (SIGTERM, :mod:`bot.cli`): readiness fails at once with "stopping" and Slack requests on
connections still open are refused (503), the server accepts no new connection (Socket Mode: the
socket is closed), and ``/healthz`` answers until the process exits: a load balancer sends no
more work, and does not mistake the drain for a dead process.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import threading
import time
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any, Self

import waitress
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk.signature import SignatureVerifier
from waitress import wasyncore

from bot.slack import inbound
from bot.slack.bot_app import BotApp
from bot.slack.inbound import MAX_BODY_BYTES, MAX_COMMAND_BYTES, Refused
from bot.slack.readiness import Readiness

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
