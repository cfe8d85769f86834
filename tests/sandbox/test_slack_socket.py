"""Slack's Socket Mode end (sandbox/slack_socket.py): RFC 6455 as a strict server keeps it, and
the fake Web API handing out its URLs only to an app-level token. The bot's own client meets it
in tests/ship/test_socket_mode.py."""

from __future__ import annotations

import os
import socket
import struct
from collections.abc import Iterator
from urllib.parse import urlparse

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from sandbox.slack_api import FakeSlack
from sandbox.slack_socket import SocketModePeer, accept_key


@pytest.fixture
def peer() -> Iterator[SocketModePeer]:
    with SocketModePeer() as server:
        yield server


def _open(url: str, key: str = "dGhlIHNhbXBsZSBub25jZQ==") -> tuple[socket.socket, bytes]:
    """A raw client's opening handshake; the socket and the server's answer head."""
    parsed = urlparse(url)
    sock = socket.create_connection((parsed.hostname, parsed.port), timeout=5)
    sock.sendall(
        f"GET {parsed.path}?{parsed.query} HTTP/1.1\r\nHost: {parsed.hostname}\r\n"
        f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        head += sock.recv(1)
    return sock, head


def _frame(sock: socket.socket) -> tuple[int, bytes]:
    first, size = sock.recv(2, socket.MSG_WAITALL)
    if size == 126:
        (size,) = struct.unpack("!H", sock.recv(2, socket.MSG_WAITALL))
    return first & 0x0F, sock.recv(size, socket.MSG_WAITALL) if size else b""


def test_the_accept_key_is_the_rfc_example() -> None:
    assert accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def test_a_connection_opens_with_hello_and_a_ticket_opens_one(peer: SocketModePeer) -> None:
    url = peer.open_url()
    sock, head = _open(url)
    assert head.startswith(b"HTTP/1.1 101 ")
    assert b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n" in head
    opcode, data = _frame(sock)
    assert opcode == 0x1 and b'"type": "hello"' in data and b'"num_connections": 1' in data

    again, refused = _open(url)
    assert refused.startswith(b"HTTP/1.1 401 ")
    again.close()
    sock.close()


def test_an_unmasked_client_frame_is_a_protocol_error(peer: SocketModePeer) -> None:
    sock, _ = _open(peer.open_url())
    _frame(sock)  # hello
    sock.sendall(struct.pack("!BB", 0x81, 2) + b"{}")  # no mask: RFC 6455 5.1 forbids it
    opcode, data = _frame(sock)
    assert (opcode, struct.unpack("!H", data[:2])[0]) == (0x8, 1002)
    sock.close()


def test_a_masked_ping_gets_its_pong(peer: SocketModePeer) -> None:
    sock, _ = _open(peer.open_url())
    _frame(sock)  # hello
    mask = os.urandom(4)
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(b"are you there"))
    sock.sendall(struct.pack("!BB", 0x89, 0x80 | len(body)) + mask + body)
    assert _frame(sock) == (0xA, b"are you there")
    sock.close()


def test_only_an_app_token_opens_a_connection(peer: SocketModePeer) -> None:
    with FakeSlack() as slack:
        slack.use_socket_mode(peer.open_url)
        client = WebClient(base_url=slack.api_url)
        url = client.apps_connections_open(app_token="xapp-1-A0-2-x")["url"]
        assert url.startswith("ws://127.0.0.1:") and "ticket=" in url
        with pytest.raises(SlackApiError) as bot_token:
            client.apps_connections_open(app_token="xoxb-1-2-x")
        with pytest.raises(SlackApiError) as app_token:
            WebClient(token="xapp-1-A0-2-x", base_url=slack.api_url).auth_test()
    assert bot_token.value.response["error"] == "not_allowed_token_type"
    assert app_token.value.response["error"] == "not_allowed_token_type"
