"""Serving the Bolt app: HTTP through Bolt's WSGI adapter on waitress, or Socket Mode.

waitress is a production WSGI server in pure Python: multi-threaded (Bolt's listeners are
synchronous), no C build, runs in-process (so the demo and the tests use the very server that
production uses), and works wherever Python does.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
import threading
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

import waitress
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.middleware.request_verification import RequestVerification
from slack_bolt.request.internals import parse_body
from slack_sdk.signature import SignatureVerifier
from waitress import wasyncore

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
# The largest body Slack sends this bot is a button click, which carries the whole message it
# was on: at most 50 blocks of 3000 characters, about 150 kB of text, a few times that once
# JSON escapes and form-encodes it (about 1.2 MB if every character were non-ASCII). Commands
# and the deny modal's submission are a few kB. 2 MiB leaves room and refuses the rest.
MAX_BODY_BYTES = 2 * 1024 * 1024
_LENGTH = re.compile(r"[0-9]{1,18}")
_TIMESTAMP = re.compile(r"[0-9]{1,12}")

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class Refused(Exception):
    """A request answered before Bolt sees it. ``why`` is logged; the body never is."""

    def __init__(self, status: HTTPStatus, why: str) -> None:
        super().__init__(why)
        self.status, self.why = status, why


def _verifier(app: App) -> SignatureVerifier | None:
    """Bolt's own signature verifier, when the app checks signatures at all."""
    for middleware in app._middleware_list:  # Bolt has no public accessor
        if isinstance(middleware, RequestVerification):
            return middleware.verifier
    return None


def _content_length(environ: dict[str, Any]) -> int:
    raw = environ.get("CONTENT_LENGTH") or "0"
    if _LENGTH.fullmatch(raw) is None:
        raise Refused(HTTPStatus.BAD_REQUEST, "malformed Content-Length")
    if int(raw) > MAX_BODY_BYTES:
        raise Refused(
            HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"body of {raw} bytes, over {MAX_BODY_BYTES}"
        )
    return int(raw)


def _signed(environ: dict[str, Any], text: str, verifier: SignatureVerifier) -> None:
    """Checked before Bolt parses the body, which an unsigned sender could make fail."""
    stamp = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP", "")
    signature = environ.get("HTTP_X_SLACK_SIGNATURE", "")
    if _TIMESTAMP.fullmatch(stamp) is None:
        raise Refused(HTTPStatus.UNAUTHORIZED, "missing or malformed X-Slack-Request-Timestamp")
    if not signature.isascii() or not verifier.is_valid(text, stamp, signature):
        raise Refused(HTTPStatus.UNAUTHORIZED, "invalid signature or stale timestamp")


def _slack_body(environ: dict[str, Any], verifier: SignatureVerifier | None) -> bytes:
    """The body of a request to Slack's endpoint, refused unless Bolt can safely take it."""
    body = environ["wsgi.input"].read(_content_length(environ))
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused(HTTPStatus.BAD_REQUEST, "body is not UTF-8") from None
    if verifier is not None:
        _signed(environ, text, verifier)
    content_type = (environ.get("CONTENT_TYPE") or "").split(";")[0]
    try:
        parsed = parse_body(text, content_type or None)  # what Bolt will read it as
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        raise Refused(HTTPStatus.BAD_REQUEST, f"body is not a Slack payload as {content_type!r}")
    return body


def wsgi_app(app: App) -> WsgiApp:
    """Slack's single endpoint plus a health check for load balancers and Docker.

    Requests to Slack's endpoint are read (at most ``MAX_BODY_BYTES``), and their signature and
    shape checked, before Bolt sees them: a malformed request gets a 4xx and one log line, not a
    500 and a traceback, and a forged one never has its body parsed or logged.
    """
    slack = SlackRequestHandler(app, path=EVENTS_PATH)
    verifier = _verifier(app)

    def serve(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        method, path = environ.get("REQUEST_METHOD"), environ.get("PATH_INFO")
        if path == "/healthz" and method in ("GET", "HEAD"):
            start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "3")])
            return [b"ok\n"]
        if path == EVENTS_PATH and method == "POST":
            try:
                body = _slack_body(environ, verifier)
            except Refused as refused:
                return _refuse(environ, start_response, refused)
            environ["wsgi.input"], environ["CONTENT_LENGTH"] = io.BytesIO(body), str(len(body))
        return slack(environ, start_response)

    return serve


def _refuse(
    environ: dict[str, Any], start_response: Callable[..., Any], refused: Refused
) -> Iterable[bytes]:
    status = refused.status
    log.warning("refused a request from %s: %d %s", environ.get("REMOTE_ADDR"), status, refused.why)
    text = f"{status.phrase}\n".encode()
    start_response(
        f"{status.value} {status.phrase}",
        [("Content-Type", "text/plain"), ("Content-Length", str(len(text)))],
    )
    return [text]


class HttpServer:
    """The production HTTP server, startable in a thread for the demo and the tests."""

    def __init__(self, app: App, host: str = "0.0.0.0", port: int = 3000, threads: int = 16):
        self._server = waitress.create_server(
            wsgi_app(app),
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

    @property
    def events_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{EVENTS_PATH}"

    def serve_forever(self) -> None:
        self._server.run()

    def start(self) -> HttpServer:
        self._thread = threading.Thread(target=self._server.run, name="http", daemon=True)
        self._thread.start()
        return self

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


def serve_socket_mode(app: App, app_token: str) -> None:
    """Socket Mode: Slack pushes over a websocket the bot opens, for installs behind a firewall."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    SocketModeHandler(app, app_token).start()
