"""A local stand-in for Slack's Web API and response URLs, for the demo and the tests.

It answers the methods the bot calls the way Slack does, records every call, and keeps the
messages as a user would see them now (updates applied, deletions gone), so a test asserts on
what people see and the demo renders it.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlparse

T = TypeVar("T")

RESPONSE_URL_USES = 5  # Slack allows five posts to one response_url
_JSON_FIELDS = ("blocks", "attachments", "view", "metadata", "files")


@dataclass(frozen=True)
class ApiCall:
    method: str
    args: dict[str, Any]
    token: str | None


@dataclass(frozen=True)
class Message:
    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    ephemeral: bool = False
    user: str | None = None  # who sees an ephemeral message
    thread_ts: str | None = None
    response_key: str | None = None  # set when it came through a response_url


@dataclass
class _World:
    calls: list[ApiCall] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    views: dict[str, dict[str, Any]] = field(default_factory=dict)
    files: list[dict[str, Any]] = field(default_factory=list)
    uploads: dict[str, bytes] = field(default_factory=dict)
    response_uses: dict[str, int] = field(default_factory=dict)
    failures: dict[str, list[str]] = field(default_factory=dict)


class FakeSlack:
    def __init__(
        self,
        users: dict[str, dict[str, str]] | None = None,
        groups: dict[str, list[str]] | None = None,
    ) -> None:
        self.users = users or {}
        self.groups = groups or {}
        self._world = _World()
        self._changed = threading.Condition()
        self._ts = itertools.count(1)
        self._keys = itertools.count(1)
        self._response_channels: dict[str, str] = {}
        self._server: ThreadingHTTPServer | None = None

    # --- lifecycle ------------------------------------------------------------------------------

    def start(self) -> FakeSlack:
        self._server = _Server(("127.0.0.1", 0), _handler_for(self))
        threading.Thread(target=self._server.serve_forever, name="fake-slack", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/"

    def response_url(self, key: str | None = None, channel: str | None = None) -> str:
        """A response_url for one request; what is posted to it shows in ``channel``."""
        key = key or f"r{next(self._keys)}"
        if channel:
            with self._changed:
                self._response_channels[key] = channel
        return f"{self.base_url}/response/{key}"

    # --- what tests and the demo read -----------------------------------------------------------

    def calls(self, method: str | None = None) -> list[ApiCall]:
        with self._changed:
            return [c for c in self._world.calls if method is None or c.method == method]

    def messages(self, channel: str | None = None) -> list[Message]:
        with self._changed:
            return [m for m in self._world.messages if channel is None or m.channel == channel]

    def files(self) -> list[dict[str, Any]]:
        with self._changed:
            return list(self._world.files)

    def wait_for(self, predicate: Callable[[], T], timeout: float = 10.0) -> T:
        deadline = time.monotonic() + timeout
        with self._changed:
            while not (result := predicate()):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"fake Slack: condition not met in {timeout} s")
                self._changed.wait(left)
            return result

    def clear(self) -> None:
        with self._changed:
            self._world = _World()

    def fail(self, method: str, error: str = "ratelimited", times: int = 1) -> None:
        with self._changed:
            self._world.failures.setdefault(method, []).extend([error] * times)

    # --- Slack's behaviour ----------------------------------------------------------------------

    def _next_ts(self) -> str:
        return f"{1_700_000_000 + next(self._ts)}.000100"

    def web_api(
        self, method: str, args: dict[str, Any], token: str | None
    ) -> tuple[int, dict[str, Any]]:
        with self._changed:
            self._world.calls.append(ApiCall(method, args, token))
            self._changed.notify_all()
            pending = self._world.failures.get(method)
            if pending:
                error = pending.pop(0)
                return (429 if error == "ratelimited" else 200), {"ok": False, "error": error}
            if not token:
                return 200, {"ok": False, "error": "not_authed"}
            answer = self._answer(method, args)
            self._changed.notify_all()
            return 200, answer

    def _answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        world = self._world
        channel = args.get("channel", "")
        match method:
            case "auth.test":
                return {
                    "ok": True,
                    "user_id": "U0IAMBOT",
                    "bot_id": "B0IAMBOT",
                    "team_id": "T0TEAM",
                    "team": "Sandbox",
                    "url": "https://sandbox.slack.com/",
                }
            case "chat.postMessage":
                message = Message(
                    channel,
                    self._next_ts(),
                    args.get("text", ""),
                    args.get("blocks") or [],
                    thread_ts=args.get("thread_ts"),
                )
                world.messages.append(message)
                return {
                    "ok": True,
                    "channel": channel,
                    "ts": message.ts,
                    "message": _shown(message),
                }
            case "chat.postEphemeral":
                message = Message(
                    channel,
                    self._next_ts(),
                    args.get("text", ""),
                    args.get("blocks") or [],
                    ephemeral=True,
                    user=args.get("user"),
                )
                world.messages.append(message)
                return {"ok": True, "message_ts": message.ts}
            case "chat.update":
                for i, old in enumerate(world.messages):
                    if old.channel == channel and old.ts == args.get("ts") and not old.ephemeral:
                        world.messages[i] = replace(
                            old, text=args.get("text", old.text), blocks=args.get("blocks") or []
                        )
                        return {
                            "ok": True,
                            "channel": channel,
                            "ts": old.ts,
                            "text": args.get("text", ""),
                        }
                return {"ok": False, "error": "message_not_found"}
            case "chat.delete":
                kept = [
                    m
                    for m in world.messages
                    if not (m.channel == channel and m.ts == args.get("ts"))
                ]
                found = len(kept) < len(world.messages)
                world.messages = kept
                return {"ok": True} if found else {"ok": False, "error": "message_not_found"}
            case "users.info":
                person = self.users.get(args.get("user", ""))
                if person is None:
                    return {"ok": False, "error": "user_not_found"}
                return {
                    "ok": True,
                    "user": {
                        "id": args["user"],
                        "name": person.get("name", ""),
                        "profile": {
                            "email": person.get("email"),
                            "real_name": person.get("name", ""),
                        },
                    },
                }
            case "conversations.open":
                user = str(args.get("users", "")).split(",")[0]
                return {"ok": True, "channel": {"id": f"D{user.lstrip('UW')}"}}
            case "usergroups.users.list":
                members = self.groups.get(args.get("usergroup", ""))
                if members is None:
                    return {"ok": False, "error": "no_such_subteam"}
                return {"ok": True, "users": list(members)}
            case "views.open" | "views.push" | "views.update":
                view_id = args.get("view_id") or f"V{next(self._ts):08d}"
                view = {**(args.get("view") or {}), "id": view_id}
                world.views[view_id] = view
                return {"ok": True, "view": view}
            case "files.getUploadURLExternal":
                file_id = f"F{next(self._ts):08d}"
                return {
                    "ok": True,
                    "file_id": file_id,
                    "upload_url": f"{self.base_url}/upload/{file_id}",
                }
            case "files.completeUploadExternal":
                done = []
                for item in args.get("files") or []:
                    record = {
                        "id": item["id"],
                        "title": item.get("title"),
                        "channel": args.get("channel_id"),
                        "content": world.uploads.get(item["id"], b""),
                        "comment": args.get("initial_comment"),
                    }
                    world.files.append(record)
                    done.append({"id": item["id"], "title": item.get("title")})
                return {"ok": True, "files": done}
        return {"ok": False, "error": "unknown_method"}

    def upload(self, file_id: str, content: bytes) -> None:
        with self._changed:
            self._world.uploads[file_id] = content
            self._changed.notify_all()

    def respond(self, key: str, body: dict[str, Any]) -> tuple[int, str]:
        """A post to a response_url: replace, delete, or add the message it stands for."""
        with self._changed:
            world = self._world
            world.calls.append(ApiCall("response_url", {**body, "_key": key}, None))
            uses = world.response_uses.get(key, 0) + 1
            world.response_uses[key] = uses
            self._changed.notify_all()
            if uses > RESPONSE_URL_USES:
                return 404, "used_url"
            mine = [i for i, m in enumerate(world.messages) if m.response_key == key]
            ephemeral = body.get("response_type", "ephemeral") != "in_channel"
            message = Message(
                channel=body.get("channel") or self._response_channels.get(key, "response"),
                ts=self._next_ts(),
                text=body.get("text", ""),
                blocks=body.get("blocks") or [],
                ephemeral=ephemeral,
                response_key=key,
            )
            if body.get("delete_original") and mine:
                del world.messages[mine[-1]]
            elif body.get("replace_original") and mine:
                old = world.messages[mine[-1]]
                world.messages[mine[-1]] = replace(message, ts=old.ts, channel=old.channel)
            elif not body.get("delete_original"):
                world.messages.append(message)
            self._changed.notify_all()
            return 200, "ok"


def _shown(message: Message) -> dict[str, Any]:
    return {"ts": message.ts, "text": message.text, "blocks": message.blocks, "type": "message"}


def _decode(args: dict[str, Any]) -> dict[str, Any]:
    for name in _JSON_FIELDS:
        if isinstance(args.get(name), str):
            with contextlib.suppress(ValueError):
                args[name] = json.loads(args[name])
    return args


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def get_request(self) -> tuple[socket.socket, Any]:
        conn, addr = super().get_request()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn, addr


def _handler_for(slack: FakeSlack) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_: Any) -> None:
            pass

        def _reply(self, status: int, body: bytes, content_type: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            if status == 429:
                self.send_header("Retry-After", "0")
            self.end_headers()
            self.wfile.write(body)

        def _handle(self) -> None:
            url = urlparse(self.path)
            length = int(self.headers.get("Content-Length", 0) or 0)
            raw = self.rfile.read(length) if length else b""
            if url.path.startswith("/upload/"):
                slack.upload(url.path.rsplit("/", 1)[-1], raw)
                self._reply(200, b"OK - uploaded", "text/plain")
                return
            if url.path.startswith("/response/"):
                status, text = slack.respond(url.path.rsplit("/", 1)[-1], json.loads(raw or b"{}"))
                self._reply(status, text.encode(), "text/plain")
                return
            if not url.path.startswith("/api/"):
                self._reply(404, b"not found", "text/plain")
                return
            args: dict[str, Any] = dict(parse_qsl(url.query))
            if "json" in self.headers.get("Content-Type", ""):
                args.update(json.loads(raw or b"{}"))
            else:
                args.update(parse_qsl(raw.decode()))
            auth = self.headers.get("Authorization", "")
            token = auth.removeprefix("Bearer ").strip() or args.pop("token", None)
            status, answer = slack.web_api(
                url.path.removeprefix("/api/"), _decode(args), token or None
            )
            self._reply(status, json.dumps(answer).encode())

        do_GET = do_POST = _handle

    return Handler
