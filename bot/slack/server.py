"""Serving the Bolt app: HTTP through Bolt's WSGI adapter on waitress, or Socket Mode.

waitress is a production WSGI server in pure Python: multi-threaded (Bolt's listeners are
synchronous), no C build, runs in-process (so the demo and the tests use the very server that
production uses), and works wherever Python does.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable
from typing import Any

import waitress
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from waitress import wasyncore

EVENTS_PATH = "/slack/events"


def wsgi_app(app: App) -> Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]:
    """Slack's single endpoint plus a health check for load balancers and Docker."""
    slack = SlackRequestHandler(app, path=EVENTS_PATH)

    def serve(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/healthz" and environ.get("REQUEST_METHOD") in (
            "GET",
            "HEAD",
        ):
            start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "3")])
            return [b"ok\n"]
        return slack(environ, start_response)

    return serve


class HttpServer:
    """The production HTTP server, startable in a thread for the demo and the tests."""

    def __init__(self, app: App, host: str = "0.0.0.0", port: int = 3000, threads: int = 16):
        self._server = waitress.create_server(wsgi_app(app), host=host, port=port, threads=threads)
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
