"""An embedded AWS for the demo, tests and benchmarks: moto behind a small "faithful layer".

``FaithfulAws`` runs moto's ``ThreadedMotoServer`` on loopback and an HTTP proxy in front of it.
Clients are ordinary boto3 clients with ``endpoint_url`` set to the proxy (or
``AWS_ENDPOINT_URL``), so the code under test runs exactly as in production. The proxy exists
because moto is laxer than IAM in ways an IAM bot depends on; it corrects those, and it gives
tests and benchmarks latency, fault and concurrency control plus a record of every call:

- ``DeleteUser`` is refused with ``DeleteConflict`` (409) while the user still has a login
  profile, access keys, signing certificates, SSH keys, service-specific credentials, MFA
  devices, inline or attached policies or groups (moto deletes such users).
- ``DeleteVirtualMFADevice`` is refused while the device is enabled for a user.
- Service-specific credentials (moto answers HTML with HTTP 500) live in the proxy, in memory.
- So do users' permissions boundaries: moto has no ``PutUserPermissionsBoundary`` or
  ``DeleteUserPermissionsBoundary`` (HTML 500) and ignores ``CreateUser``'s; the proxy shows
  them in ``CreateUser``, ``GetUser`` and ``GetAccountAuthorizationDetails`` as IAM does.
- List operations can be paged (``page_size``): IAM may return fewer than ``MaxItems`` items
  with ``IsTruncated``, and moto ignores ``MaxItems``, so only paging here proves that callers
  follow markers. ``ListUsers`` always honours ``MaxItems`` (default 100, as in IAM), and so
  does every list in :data:`PAGED_ACTIONS` that is given one.
- ``foreign_keys`` makes key ids of other accounts answer as they do in AWS (see below).
- ``secretsmanager:DescribeSecret`` shows a KMS key given by alias name as its alias ARN (the
  documented "key ID or alias ARN"; moto echoes what ``CreateSecret`` was given), so a caller
  comparing keys must accept either spelling. Resource policies and the key itself moto keeps.
- Every call knows the account it acts in and the session that signed it: the access key of
  an ``AssumeRole`` that went through the proxy maps to the role's account, its
  ``SourceIdentity`` and session tags (moto forgets both); any other key acts where moto says
  (its user's account; dummy credentials in the default account). :class:`Call` records them,
  as CloudTrail would, and ``calls``/``count`` filter by ``account``.
- ``AssumeRole`` is checked as STS does (``sandbox/aws_accounts.py``): the role must exist in
  its account and its trust policy must let the caller's account ``sts:AssumeRole`` (plus
  ``sts:SetSourceIdentity`` / ``sts:TagSession`` when those are sent), else ``AccessDenied``
  (403); a trust condition on ``sts:SourceIdentity`` requires one; ``SourceIdentity`` must be
  2-64 letters, digits or ``_+=,.@-`` not starting ``aws:``, at most 50 session tags, keys of at
  most 128 and values of 256 characters (``ValidationError``, 400); a chained session keeps
  its source identity (another one is ``AccessDenied``) and its transitive tags. Principals
  are judged by account only.
- What the proxy keeps (service-specific credentials, boundaries, the credential report and
  its root row, :meth:`FaithfulAws.root_of`) is kept per account, and its own checks ask moto
  in the request's account.
- ``GetAccessKeyLastUsed`` of a key of another account (moto's or ``foreign_keys``) is
  ``AccessDenied`` (403), as in IAM; ``GetAccessKeyInfo`` names the owner of any key moto holds,
  temporary session keys included.
- CloudTrail's ``LookupEvents`` (moto has none) answers from the recorded calls, per account
  and region, paged, 90 days, throttled over 2 requests per second (``sandbox/cloudtrail.py``,
  ``sandbox/aws_cloudtrail.py``); each call records its access key, region, time, user agent
  and source IP (``X-Forwarded-For``, else loopback); :meth:`FaithfulAws.age_calls` makes them
  older.
- Calls that change state, and all of DynamoDB's, are served one at a time (latency is still
  added outside, so they overlap in time as AWS's do). moto checks, then writes, with no lock
  between: two DynamoDB writers racing on one key's condition both succeeded and the second
  silently replaced the first (a journal entry lost under load), as two ``CreateUser`` or a
  third ``CreateAccessKey`` could. AWS judges each such check and its write as one.
- Test side: :meth:`FaithfulAws.add_account` makes member accounts of an Organization (the
  default account manages it), :meth:`FaithfulAws.client` acts in any account,
  :meth:`FaithfulAws.add_bot_role` makes the role the bot assumes.

Where each part is (one mixin of :class:`FaithfulAws` per concern; a new rule goes beside its
kind, and its handler into ``FaithfulAws._handlers``):

- ``sandbox/aws.py``: the proxy itself: life cycle, reset, the request pipeline, moto upstream.
- ``sandbox/aws_wire.py``: requests and answers as parsed and written (query XML or JSON).
- ``sandbox/aws_iam_rules.py`` (:class:`CorrectsIam`): the corrections of moto's IAM
  (deletions, boundaries, login profiles, credential report) and Secrets Manager's.
- ``sandbox/aws_credentials.py``: service-specific credentials, which the proxy keeps itself.
- ``sandbox/aws_paging.py``: IAM's paging (``page_size``, markers).
- ``sandbox/aws_account_rules.py``: per-account state, accounts, roles and clients of the test
  side, ``AssumeRole`` and keys of other accounts (the STS model: ``sandbox/aws_accounts.py``).
- ``sandbox/aws_faults.py``: latency, injected failures and gates.
- ``sandbox/aws_record.py``: the record of calls (``calls``, ``count``, :class:`Call`).
- ``sandbox/aws_moto_model.py``: what only moto's model can set (ages, last use, AWS policies).
- ``sandbox/aws_identity_center.py`` (:class:`KeepsIdentityCenter`): IAM Identity Center's
  asynchronous assignment deletions, users' ExternalIds, permission sets' session durations.

What moto 5.2.5 does, checked through boto3 (the reasons for some of the rules above):

- ``sts:GetAccessKeyInfo`` answers the owning account for users' keys in any moto account,
  and for any other key id (temporary session keys included) the *calling* account, even for
  a key id that encodes another account. Real STS decodes the owner from any key id. Hence
  ``foreign_keys``: for those the proxy answers the given account itself.
- ``iam:GetAccessKeyLastUsed`` of a key id moto does not know: HTTP 404 ``NoSuchEntity``
  ("The Access Key with id X cannot be found"). moto searches every account it holds, so a key
  of another moto account is answered with its owner, as if it were local.
- ``sts:AssumeRole`` works across accounts and the returned credentials act in the role's
  account (moto finds the account holding a request's key; unknown keys act in 123456789012),
  but the role need not exist, the trust policy is not read, and ``SourceIdentity`` and
  ``Tags`` are ignored. Organizations' ``CreateOrganization``, ``CreateAccount`` (random
  12-digit IDs) and ``ListAccounts`` work.
- ``GetAccountAuthorizationDetails`` includes each user's ``Tags`` and ignores ``MaxItems``
  (as do ``ListUsers``, ``ListAccessKeys`` and the other per-user lists).
- moto records a key's last use (now, service, region) when a request is signed with a key it
  created; requests signed with dummy credentials leave last-used untouched.
- moto 5 loads no AWS managed policies by default (``MOTO_IAM_LOAD_MANAGED_POLICIES``), so
  ``arn:aws:iam::aws:policy/...`` cannot be attached until
  :meth:`FaithfulAws.add_aws_managed_policy` puts moto's bundled copy in.
- moto's state is process-global: two ``FaithfulAws`` in one process share its accounts, and
  ``reset()`` of either empties them all (each keeps its own proxy state). Use one per
  process.
- moto's server (werkzeug) closes the connection after every response, so upstream connections
  are reopened per call; ``TCP_NODELAY`` is set on each one. ``port=0`` works (the OS picks).
- moto's server routes each request under one lock every request takes, and inside it lists its
  package directory (a stat per service module): its calls ran one after another, several ms
  each. The list is made once here (``_list_moto_modules_once``); what remains is the GIL of
  this process, so benchmarks run the sandbox in a process of its own (``sandbox/process.py``),
  and ``set_delay`` counts its work inside the latency, not on top of it.
"""

from __future__ import annotations

import http.client
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlencode

from moto import backends as moto_backends
from moto.core import DEFAULT_ACCOUNT_ID
from moto.server import ThreadedMotoServer

from sandbox import aws_wire as wire
from sandbox.aws_account_rules import AccountState, ActsInAccounts, RootAccount
from sandbox.aws_accounts import MotoAccounts, SessionTable
from sandbox.aws_cloudtrail import LooksUpEvents
from sandbox.aws_credentials import KeepsServiceCredentials
from sandbox.aws_faults import FailRule, InjectsFaults
from sandbox.aws_iam_rules import USER_PATHS, CorrectsIam
from sandbox.aws_identity_center import KeepsIdentityCenter
from sandbox.aws_moto_model import SetsMotoModel
from sandbox.aws_paging import PAGED_ACTIONS, PagesLists
from sandbox.aws_record import REDACTED, Call, Entry, RecordsCalls, is_mutating, redact
from sandbox.aws_wire import Request, Response
from sandbox.cloudtrail import CloudTrail

__all__ = ["PAGED_ACTIONS", "REDACTED", "Call", "FaithfulAws", "RootAccount", "is_mutating"]

log = logging.getLogger(__name__)

# Response headers not passed on: hop-by-hop, or set by the proxy's own server.
_NOT_FORWARDED = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
    "transfer-encoding", "upgrade", "content-length", "server", "date", "host",
}  # fmt: skip


_MOTO_LISTS_MODULES = moto_backends.list_of_moto_modules


def _list_moto_modules_once() -> None:
    """moto's server lists its package directory (a stat per service module) to route every
    request, under a lock every request takes: its requests then run one after another,
    where AWS serves concurrent calls at once. The list cannot change while it runs."""
    listed = tuple(_MOTO_LISTS_MODULES())
    moto_backends.list_of_moto_modules = lambda: iter(listed)


class _NoDelayConnection(http.client.HTTPConnection):
    """Upstream connection with Nagle off: without it every call gains ~45 ms."""

    def connect(self) -> None:
        super().connect()
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _ProxyServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, aws: FaithfulAws) -> None:
        self.aws = aws
        super().__init__(("127.0.0.1", 0), _ProxyHandler)


class _ProxyHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 keep-alive (boto3 pools connections); a thread per client connection."""

    protocol_version = "HTTP/1.1"
    timeout = 300  # an idle keep-alive connection is closed after this
    server: _ProxyServer

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        response = self.server.aws._handle(self.command, self.path, self.headers.items(), body)
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _serve

    def finish(self) -> None:
        super().finish()
        self.server.aws._close_upstream()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # tests and the demo stay quiet


class FaithfulAws(
    ActsInAccounts,
    CorrectsIam,
    KeepsServiceCredentials,
    PagesLists,
    InjectsFaults,
    LooksUpEvents,
    KeepsIdentityCenter,
    RecordsCalls,
    SetsMotoModel,
):
    """moto on loopback behind the faithful-layer proxy; see the module docstring.

    Use as a context manager, or ``start()``/``stop()``. ``reset()`` between tests empties moto
    and puts the proxy back as constructed. Every public method is thread-safe.
    """

    def __init__(
        self,
        *,
        page_size: int | None = None,
        foreign_keys: Mapping[str, str] | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        """``clock``: what time it is for IAM's own clock (when a credential report is due and
        what its GeneratedTime says); the demo's ``wait`` moves it with the bot's."""
        self._clock = clock or (lambda: datetime.now(UTC))
        self._initial_page_size = page_size
        self._initial_foreign_keys = dict(foreign_keys or {})
        #: Access key id -> owning account id, for keys of accounts other than moto's.
        self.foreign_keys: dict[str, str] = dict(self._initial_foreign_keys)
        self._page_size = page_size
        self._lock = threading.Lock()
        self._gate = threading.Condition(self._lock)
        self._writes_in_turn = threading.Lock()
        self._held: set[str | None] = set()
        self._waiting: dict[str, int] = {}
        self._delay = 0.0
        self._slow: dict[str, float] = {}
        self._faults: list[FailRule] = []
        self._entries: list[Entry] = []
        self._states: dict[str, AccountState] = {}
        self._sessions = SessionTable()
        self._local = threading.local()
        self._moto: ThreadedMotoServer | None = None
        self._proxy: _ProxyServer | None = None
        self._moto_address: tuple[str, int] = ("127.0.0.1", 0)
        self._orgs: MotoAccounts | None = None
        # The actions the faithful layer answers itself (each handler in its concern's mixin);
        # every other call goes to moto, paged when it is one of PAGED_ACTIONS.
        self._handlers: dict[tuple[str, str], Callable[[Request], Response]] = {
            ("iam", "DeleteUser"): self._delete_user,
            ("iam", "DeleteVirtualMFADevice"): self._delete_virtual_mfa_device,
            ("iam", "CreateServiceSpecificCredential"): self._create_credential,
            ("iam", "ListServiceSpecificCredentials"): self._list_credentials,
            ("iam", "DeleteServiceSpecificCredential"): self._delete_credential,
            ("iam", "ResetServiceSpecificCredential"): self._reset_credential,
            ("iam", "UpdateServiceSpecificCredential"): self._update_credential,
            ("iam", "PutUserPermissionsBoundary"): self._put_boundary,
            ("iam", "DeleteUserPermissionsBoundary"): self._delete_boundary,
            ("iam", "CreateUser"): self._create_user,
            ("iam", "GetAccessKeyLastUsed"): self._access_key_last_used,
            ("sts", "GetAccessKeyInfo"): self._access_key_info,
            ("iam", "CreateLoginProfile"): self._create_login_profile,
            ("iam", "UpdateLoginProfile"): self._update_login_profile,
            ("iam", "GenerateCredentialReport"): self._generate_report,
            ("iam", "GetCredentialReport"): self._credential_report,
            ("sts", "AssumeRole"): self._assume_role,
            ("secretsmanager", "DescribeSecret"): self._describe_secret,
            ("cloudtrail", "LookupEvents"): self._lookup_events,
            ("sso", "CreateAccountAssignment"): self._create_assignment,
            ("sso", "DescribeAccountAssignmentCreationStatus"): self._creation_status,
            ("sso", "DeleteAccountAssignment"): self._delete_assignment,
            ("sso", "DescribeAccountAssignmentDeletionStatus"): self._deletion_status,
            ("sso", "DescribePermissionSet"): self._describe_permission_set,
            ("identitystore", "DescribeUser"): self._describe_ic_user,
        }
        self._reset_identity_center()
        self._trail = CloudTrail()

    # --- life cycle -----------------------------------------------------------------------

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> Self:
        _list_moto_modules_once()
        werkzeug_log = logging.getLogger("werkzeug")
        if werkzeug_log.level == logging.NOTSET:
            werkzeug_log.setLevel(logging.WARNING)  # else one INFO line per request
        # The bot asks EC2 only for its regions; moto would load its hundreds of public AMIs
        # again every time a reset makes the EC2 backend anew.
        os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
        self._moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._moto.start()
        self._moto_address = self._moto.get_host_and_port()
        self._orgs = MotoAccounts(self.moto_url)
        self._proxy = _ProxyServer(self)
        threading.Thread(
            target=self._proxy.serve_forever, name="faithful-aws-proxy", daemon=True
        ).start()
        return self

    def stop(self) -> None:
        self._release_all()
        if self._proxy is not None:
            self._proxy.shutdown()
            self._proxy.server_close()
            self._proxy = None
        if self._moto is not None:
            self._moto.stop()
            self._moto = None

    @property
    def endpoint_url(self) -> str:
        """The proxy: what clients use as ``endpoint_url`` / ``AWS_ENDPOINT_URL``."""
        if self._proxy is None:
            raise RuntimeError("FaithfulAws is not started")
        host, port = self._proxy.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def moto_url(self) -> str:
        """moto itself, bypassing every faithful rule, fault and record."""
        host, port = self._moto_address
        return f"http://{host}:{port}"

    @property
    def account_id(self) -> str:
        """The default account: dummy credentials act here; the Organization's management."""
        return DEFAULT_ACCOUNT_ID

    def reset(self) -> None:
        """Empty moto and put the proxy back as constructed (fast: tests call it often)."""
        self._release_all()
        with self._lock:
            self._entries.clear()
            self._faults.clear()
            self._trail.reset()
            self._reset_identity_center()
            self._delay = 0.0
            self._slow.clear()
            self._page_size = self._initial_page_size
            self.foreign_keys.clear()
            self.foreign_keys.update(self._initial_foreign_keys)
        self._forget_accounts()
        conn = _NoDelayConnection(*self._moto_address, timeout=30)
        try:
            conn.request("POST", "/moto-api/reset")
            response = conn.getresponse()
            response.read()
        finally:
            conn.close()
        if response.status != 200:
            raise RuntimeError(f"moto reset failed: HTTP {response.status}")

    # --- request pipeline -------------------------------------------------------------------

    def _handle(
        self, method: str, path: str, headers: list[tuple[str, str]], body: bytes
    ) -> Response:
        req = wire.parse(method, path, headers, body)
        req.session = self._sessions.session(req.access_key)
        entry = Entry(
            req.service,
            req.action,
            redact(req.params),
            req.session,
            req.access_key,
            req.region,
            self._clock(),
            req.header.get("user-agent", ""),
            req.header.get("x-forwarded-for", "127.0.0.1"),
        )
        with self._lock:
            self._entries.append(entry)
            raw = req.protocol == "raw"
            fault = None if raw else self._take_fault(req.action, req.account, req.region)
            delay = self._delay
            slow = self._slow.get(req.action, 0.0)
        self._pass_gate(req.action)
        passed = time.monotonic()
        try:
            if fault is None or fault.after_forward:
                response = self._dispatch(req)
            if fault is not None:
                response = wire.error(req, fault.code, fault.message, fault.status)
        except Exception:
            log.exception("faithful layer failed on %s %s", req.service, req.action)
            response = wire.error(req, "InternalFailure", "The faithful layer failed.", 500)
        if delay:  # the sandbox's own work is part of the latency, as AWS's is of its own
            time.sleep(max(0.0, passed + delay - time.monotonic()))
        time.sleep(slow)
        with self._lock:  # before the answer is sent: a client that has it sees its record
            entry.status = response.status
            entry.error = wire.error_code(req, response)
        return response

    def _dispatch(self, req: Request) -> Response:
        if req.service == "dynamodb" or is_mutating(req.action):
            with self._writes_in_turn:  # a check and its write as one, as in AWS
                return self._answer(req)
        return self._answer(req)

    def _answer(self, req: Request) -> Response:
        if req.service == "moto" and req.action == "/moto-api/reset":
            self._forget_accounts()
        handler = self._handlers.get((req.service, req.action))
        if handler is not None:
            response = handler(req)
        elif req.service == "iam" and req.action in PAGED_ACTIONS and self._should_page(req):
            response = self._paged(req)
        else:
            response = self._forward(req)
        if req.service == "iam" and req.action in USER_PATHS and response.status == 200:
            response = self._show_boundaries(req, response)
        return response

    # --- upstream ---------------------------------------------------------------------------

    def _upstream(self) -> _NoDelayConnection:
        conn: _NoDelayConnection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = _NoDelayConnection(*self._moto_address, timeout=60)
            self._local.conn = conn
        return conn

    def _close_upstream(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def _forward(self, req: Request, body: bytes | None = None) -> Response:
        """Send the request to moto on this thread's connection; its answer as it came."""
        body = req.body if body is None else body
        headers = {k: v for k, v in req.headers if k.lower() not in _NOT_FORWARDED}
        headers["Content-Length"] = str(len(body))
        for attempt in (1, 2):
            conn = self._upstream()
            reused = conn.sock is not None
            try:
                conn.request(req.method, req.path, body=body, headers=headers)
                upstream = conn.getresponse()
                data = upstream.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                conn.close()
                if reused and attempt == 1:
                    continue  # moto had closed the kept connection: nothing was processed
                raise
            kept = [(k, v) for k, v in upstream.getheaders() if k.lower() not in _NOT_FORWARDED]
            return Response(upstream.status, kept, data)
        raise AssertionError("unreachable")

    def _forward_query(self, req: Request, params: Mapping[str, Any]) -> Response:
        fields = {"Action": req.action, "Version": req.version, **params}
        return self._forward(req, urlencode(fields).encode())
