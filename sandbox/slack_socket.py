"""Slack's end of Socket Mode, on a loopback port, for the tests of ``iam-bot serve --socket``.

A bot in Socket Mode asks the Web API for a URL (``apps.connections.open``, with its ``xapp-``
token), opens a WebSocket to it, and from then on Slack pushes each slash command, click or
event over that socket as an envelope, which the bot acknowledges with its ``envelope_id``.
:class:`SocketModePeer` is that WebSocket end, and :meth:`SocketModePeer.open_url` the URL the
fake Web API gives out (``FakeSlack.use_socket_mode``).

The WebSocket side is RFC 6455 with the standard library only (no dependency for a test peer):
the HTTP Upgrade handshake with ``Sec-WebSocket-Accept``, masked client frames (an unmasked one
is a protocol error, as the RFC says), text frames, ping/pong and the close handshake. Messages
are never fragmented here: neither Slack's client libraries nor this peer split them.

The Socket Mode side is Slack's documented protocol: ``{"type": "hello", ...}`` on connect,
envelopes ``{"envelope_id", "type", "payload", "accepts_response_payload"}``, acks
``{"envelope_id", "payload"?}``, ``{"type": "disconnect", "reason": ...}`` before Slack
replaces a connection, and a URL that is a single-use ticket (a fresh one per connection).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import itertools
import json
import os
import socket
import struct
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlparse

from sandbox.slack_api import APP_ID, TEAM_DOMAIN, TEAM_ID, FakeSlack

_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455, section 1.3
_TEXT, _CLOSE, _PING, _PONG = 0x1, 0x8, 0x9, 0xA
_GOING_AWAY, _PROTOCOL_ERROR = 1001, 1002
_MAX_HEADER_BYTES = 16 * 1024
_MAX_MESSAGE_BYTES = 1024 * 1024


def accept_key(key: str) -> str:
    """``Sec-WebSocket-Accept`` for a client's ``Sec-WebSocket-Key`` (RFC 6455, 4.2.2)."""
    return base64.b64encode(hashlib.sha1((key + _GUID).encode()).digest()).decode()


def frame(opcode: int, data: bytes) -> bytes:
    """One unmasked, unfragmented frame, as a server sends it."""
    size = len(data)
    if size < 126:
        head = struct.pack("!BB", 0x80 | opcode, size)
    elif size < 1 << 16:
        head = struct.pack("!BBH", 0x80 | opcode, 126, size)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 127, size)
    return head + data


class ProtocolError(Exception):
    """The client broke RFC 6455; the connection closes with 1002."""


@dataclass
class Connection:
    """One client's WebSocket; every write goes through ``send`` under its lock."""

    sock: socket.socket
    lock: threading.Lock = field(default_factory=threading.Lock)
    open: bool = True

    def send(self, opcode: int, data: bytes) -> None:
        with self.lock:
            if self.open:
                self.sock.sendall(frame(opcode, data))

    def send_json(self, message: dict[str, Any]) -> None:
        self.send(_TEXT, json.dumps(message).encode())

    def close(self, code: int, reason: str = "") -> None:
        """The server's side of the close handshake; the socket itself ends when the client
        answers or goes (``_serve``)."""
        with contextlib.suppress(OSError):
            self.send(_CLOSE, struct.pack("!H", code) + reason.encode())
        with self.lock:
            self.open = False
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_WR)


class SocketModePeer:
    """Slack's Socket Mode server on a loopback port; use as a context manager.

    ``refuse()`` stops listening (a reconnect gets ECONNREFUSED) and ``accept()`` listens again,
    on a new port that the next ``open_url()`` names, as Slack's URLs change on every connection.
    """

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._tickets: set[str] = set()
        self._connections: list[Connection] = []
        self._acks: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1)
        self._listener: socket.socket | None = None
        self._port = 0  # the last port listened on; nothing listens there while refusing

    # --- lifecycle ------------------------------------------------------------------------------

    def accept(self) -> SocketModePeer:
        """Listen for connections (again)."""
        with self._changed:
            if self._listener is None:
                self._listener = socket.create_server(("127.0.0.1", 0))
                listener = self._listener
                self._port = listener.getsockname()[1]
                threading.Thread(
                    target=self._accept_loop, args=(listener,), name="slack-socket", daemon=True
                ).start()
        return self

    def refuse(self) -> None:
        """Stop listening: connections already open stay, new ones are refused."""
        with self._changed:
            listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()

    def stop(self) -> None:
        self.refuse()
        self.drop()

    def __enter__(self) -> SocketModePeer:
        return self.accept()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def open_url(self) -> str:
        """A fresh single-use WebSocket URL, as ``apps.connections.open`` answers."""
        with self._changed:
            ticket = uuid.uuid4().hex
            self._tickets.add(ticket)
            return f"ws://127.0.0.1:{self._port}/link/?ticket={ticket}&app_id={APP_ID}"

    # --- what Slack sends -----------------------------------------------------------------------

    def send(
        self, kind: str, payload: dict[str, Any], *, accepts_response_payload: bool = False
    ) -> str:
        """Push an envelope (``slash_commands``, ``interactive`` or ``events_api``) over the
        newest open connection, as Slack does over one of the app's connections; its ID."""
        envelope_id = f"{uuid.uuid4()}"
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": accepts_response_payload,
        }
        if kind == "events_api":
            envelope |= {"retry_attempt": 0, "retry_reason": ""}
        self._newest().send_json(envelope)
        return envelope_id

    def command(
        self, slack: FakeSlack, text: str, *, user_id: str, channel_id: str = "C0OPS"
    ) -> tuple[str, str]:
        """A slash command ``/iam <text>``; its envelope ID and its response key (messages
        sent to its response_url carry it)."""
        key = f"sock{next(self._ids)}"
        person = slack.users.get(user_id, {})
        payload = {
            "token": "legacy-verification-token-unused",
            "team_id": TEAM_ID,
            "team_domain": TEAM_DOMAIN,
            "channel_id": channel_id,
            "channel_name": "directmessage" if channel_id[0] == "D" else channel_id.lower(),
            "user_id": user_id,
            "user_name": str(person.get("name", user_id.lower())),
            "command": "/iam",
            "text": text,
            "api_app_id": APP_ID,
            "is_enterprise_install": "false",
            "response_url": slack.response_url(key, channel_id, user=user_id),
            "trigger_id": f"{next(self._ids)}.{int(time.time())}.{os.urandom(8).hex()}",
        }
        return self.send("slash_commands", payload, accepts_response_payload=True), key

    def disconnect(self, reason: str = "refresh_requested") -> None:
        """Warn the newest connection that Slack is about to replace it (the client opens a
        new one); Slack closes the old one a few seconds later (``drop``)."""
        self._newest().send_json(
            {"type": "disconnect", "reason": reason, "debug_info": {"host": "sandbox"}}
        )

    def drop(self) -> None:
        """Close every open connection (close frame 1001, going away)."""
        with self._changed:
            connections = [c for c in self._connections if c.open]
        for connection in connections:
            connection.close(_GOING_AWAY, "going away")

    # --- what tests read ------------------------------------------------------------------------

    def connected(self) -> int:
        """How many connections are open now."""
        with self._changed:
            return sum(c.open for c in self._connections)

    def connections(self) -> int:
        """How many connections were ever opened (a reconnect adds one)."""
        with self._changed:
            return len(self._connections)

    def ack(self, envelope_id: str) -> dict[str, Any] | None:
        """The client's acknowledgement of an envelope, if it came."""
        with self._changed:
            return self._acks.get(envelope_id)

    def wait_for(self, predicate: Any, timeout: float = 10.0) -> Any:
        """Wait until ``predicate()`` is truthy (re-checked whenever the client sends or a
        connection opens or ends) and return it."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not (result := predicate()):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"Socket Mode peer: not true within {timeout} s")
                self._changed.wait(min(left, 0.1))
            return result

    def _newest(self) -> Connection:
        with self._changed:
            for connection in reversed(self._connections):
                if connection.open:
                    return connection
        raise AssertionError("no Socket Mode connection is open")

    # --- the WebSocket server -------------------------------------------------------------------

    def _accept_loop(self, listener: socket.socket) -> None:
        while True:
            try:
                sock, _ = listener.accept()
            except OSError:  # refuse() closed the listener
                return
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(
                target=self._serve, args=(sock,), name="slack-socket-conn", daemon=True
            ).start()

    def _serve(self, sock: socket.socket) -> None:
        reader = sock.makefile("rb")
        try:
            connection = self._handshake(sock, reader)
            if connection is None:
                return
            connection.send_json(_hello(self.connected()))  # this one included
            self._receive(connection, reader)
        except OSError:  # the client went without a close handshake
            pass
        finally:
            self._closed(sock)
            reader.close()
            sock.close()

    def _handshake(self, sock: socket.socket, reader: Any) -> Connection | None:
        """The HTTP Upgrade (RFC 6455, 4.2): 101 with the accept key, or an HTTP error."""
        request = reader.readline(_MAX_HEADER_BYTES).decode("latin-1").split()
        headers: dict[str, str] = {}
        while (line := reader.readline(_MAX_HEADER_BYTES)) not in (b"\r\n", b"\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        problem = _upgrade_problem(request, headers) or self._ticket_problem(request[1])
        if problem:
            sock.sendall(f"HTTP/1.1 {problem}\r\nContent-Length: 0\r\n\r\n".encode())
            return None
        sock.sendall(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + f"Sec-WebSocket-Accept: {accept_key(headers['sec-websocket-key'])}\r\n\r\n".encode()
        )
        connection = Connection(sock)
        with self._changed:
            self._connections.append(connection)
            self._changed.notify_all()
        return connection

    def _ticket_problem(self, target: str) -> str | None:
        """A URL's ticket opens one connection; any other is refused."""
        ticket = parse_qs(urlparse(target).query).get("ticket", [""])[0]
        with self._changed:
            if ticket not in self._tickets:
                return "401 Unauthorized"
            self._tickets.discard(ticket)
        return None

    def _receive(self, connection: Connection, reader: Any) -> None:
        while True:
            try:
                opcode, data = _read_frame(reader)
            except ProtocolError:
                connection.close(_PROTOCOL_ERROR, "protocol error")
                return
            if opcode == _CLOSE:
                connection.close(_close_code(data))
                return
            if opcode == _PING:
                connection.send(_PONG, data)
            elif opcode == _TEXT:
                with contextlib.suppress(ValueError):
                    self._received(json.loads(data))
            elif opcode != _PONG:  # binary or an unknown opcode: this protocol has none
                connection.close(_PROTOCOL_ERROR, f"opcode {opcode:#x}")
                return

    def _received(self, message: Any) -> None:
        """An ack: ``{"envelope_id", "payload"?}``; anything else the client sends is ignored,
        as Slack ignores it."""
        if isinstance(message, dict) and isinstance(message.get("envelope_id"), str):
            with self._changed:
                self._acks[message["envelope_id"]] = message
                self._changed.notify_all()

    def _closed(self, sock: socket.socket) -> None:
        with self._changed:
            for connection in self._connections:
                if connection.sock is sock:
                    connection.open = False
            self._changed.notify_all()


def _hello(connections: int) -> dict[str, Any]:
    return {
        "type": "hello",
        "num_connections": connections,
        "debug_info": {"host": "sandbox", "build_number": 1, "approximate_connection_time": 18060},
        "connection_info": {"app_id": APP_ID},
    }


def _upgrade_problem(request: list[str], headers: dict[str, str]) -> str | None:
    """Why a request is not a WebSocket opening handshake (an HTTP status), or None."""
    if len(request) != 3 or request[0] != "GET" or request[2] != "HTTP/1.1":
        return "400 Bad Request"
    if not urlparse(request[1]).path.startswith("/link/"):
        return "404 Not Found"
    upgrade = headers.get("upgrade", "").lower() == "websocket"
    connection = "upgrade" in headers.get("connection", "").lower()
    if not (upgrade and connection and headers.get("sec-websocket-key")):
        return "400 Bad Request"
    if headers.get("sec-websocket-version") != "13":
        return "426 Upgrade Required"
    return None


def _read_frame(reader: Any) -> tuple[int, bytes]:
    """One client frame (RFC 6455, 5.2): opcode and unmasked data."""
    first, second = _exactly(reader, 2)
    if not first & 0x80 or first & 0x70:
        raise ProtocolError("fragmented frame or reserved bits")
    if not second & 0x80:
        raise ProtocolError("a client's frame must be masked")
    size = second & 0x7F
    if size == 126:
        (size,) = struct.unpack("!H", _exactly(reader, 2))
    elif size == 127:
        (size,) = struct.unpack("!Q", _exactly(reader, 8))
    if size > _MAX_MESSAGE_BYTES:
        raise ProtocolError(f"a frame of {size} bytes")
    mask = _exactly(reader, 4)
    data = bytes(b ^ mask[i % 4] for i, b in enumerate(_exactly(reader, size)))
    return first & 0x0F, data


def _exactly(reader: Any, size: int) -> bytes:
    data = reader.read(size)
    if len(data) < size:
        raise ConnectionError("the client closed the connection")
    return data


def _close_code(data: bytes) -> int:
    return struct.unpack("!H", data[:2])[0] if len(data) >= 2 else 1000
