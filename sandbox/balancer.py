"""A round-robin load balancer on loopback, in front of several bot processes, as a cloud load
balancer would stand in front of replicas: each request goes to the next backend in turn (method,
path, headers and body forwarded as they came); a backend that does not answer is skipped for
the next one, and only when none answers does the caller get a 502.

Backends can be added and removed while it runs (a rolling restart), and it remembers which
backend answered each request, so a test can see the work spread.
"""

from __future__ import annotations

import http.client
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self
from urllib.parse import urlparse

# Hop-by-hop headers are the proxy's own business on each side (RFC 9110, 7.6.1).
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "upgrade", "proxy-connection"}


class Balancer:
    """``Balancer(["http://127.0.0.1:3001", ...]).start()``; its ``url`` takes the requests."""

    def __init__(self, backends: list[str] | None = None, timeout_s: float = 60.0) -> None:
        self._backends = list(backends or [])
        self._next = 0
        self._lock = threading.Lock()
        self.timeout_s = timeout_s
        self.answered_by: list[str] = []  # the backend that answered each request, in order
        self._server = _Server(("127.0.0.1", 0), _handler(self))
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def add(self, backend: str) -> None:
        with self._lock:
            self._backends.append(backend)

    def remove(self, backend: str) -> None:
        with self._lock:
            self._backends.remove(backend)

    def turn(self) -> list[str]:
        """Every backend once, starting with the one whose turn it is."""
        with self._lock:
            backends = self._backends
            start = self._next % len(backends) if backends else 0
            self._next += 1
            return backends[start:] + backends[:start]

    def answered(self, backend: str) -> None:
        with self._lock:
            self.answered_by.append(backend)

    def start(self) -> Self:
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="balancer", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # a burst of connections queues, as at a real load balancer


def _handler(balancer: Balancer) -> type[BaseHTTPRequestHandler]:
    class Forward(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def _forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
            for backend in balancer.turn():
                try:
                    status, reason, answer_headers, answer = _send(
                        backend, self.command, self.path, headers, body, balancer.timeout_s
                    )
                except OSError:
                    continue  # down (refused, reset, timed out): the next one
                balancer.answered(backend)
                self._answer(status, reason, answer_headers, answer)
                return
            self._answer(502, "Bad Gateway", [("Content-Type", "text/plain")], b"no backend")

        def _answer(
            self, status: int, reason: str, headers: list[tuple[str, str]], body: bytes
        ) -> None:
            self.send_response(status, reason)
            for name, value in headers:
                if name.lower() not in _HOP_BY_HOP | {"content-length", "date", "server"}:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_DELETE = _forward

        def log_message(self, format: str, *args: object) -> None:
            pass  # quiet: the tests read what the backends did, not this

    return Forward


def _send(
    backend: str,
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes | None,
    timeout_s: float,
) -> tuple[int, str, list[tuple[str, str]], bytes]:
    target = urlparse(backend)
    conn = http.client.HTTPConnection(target.hostname, target.port, timeout=timeout_s)
    try:
        conn.connect()
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn.request(method, path, body=body, headers=headers)
        answer = conn.getresponse()
        return answer.status, answer.reason, answer.getheaders(), answer.read()
    finally:
        conn.close()
