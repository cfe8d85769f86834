"""A local stand-in for Slack's Web API and response URLs, for the demo, the tests and benchmarks.

The bot talks to it exactly as to Slack: slack_sdk's ``WebClient(base_url=...)`` for Web API
methods and Bolt's ``respond()`` for response URLs, over real loopback HTTP. The fake answers the
methods the bot uses the way Slack does (including its refusals: unknown users, ephemeral messages
that cannot be updated, Block Kit limits, the five uses of a response_url), records every call,
and keeps the messages as people would see them now (updates applied, deletions gone), so a test
asserts on what people see and the demo renders it.
"""

from __future__ import annotations

import contextlib
import inspect
import itertools
import json
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlparse

T = TypeVar("T")

TEAM_ID = "T0TEAM"
TEAM_DOMAIN = "sandbox"
BOT_USER_ID = "U0IAMBOT"
BOT_ID = "B0IAMBOT"
APP_ID = "A0IAMBOT"

RESPONSE_URL_USES = 5  # Slack allows five posts to one response_url
MESSAGE_BLOCKS = 50  # Block Kit: blocks per message ...
MODAL_BLOCKS = 100  # ... and per modal
HOME_BLOCKS = 100  # ... and per App Home view
_JSON_FIELDS = ("blocks", "attachments", "view", "metadata", "files", "outputs")
_KEY = re.compile(r"[A-Za-z0-9._-]+")
_POLL_S = 0.05  # wait_for re-checks this often, for predicates on state outside this fake


@dataclass(frozen=True)
class ApiCall:
    """One request Slack received: a Web API method, or ``"response_url"`` for a response URL."""

    method: str
    args: dict[str, Any]
    token: str | None
    error: str | None = None  # the error Slack answered with; None when the call succeeded


@dataclass(frozen=True)
class Message:
    """A message as people see it now."""

    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    ephemeral: bool = False
    user: str | None = None  # the only person who sees an ephemeral message
    thread_ts: str | None = None
    response_key: str | None = None  # set when it came through a response_url
    files: list[dict[str, Any]] = field(default_factory=list)  # files shared with the message


@dataclass
class _Hook:
    """One response_url: where its messages show, for whom, and which message is "original"."""

    key: str
    channel: str
    user: str | None
    original_ts: str | None  # the message whose button was pressed, if any
    uses: int = 0


@dataclass
class _World:
    """Everything ``clear()`` forgets."""

    calls: list[ApiCall] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    views: dict[str, dict[str, Any]] = field(default_factory=dict)
    homes: dict[str, dict[str, Any]] = field(default_factory=dict)  # user -> published Home
    files: list[dict[str, Any]] = field(default_factory=list)
    uploads: dict[str, dict[str, Any]] = field(default_factory=dict)
    failures: dict[str, list[str]] = field(default_factory=dict)
    private: dict[str, set[str]] = field(default_factory=dict)  # private channel -> members


class FakeSlack:
    """Slack's Web API and response URLs on a loopback port; use as a context manager.

    ``users`` is the workspace directory (``{"U0ALICE": {"name": "alice", "email": ...}}``) for
    ``users.info`` and DMs; ``groups`` maps user group IDs to member IDs.
    """

    def __init__(
        self,
        users: dict[str, dict[str, Any]] | None = None,
        groups: dict[str, list[str]] | None = None,
    ) -> None:
        self.users: dict[str, dict[str, Any]] = dict(users or {})
        self.groups: dict[str, list[str]] = {k: list(v) for k, v in (groups or {}).items()}
        self._world = _World()
        self._changed = threading.Condition()  # guards all state; notified on every request
        self._version = 0  # bumped on every notification, so wait_for never misses one
        self._ts = itertools.count(1)
        self._ids = itertools.count(1)
        # Response URLs and DM channels outlive clear(): a bot still finishing the previous
        # test's work must find its URL, and a DM's ID is the same for the whole workspace.
        self._hooks: dict[str, _Hook] = {}
        self._dms: dict[str, str] = {}
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._socket_url: Callable[[], str] | None = None

    # --- lifecycle ------------------------------------------------------------------------------

    def start(self) -> FakeSlack:
        if self._server is None:
            self._server = _Server(("127.0.0.1", 0), _handler_for(self))
            self._thread = threading.Thread(
                target=self._server.serve_forever, args=(0.05,), name="fake-slack", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeSlack is not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def api_url(self) -> str:
        """What ``WebClient(base_url=...)`` needs; the trailing slash matters to it."""
        return f"{self.base_url}/api/"

    def response_url(
        self,
        key: str | None = None,
        channel: str | None = None,
        *,
        user: str | None = None,
        original_ts: str | None = None,
    ) -> str:
        """A response_url; what is posted to it shows in ``channel``, to ``user`` if ephemeral.

        Messages that arrive through it carry ``response_key=key``. With ``original_ts`` (a
        button pressed on that message) the URL is a new one with its own five uses, as each
        interaction's is in Slack, and ``replace_original``/``delete_original`` act on that
        message; without it, on the latest message that came with ``key``.
        """
        with self._changed:
            key = key or f"r{next(self._ids)}"
            if not _KEY.fullmatch(key):
                raise ValueError(f"response key {key!r} must be letters, digits, '.', '_' or '-'")
            token = key if original_ts is None else f"{key}/{next(self._ids)}"
            hook = self._hooks.get(token)
            if hook is None:
                self._hooks[token] = _Hook(key, channel or "response", user, original_ts)
            else:
                hook.channel = channel or hook.channel
                hook.user = user or hook.user
            return f"{self.base_url}/response/{token}"

    def use_socket_mode(self, open_url: Callable[[], str]) -> None:
        """Answer ``apps.connections.open`` with ``open_url()``: a Socket Mode server's fresh
        WebSocket URL (``sandbox.slack_socket.SocketModePeer.open_url``)."""
        with self._changed:
            self._socket_url = open_url

    # --- what tests and the demo read -----------------------------------------------------------

    def calls(self, method: str | None = None) -> list[ApiCall]:
        """Every request received, in order, refused ones included (see ``ApiCall.error``)."""
        with self._changed:
            return [c for c in self._world.calls if method is None or c.method == method]

    def messages(self, channel: str | None = None, *, seen_by: str | None = None) -> list[Message]:
        """Messages in post order as they look now; ``seen_by`` drops others' ephemeral ones."""
        with self._changed:
            return [
                m
                for m in self._world.messages
                if (channel is None or m.channel == channel)
                and (seen_by is None or not m.ephemeral or m.user in (None, seen_by))
            ]

    def files(self) -> list[dict[str, Any]]:
        """Completed uploads: id, title, filename, channel, content (bytes), comment."""
        with self._changed:
            return [dict(f) for f in self._world.files]

    def views(self) -> list[dict[str, Any]]:
        """Modals opened, pushed or updated, latest version of each, in order of opening (Home
        views are apart: :meth:`home`)."""
        with self._changed:
            return list(self._world.views.values())

    def home(self, user: str) -> dict[str, Any] | None:
        """The App Home view last published for ``user`` (views.publish), as Slack stores it."""
        with self._changed:
            return self._world.homes.get(user)

    def dm_channel(self, user: str) -> str:
        """The DM channel ID ``conversations.open`` gives for ``user`` (stable per user)."""
        with self._changed:
            if user not in self._dms:
                taken = set(self._dms.values())
                candidate = f"D{user[1:]}"
                while candidate in taken:
                    candidate = f"D{next(self._ids):08d}"
                self._dms[user] = candidate
            return self._dms[user]

    def wait_for(self, predicate: Callable[[], T], timeout: float = 10.0) -> T:
        """Wait until ``predicate()`` is truthy and return it.

        It is re-checked on every request this fake receives, and every 50 ms for predicates on
        other state (AWS, a store). It runs without this fake's lock held, so a slow predicate
        never stalls the bot's calls.
        """
        deadline = time.monotonic() + timeout
        while True:
            with self._changed:
                seen = self._version
            result = predicate()
            if result:
                return result
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(self._timeout_report(predicate, timeout))
            with self._changed:
                if self._version == seen:
                    self._changed.wait(min(left, _POLL_S))

    def clear(self) -> None:
        """Forget calls, messages, views, files and pending failures (between tests)."""
        with self._changed:
            self._world = _World()
            self._notify()

    def fail(self, method: str, error: str = "ratelimited", times: int = 1) -> None:
        """Answer the next ``times`` calls of ``method`` (or ``"response_url"``) with ``error``.

        ``ratelimited`` comes as HTTP 429 with ``Retry-After: 0``, as Slack sends it (so a
        client's rate-limit retry handler retries at once); ``http_500`` (and ``http_503``) as
        that HTTP status, as when Slack's servers fail; other errors as HTTP 200 with
        ``ok: false``.
        """
        with self._changed:
            self._world.failures.setdefault(method, []).extend([error] * times)

    def private_channel(self, channel: str, members: tuple[str, ...] = ()) -> None:
        """Make ``channel`` private, with ``members`` in it: unless the bot (``BOT_USER_ID``)
        is one of them, or is invited later, its posts there are refused with
        ``not_in_channel`` (``chat:write.public`` does not reach private channels), while a
        command's response URL still shows there, as in Slack."""
        with self._changed:
            self._world.private[channel] = set(members)

    def invite(self, channel: str, user: str = BOT_USER_ID) -> None:
        """``/invite`` in a private channel: ``user`` (the bot by default) joins it."""
        with self._changed:
            self._world.private.setdefault(channel, set()).add(user)

    def heal(self, method: str) -> None:
        """Slack answers ``method`` again: forget its pending failures (and nothing else)."""
        with self._changed:
            self._world.failures.pop(method, None)

    # --- Slack's behaviour ----------------------------------------------------------------------

    def _notify(self) -> None:
        self._version += 1
        self._changed.notify_all()

    def _timeout_report(self, predicate: Callable[[], Any], timeout: float) -> str:
        source = getattr(predicate, "__qualname__", repr(predicate))
        with contextlib.suppress(OSError, TypeError):
            source = inspect.getsource(predicate).strip()
        with self._changed:
            calls = self._world.calls[-8:]
            shown = self._world.messages[-5:]
        lines = [f"fake Slack: not true within {timeout} s: {source}", "last calls:"]
        lines += [f"  {_call_summary(c)}" for c in calls] or ["  (none)"]
        lines.append("last messages:")
        lines += [f"  {m.channel} {m.ts}: {_message_summary(m)}" for m in shown] or ["  (none)"]
        return "\n".join(lines)

    def _next_ts(self) -> str:
        return f"{1_700_000_000 + next(self._ts)}.000100"

    def _take_failure(self, method: str) -> str | None:
        pending = self._world.failures.get(method)
        return pending.pop(0) if pending else None

    def web_api(
        self, method: str, args: dict[str, Any], token: str | None
    ) -> tuple[int, dict[str, Any]]:
        """Answer one Web API call: (HTTP status, JSON body)."""
        invalid = args.pop("_invalid", None)  # a body Slack could not read
        with self._changed:
            status = 200
            if error := self._take_failure(method):
                status, answer = _failure_status(error), _error(error)
            elif not token:
                answer = _error("not_authed")
            elif not token.startswith(("xox", "xapp-")):
                answer = _error("invalid_auth")
            elif token.startswith("xapp-") != (method in _APP_TOKEN_METHODS):
                answer = _error("not_allowed_token_type")  # app-level tokens open sockets only
            elif invalid:
                answer = _error(invalid)
            else:
                handler = _METHODS.get(method)
                answer = handler(self, args) if handler else _error("unknown_method")
            failed = None if answer.get("ok") else answer.get("error", "unknown")
            self._world.calls.append(ApiCall(method, args, token, failed))
            self._notify()
            return status, answer

    def _post(self, args: dict[str, Any], *, ephemeral: bool) -> dict[str, Any]:
        channel = str(args.get("channel") or "")
        if not channel:
            return _error("channel_not_found")
        if BOT_USER_ID not in self._world.private.get(channel, {BOT_USER_ID}):
            return _error("not_in_channel")
        if ephemeral and not args.get("user"):
            return _error("user_not_found")
        if not (args.get("text") or args.get("blocks") or args.get("attachments")):
            return _error("no_text")
        if problems := block_errors(args.get("blocks"), MESSAGE_BLOCKS):
            return _error("invalid_blocks", errors=problems)
        if channel[0] in "UW":  # Slack delivers a post to a user ID to the app's DM with them
            channel = self.dm_channel(channel)
        message = Message(
            channel,
            self._next_ts(),
            str(args.get("text") or ""),
            list(args.get("blocks") or []),
            ephemeral=ephemeral,
            user=args.get("user") if ephemeral else None,
            thread_ts=args.get("thread_ts"),
        )
        self._world.messages.append(message)
        if ephemeral:
            return {"ok": True, "message_ts": message.ts}
        return {"ok": True, "channel": channel, "ts": message.ts, "message": shown_message(message)}

    def _post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._post(args, ephemeral=False)

    def _post_ephemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._post(args, ephemeral=True)

    def _find(self, channel: str, ts: str) -> int | None:
        """A message that chat.update/delete/getPermalink can reach; never an ephemeral one."""
        for i, m in enumerate(self._world.messages):
            if m.channel == channel and m.ts == ts and not m.ephemeral:
                return i
        return None

    def _update(self, args: dict[str, Any]) -> dict[str, Any]:
        index = self._find(str(args.get("channel", "")), str(args.get("ts", "")))
        if index is None:
            return _error("message_not_found")
        if problems := block_errors(args.get("blocks"), MESSAGE_BLOCKS):
            return _error("invalid_blocks", errors=problems)
        old = self._world.messages[index]
        # Slack keeps the previous blocks when the update has none; [] removes them.
        new = replace(
            old,
            text=str(args["text"]) if "text" in args else old.text,
            blocks=list(args["blocks"]) if "blocks" in args else old.blocks,
        )
        self._world.messages[index] = new
        return {
            "ok": True,
            "channel": new.channel,
            "ts": new.ts,
            "text": new.text,
            "message": shown_message(new),
        }

    def _delete(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, ts = str(args.get("channel", "")), str(args.get("ts", ""))
        index = self._find(channel, ts)
        if index is None:
            return _error("message_not_found")
        del self._world.messages[index]
        return {"ok": True, "channel": channel, "ts": ts}

    def _permalink(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, ts = str(args.get("channel", "")), str(args.get("message_ts", ""))
        if self._find(channel, ts) is None:
            return _error("message_not_found")
        link = f"https://{TEAM_DOMAIN}.slack.com/archives/{channel}/p{ts.replace('.', '')}"
        return {"ok": True, "channel": channel, "permalink": link}

    def _auth_test(self, _args: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": f"https://{TEAM_DOMAIN}.slack.com/",
            "team": "Sandbox",
            "user": "iam-bot",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _connections_open(self, _args: dict[str, Any]) -> dict[str, Any]:
        if self._socket_url is None:  # no Socket Mode server: the method is not served
            return _error("unknown_method")
        return {"ok": True, "url": self._socket_url()}

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user_id = str(args.get("user", ""))
        person = self.users.get(user_id)
        if person is None:
            return _error("user_not_found")
        name = str(person.get("name", user_id.lower()))
        real_name = str(person.get("real_name", name))
        profile = {"real_name": real_name, "display_name": name, "email": person.get("email")}
        return {
            "ok": True,
            "user": {
                "id": user_id,
                "team_id": TEAM_ID,
                "name": name,
                "real_name": real_name,
                "deleted": bool(person.get("deleted", False)),
                "is_bot": bool(person.get("is_bot", False)),
                "profile": profile,
            },
        }

    def _users_lookup_by_email(self, args: dict[str, Any]) -> dict[str, Any]:
        """As Slack does: the workspace member whose profile has that e-mail, any case."""
        email = str(args.get("email", "")).lower()
        for user_id, person in self.users.items():
            if str(person.get("email") or "").lower() == email:
                return self._users_info({"user": user_id})
        return _error("users_not_found")

    def _conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        if args.get("channel"):
            return {"ok": True, "channel": {"id": args["channel"]}}
        users = [u for u in str(args.get("users") or "").split(",") if u]
        if not users:
            return _error("users_list_not_supplied")
        if unknown := [u for u in users if u not in self.users]:
            return _error("user_not_found", user=unknown[0])
        if len(users) == 1:
            channel = self.dm_channel(users[0])
            return {"ok": True, "channel": {"id": channel, "is_im": True, "user": users[0]}}
        group = "G" + "".join(sorted(u[1:] for u in users))[:20]
        return {"ok": True, "channel": {"id": group, "is_mpim": True}}

    def _usergroup_users(self, args: dict[str, Any]) -> dict[str, Any]:
        members = self.groups.get(str(args.get("usergroup", "")))
        if members is None:
            return _error("no_such_subteam")
        return {"ok": True, "users": list(members)}

    def _views(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        view = args.get("view")
        if not isinstance(view, dict):
            return _error("invalid_arguments")
        if method != "views.update" and not args.get("trigger_id"):
            return _error("invalid_trigger_id")
        if problems := view_errors(view):
            return _error("invalid_blocks", errors=problems)
        views = self._world.views
        if method == "views.update":
            view_id = args.get("view_id") or next(
                (i for i, v in views.items() if v.get("external_id") == args.get("external_id")),
                None,
            )
            if view_id not in views:
                return _error("not_found")
        else:
            view_id = f"V{next(self._ids):08d}"
        stored = {
            "type": "modal",
            "callback_id": "",
            "private_metadata": "",
            **view,
            "id": view_id,
            "team_id": TEAM_ID,
            "app_id": APP_ID,
            "bot_id": BOT_ID,
            "hash": f"{next(self._ids)}.hash",
            "state": {"values": {}},
        }
        views[view_id] = stored
        return {"ok": True, "view": stored}

    def _publish(self, args: dict[str, Any]) -> dict[str, Any]:
        """views.publish: a user's Home tab, replaced whole; a user Slack does not know gets
        ``user_not_found``, and anything but a ``home`` view is refused."""
        view, user = args.get("view"), str(args.get("user_id") or "")
        if not isinstance(view, dict) or view.get("type") != "home":
            return _error("invalid_arguments")
        if user not in self.users:
            return _error("user_not_found")
        if problems := home_errors(view):
            return _error("invalid_blocks", errors=problems)
        stored = {
            "callback_id": "",
            "private_metadata": "",
            **view,
            "id": self._world.homes.get(user, {}).get("id") or f"V{next(self._ids):08d}",
            "team_id": TEAM_ID,
            "app_id": APP_ID,
            "bot_id": BOT_ID,
            "hash": f"{next(self._ids)}.hash",
            "state": {"values": {}},
        }
        self._world.homes[user] = stored
        return {"ok": True, "view": stored}

    def _upload_url(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("filename") or not str(args.get("length", "")).isdigit():
            return _error("invalid_arguments")
        file_id = f"F{next(self._ids):08d}"
        self._world.uploads[file_id] = {"filename": args["filename"], "content": None}
        return {"ok": True, "file_id": file_id, "upload_url": f"{self.base_url}/upload/{file_id}"}

    def _complete_upload(self, args: dict[str, Any]) -> dict[str, Any]:
        items = args.get("files")
        if not isinstance(items, list) or not items:
            return _error("invalid_arguments")
        uploads = self._world.uploads
        if any(uploads.get(str(item.get("id")), {}).get("content") is None for item in items):
            return _error("file_not_found")
        channels = [c for c in str(args.get("channels") or "").split(",") if c]
        channel = args.get("channel_id") or (channels[0] if channels else None)
        shared = []
        for item in items:
            upload = uploads.pop(item["id"])
            title = item.get("title") or upload["filename"]
            record = {
                "id": item["id"],
                "title": title,
                "filename": upload["filename"],
                "channel": channel,
                "content": upload["content"],
                "comment": args.get("initial_comment"),
            }
            self._world.files.append(record)
            shared.append({"id": item["id"], "title": title, "name": upload["filename"]})
        if channel:  # sharing a file shows as a message with it
            self._world.messages.append(
                Message(
                    channel,
                    self._next_ts(),
                    str(args.get("initial_comment") or ""),
                    [],
                    thread_ts=args.get("thread_ts"),
                    files=shared,
                )
            )
        return {"ok": True, "files": shared}

    def upload(self, file_id: str, content: bytes) -> int:
        """The upload URL of files.getUploadURLExternal receiving the bytes; an HTTP status."""
        with self._changed:
            upload = self._world.uploads.get(file_id)
            if upload is not None:
                upload["content"] = content
            self._notify()
            return 200 if upload is not None else 404

    def respond(self, token: str, body: Any) -> tuple[int, str]:
        """A post to a response_url: replace, delete, or add the message it stands for."""
        with self._changed:
            hook = self._hooks.get(token)
            key = hook.key if hook else token.split("/")[0]
            args = {**body, "_key": key} if isinstance(body, dict) else {"_body": body, "_key": key}
            status, text = self._respond(hook, body)
            self._world.calls.append(
                ApiCall("response_url", args, None, None if status == 200 else text)
            )
            self._notify()
            return status, text

    def _respond(self, hook: _Hook | None, body: Any) -> tuple[int, str]:
        if hook is None:
            return 404, "invalid_url"
        hook.uses += 1
        if error := self._take_failure("response_url"):
            status = _failure_status(error)
            return (500 if status == 200 else status), error  # a response_url has no ok:false
        if hook.uses > RESPONSE_URL_USES:
            return 404, "used_url"
        if not isinstance(body, dict):
            return 400, "invalid_payload"
        if not any(body.get(k) for k in ("text", "blocks", "attachments", "delete_original")):
            return 400, "no_text"
        if problems := block_errors(body.get("blocks"), MESSAGE_BLOCKS):
            return 400, "invalid_blocks: " + "; ".join(problems)
        messages = self._world.messages
        target = self._original(hook)
        if body.get("delete_original"):
            if target is None:
                return 404, "message_not_found"
            del messages[target]
        elif body.get("replace_original") and target is not None:
            old = messages[target]  # keeps its place, visibility and ts, as in Slack
            messages[target] = replace(
                old, text=str(body.get("text") or ""), blocks=list(body.get("blocks") or [])
            )
        else:
            ephemeral = body.get("response_type", "ephemeral") != "in_channel"
            messages.append(
                Message(
                    channel=hook.channel,
                    ts=self._next_ts(),
                    text=str(body.get("text") or ""),
                    blocks=list(body.get("blocks") or []),
                    ephemeral=ephemeral,
                    user=hook.user if ephemeral else None,
                    thread_ts=body.get("thread_ts"),
                    response_key=hook.key,
                )
            )
        return 200, "ok"

    def _original(self, hook: _Hook) -> int | None:
        """The message a response_url's replace/delete acts on, if it is still there."""
        messages = self._world.messages
        for i in range(len(messages) - 1, -1, -1):
            m = messages[i]
            if hook.original_ts is not None:
                if m.ts == hook.original_ts and m.channel == hook.channel:
                    return i
            elif m.response_key == hook.key:
                return i
        return None


_METHODS: dict[str, Callable[[FakeSlack, dict[str, Any]], dict[str, Any]]] = {
    "apps.connections.open": FakeSlack._connections_open,
    "auth.test": FakeSlack._auth_test,
    "chat.postMessage": FakeSlack._post_message,
    "chat.postEphemeral": FakeSlack._post_ephemeral,
    "chat.update": FakeSlack._update,
    "chat.delete": FakeSlack._delete,
    "chat.getPermalink": FakeSlack._permalink,
    "users.info": FakeSlack._users_info,
    "users.lookupByEmail": FakeSlack._users_lookup_by_email,
    "conversations.open": FakeSlack._conversations_open,
    "usergroups.users.list": FakeSlack._usergroup_users,
    "views.open": lambda s, a: s._views("views.open", a),
    "views.push": lambda s, a: s._views("views.push", a),
    "views.update": lambda s, a: s._views("views.update", a),
    "views.publish": FakeSlack._publish,
    "files.getUploadURLExternal": FakeSlack._upload_url,
    "files.completeUploadExternal": FakeSlack._complete_upload,
    # A workflow step's end: recorded in ``calls`` like every call, nothing more to keep.
    "functions.completeSuccess": lambda _s, a: _ended(a, "outputs"),
    "functions.completeError": lambda _s, a: _ended(a, "error"),
}

_APP_TOKEN_METHODS = frozenset({"apps.connections.open"})  # the methods an xapp- token calls

_BLOCK_TYPES = frozenset(
    {"actions", "context", "divider", "file", "header", "image", "input", "rich_text", "section"}
)
_BUTTON_STYLES = (None, "primary", "danger")


def block_errors(blocks: Any, max_blocks: int) -> list[str]:
    """Where ``blocks`` break Block Kit's rules; Slack refuses such a message (invalid_blocks).

    slack_sdk validates some limits only in ``to_dict()`` and misses others (the block count,
    repeated IDs, empty texts), so the fake checks what Slack would, and a test sees the
    refusal the user would get.
    """
    if blocks is None:
        return []
    if not isinstance(blocks, list):
        return ["blocks must be a list"]
    problems: list[str] = []
    if len(blocks) > max_blocks:
        problems.append(f"{len(blocks)} blocks; no more than {max_blocks} allowed")
    block_ids: set[str] = set()
    for n, block in enumerate(blocks):
        where = f"[{n}]"
        if not isinstance(block, dict) or block.get("type") not in _BLOCK_TYPES:
            problems.append(f"{where} a block must be an object of a Block Kit type")
            continue
        if (block_id := block.get("block_id")) is not None:
            if block_id in block_ids:
                problems.append(f"{where} duplicate block_id {block_id!r}")
            block_ids.add(block_id)
            _limit(problems, f"{where}.block_id", block_id, 255)
        _BLOCK_CHECKS.get(block["type"], _no_check)(problems, where, block)
    return problems


def view_errors(view: dict[str, Any]) -> list[str]:
    """Where a modal breaks Block Kit's rules (its title, buttons, metadata and blocks)."""
    problems = block_errors(view.get("blocks"), MODAL_BLOCKS)
    _text_errors(problems, "title", view.get("title"), 24, plain=True)
    for name in ("submit", "close"):
        if view.get(name) is not None:
            _text_errors(problems, name, view[name], 24, plain=True)
    _limit(problems, "callback_id", view.get("callback_id"), 255)
    _limit(problems, "private_metadata", view.get("private_metadata"), 3000)
    return problems


def home_errors(view: dict[str, Any]) -> list[str]:
    """Where an App Home view breaks Block Kit's rules: its blocks (100 at most) and metadata."""
    problems = block_errors(view.get("blocks"), HOME_BLOCKS)
    _limit(problems, "callback_id", view.get("callback_id"), 255)
    _limit(problems, "private_metadata", view.get("private_metadata"), 3000)
    return problems


def _no_check(problems: list[str], where: str, block: dict[str, Any]) -> None:
    pass


def _section(problems: list[str], where: str, block: dict[str, Any]) -> None:
    fields = block.get("fields") or []
    if block.get("text") is None and not fields:
        problems.append(f"{where} a section needs text or fields")
    if block.get("text") is not None:
        _text_errors(problems, f"{where}.text", block["text"], 3000)
    if len(fields) > 10:
        problems.append(f"{where}.fields: {len(fields)} fields; no more than 10 allowed")
    for i, item in enumerate(fields):
        _text_errors(problems, f"{where}.fields[{i}]", item, 2000)
    if block.get("accessory") is not None:
        _element_errors(problems, f"{where}.accessory", block["accessory"])


def _header(problems: list[str], where: str, block: dict[str, Any]) -> None:
    _text_errors(problems, f"{where}.text", block.get("text"), 150, plain=True)


def _context(problems: list[str], where: str, block: dict[str, Any]) -> None:
    elements = block.get("elements") or []
    if not 1 <= len(elements) <= 10:
        problems.append(f"{where}.elements: {len(elements)}; 1 to 10 allowed")
    for i, element in enumerate(elements):
        if isinstance(element, dict) and element.get("type") != "image":
            _text_errors(problems, f"{where}.elements[{i}]", element, 3000)


def _actions(problems: list[str], where: str, block: dict[str, Any]) -> None:
    elements = block.get("elements") or []
    if not 1 <= len(elements) <= 25:
        problems.append(f"{where}.elements: {len(elements)}; 1 to 25 allowed")
    action_ids: set[str] = set()
    for i, element in enumerate(elements):
        _element_errors(problems, f"{where}.elements[{i}]", element)
        action_id = element.get("action_id") if isinstance(element, dict) else None
        if action_id is not None and action_id in action_ids:
            problems.append(f"{where}.elements[{i}] duplicate action_id {action_id!r}")
        if action_id is not None:
            action_ids.add(action_id)


def _input(problems: list[str], where: str, block: dict[str, Any]) -> None:
    _text_errors(problems, f"{where}.label", block.get("label"), 2000, plain=True)
    if not isinstance(block.get("element"), dict):
        problems.append(f"{where}.element: an input needs one element")
    else:
        _element_errors(problems, f"{where}.element", block["element"])


_BLOCK_CHECKS = {
    "section": _section,
    "header": _header,
    "context": _context,
    "actions": _actions,
    "input": _input,
}


def _element_errors(problems: list[str], where: str, element: Any) -> None:
    if not isinstance(element, dict) or not element.get("type"):
        problems.append(f"{where}: an element must be an object with a type")
        return
    _limit(problems, f"{where}.action_id", element.get("action_id"), 255)
    if element["type"] == "button":
        _text_errors(problems, f"{where}.text", element.get("text"), 75, plain=True)
        _limit(problems, f"{where}.value", element.get("value"), 2000)
        _limit(problems, f"{where}.url", element.get("url"), 3000)
        if element.get("style") not in _BUTTON_STYLES:
            problems.append(f"{where}.style: {element.get('style')!r} is not primary or danger")


def _text_errors(
    problems: list[str], where: str, text: Any, most: int, *, plain: bool = False
) -> None:
    """A text object: plain_text (or mrkdwn where allowed) of 1 to ``most`` characters."""
    kinds = ("plain_text",) if plain else ("plain_text", "mrkdwn")
    if not isinstance(text, dict) or text.get("type") not in kinds:
        problems.append(f"{where}: must be a {' or '.join(kinds)} text object")
    elif not isinstance(text.get("text"), str) or not text["text"]:
        problems.append(f"{where}: must have at least 1 character")
    else:
        _limit(problems, where, text["text"], most)


def _limit(problems: list[str], where: str, text: Any, most: int) -> None:
    if isinstance(text, str) and len(text) > most:
        problems.append(f"{where}: {len(text)} characters; no more than {most} allowed")


def _failure_status(error: str) -> int:
    """The HTTP status an injected failure comes with (see :meth:`FakeSlack.fail`)."""
    if error == "ratelimited":
        return 429
    if error.startswith("http_") and error[5:].isdigit():
        return int(error[5:])
    return 200


def _ended(args: dict[str, Any], field: str) -> dict[str, Any]:
    """Slack's answer to completing a workflow step: it needs the execution and its result."""
    if not args.get("function_execution_id"):
        return _error("invalid_arguments")
    return {"ok": True} if args.get(field) is not None else _error("invalid_arguments")


def _error(error: str, **extra: Any) -> dict[str, Any]:
    return {"ok": False, "error": error, **extra}


def shown_message(message: Message) -> dict[str, Any]:
    """A message as Slack includes it in API answers and interaction payloads."""
    shown = {
        "type": "message",
        "user": BOT_USER_ID,
        "bot_id": BOT_ID,
        "ts": message.ts,
        "text": message.text,
        "blocks": message.blocks,
    }
    if message.thread_ts:
        shown["thread_ts"] = message.thread_ts
    return shown


def _call_summary(call: ApiCall) -> str:
    detail = {k: v for k, v in call.args.items() if k in ("channel", "ts", "user", "_key", "text")}
    outcome = f" -> {call.error}" if call.error else ""
    return f"{call.method} {json.dumps(detail, default=str)[:160]}{outcome}"


def _message_summary(message: Message) -> str:
    text = message.text or json.dumps(message.blocks)[:120]
    who = f" (only {message.user})" if message.ephemeral else ""
    return f"{text[:120]!r}{who}"


def _decode(args: dict[str, Any]) -> dict[str, Any]:
    """Form posts carry JSON-valued fields as strings; Slack parses them, and so does this."""
    for name in _JSON_FIELDS:
        if isinstance(args.get(name), str):
            try:
                args[name] = json.loads(args[name])
            except ValueError:
                args["_invalid"] = f"invalid_{name}_format" if name == "blocks" else "invalid_json"
    return args


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def get_request(self) -> tuple[socket.socket, Any]:
        conn, addr = super().get_request()
        # Without it, small request/response pairs wait ~40 ms on Nagle plus delayed ACK.
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
            try:
                self._route()
            except Exception as exc:  # a broken fake must answer, not hang the bot's request
                self._reply(500, f"fake Slack failed: {exc!r}".encode(), "text/plain")
                raise

        def _route(self) -> None:
            url = urlparse(self.path)
            length = int(self.headers.get("Content-Length", 0) or 0)
            raw = self.rfile.read(length) if length else b""
            if url.path.startswith("/upload/"):
                status = slack.upload(url.path.removeprefix("/upload/"), raw)
                self._reply(status, b"OK - %d" % len(raw), "text/plain")
            elif url.path.startswith("/response/"):
                try:
                    body = json.loads(raw or b"null")
                except ValueError:
                    body = raw.decode(errors="replace")
                status, text = slack.respond(url.path.removeprefix("/response/"), body)
                self._reply(status, text.encode(), "text/html")
            elif url.path.startswith("/api/"):
                method = url.path.removeprefix("/api/")
                token, args = _request_args(self.headers, url.query, raw)
                status, answer = slack.web_api(method, args, token)
                self._reply(status, json.dumps(answer).encode())
            else:
                self._reply(404, b"not found", "text/plain")

        do_GET = do_POST = _handle

    return Handler


def _request_args(headers: Any, query: str, raw: bytes) -> tuple[str | None, dict[str, Any]]:
    """A Web API call's token and arguments, from query, form or JSON, as Slack reads them."""
    args: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
    token = args.pop("token", None)
    content_type = headers.get_content_type()
    if content_type == "application/json":
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = None
        if isinstance(body, dict):
            args.update(body)  # a token inside a JSON body is ignored by Slack
        else:
            args["_invalid"] = "invalid_json"
    elif content_type == "multipart/form-data":
        args["_invalid"] = "invalid_form_data"  # nothing the bot calls sends multipart
    elif raw:
        form = dict(parse_qsl(raw.decode(errors="replace"), keep_blank_values=True))
        token = form.pop("token", None) or token
        args.update(form)
    bearer = headers.get("Authorization", "")
    if bearer.startswith("Bearer "):
        token = bearer.removeprefix("Bearer ").strip()
    return (token or None), _decode(args)
