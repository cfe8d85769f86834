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
- Test side: :meth:`FaithfulAws.add_account` makes member accounts of an Organization (the
  default account manages it), :meth:`FaithfulAws.client` acts in any account,
  :meth:`FaithfulAws.add_bot_role` makes the role the bot assumes.

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

import base64
import binascii
import dataclasses
import functools
import http.client
import json
import logging
import re
import secrets
import socket
import string
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qsl, urlencode, urlsplit

from botocore import xform_name
from botocore.exceptions import ClientError
from moto import backends as moto_backends
from moto.core import DEFAULT_ACCOUNT_ID
from moto.server import ThreadedMotoServer

from sandbox.aws_accounts import (
    AssumeRole,
    MotoAccounts,
    Session,
    SessionTable,
    assume_role_problem,
    key_owner,
)

log = logging.getLogger(__name__)

IAM_NS = "https://iam.amazonaws.com/doc/2010-05-08/"
STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/"
_NAMESPACES = {"iam": IAM_NS, "sts": STS_NS}
_VERSION_SERVICE = {"2010-05-08": "iam", "2011-06-15": "sts"}
_SCOPE = re.compile(r"Credential=([^/,\s]+)/\d{8}/[^/]+/([^/]+)/")

MUTATING_PREFIXES = (
    "Create", "Delete", "Update", "Put", "Attach", "Detach", "Add", "Remove", "Deactivate",
    "Enable", "Reset", "Upload", "Tag", "Untag",
)  # fmt: skip
# Request parameters whose values are secrets (lower case; any name containing "password" too).
_SECRET_PARAMS = {
    "secretstring", "secretbinary", "privatekey", "authenticationcode1", "authenticationcode2",
    "tokencode", "samlassertion", "webidentitytoken", "secretaccesskey", "servicecredentialsecret",
}  # fmt: skip
REDACTED = "<redacted>"
# Response headers not passed on: hop-by-hop, or set by the proxy's own server.
_NOT_FORWARDED = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
    "transfer-encoding", "upgrade", "content-length", "server", "date", "host",
}  # fmt: skip

# IAM lists the proxy can page, and the list element(s) of each result.
# GetAccountAuthorizationDetails is paged across its four lists as one sequence.
PAGED_ACTIONS: dict[str, tuple[str, ...]] = {
    "ListUsers": ("Users",),
    "ListAccessKeys": ("AccessKeyMetadata",),
    "ListGroupsForUser": ("Groups",),
    "ListUserPolicies": ("PolicyNames",),
    "ListAttachedUserPolicies": ("AttachedPolicies",),
    "ListMFADevices": ("MFADevices",),
    "ListSigningCertificates": ("Certificates",),
    "ListSSHPublicKeys": ("SSHPublicKeys",),
    "ListUserTags": ("Tags",),
    "ListGroups": ("Groups",),
    "GetGroup": ("Users",),
    "ListGroupPolicies": ("PolicyNames",),
    "ListAttachedGroupPolicies": ("AttachedPolicies",),
    "ListVirtualMFADevices": ("VirtualMFADevices",),
    "GetAccountAuthorizationDetails": (
        "UserDetailList",
        "GroupDetailList",
        "RoleDetailList",
        "Policies",
    ),
}
_IAM_DEFAULT_MAX_ITEMS = 100
# Answers that show users with their PermissionsBoundary in IAM (ListUsers does not), and
# where the users are, below the root.
_USER_PATHS = {
    "CreateUser": "CreateUserResult/User",
    "GetUser": "GetUserResult/User",
    "GetAccountAuthorizationDetails": "GetAccountAuthorizationDetailsResult/UserDetailList/member",
}

# What DeleteUser checks after the login profile, in the order of IAM's documentation:
# (list action, result key, IAM's DeleteConflict message); no action = the proxy's own store.
_USER_ATTACHMENTS = (
    ("ListAccessKeys", "AccessKeyMetadata", "must delete access keys first"),
    ("ListSigningCertificates", "Certificates", "must delete signing certificates first"),
    ("ListSSHPublicKeys", "SSHPublicKeys", "must delete SSH public keys first"),
    ("", "", "must delete service specific credentials first"),
    ("ListMFADevices", "MFADevices", "must delete MFA device first"),
    ("ListUserPolicies", "PolicyNames", "must delete policies first"),
    ("ListAttachedUserPolicies", "AttachedPolicies", "must detach all policies first"),
    ("ListGroupsForUser", "Groups", "must remove user from all groups first"),
)

SSC_SERVICES = ("codecommit.amazonaws.com", "cassandra.amazonaws.com", "bedrock.amazonaws.com")
SSC_LIMIT_PER_SERVICE = 2
_ID_ALPHABET = string.ascii_uppercase + string.digits


_MOTO_LISTS_MODULES = moto_backends.list_of_moto_modules


def _list_moto_modules_once() -> None:
    """moto's server lists its package directory (a stat per service module) to route every
    request, under a lock every request takes: its requests then run one after another,
    where AWS serves concurrent calls at once. The list cannot change while it runs."""
    listed = tuple(_MOTO_LISTS_MODULES())
    moto_backends.list_of_moto_modules = lambda: iter(listed)


def is_mutating(action: str) -> bool:
    """Whether an API action changes state, judged by its verb (CreateUser, TagUser, ...)."""
    return action.startswith(MUTATING_PREFIXES)


@dataclass(frozen=True)
class Call:
    """One request that reached the proxy, in arrival order.

    ``params`` are the API parameters (query fields or JSON body) with secret values replaced
    by ``REDACTED``. ``status`` is the HTTP status answered, 0 while the call is still in
    flight (e.g. held at a gate); ``error`` the error code of a failed call. ``account`` is
    the account the call acted in, ``source_identity`` and ``session_tags`` what STS attached
    to the assumed-role session that signed it (CloudTrail shows both).
    """

    service: str
    action: str
    params: dict[str, Any]
    status: int
    error: str | None = None
    account: str = DEFAULT_ACCOUNT_ID
    source_identity: str | None = None
    session_tags: dict[str, str] = field(default_factory=dict)


@dataclass
class _Entry:
    service: str
    action: str
    params: dict[str, Any]
    session: Session
    status: int = 0
    error: str | None = None

    def call(self) -> Call:
        return Call(
            self.service,
            self.action,
            dict(self.params),
            self.status,
            self.error,
            self.session.account_id,
            self.session.source_identity,
            dict(self.session.session_tags),
        )


_DEFAULT_SESSION = Session(DEFAULT_ACCOUNT_ID, f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:user/moto")


@dataclass
class _Request:
    method: str
    path: str
    headers: list[tuple[str, str]]
    body: bytes
    service: str
    action: str
    params: dict[str, Any]
    protocol: str  # "query" (IAM, STS), "json" (X-Amz-Target) or "raw" (moto-api, other)
    version: str = ""
    access_key: str = ""
    session: Session = _DEFAULT_SESSION  # who signed it, set by the proxy

    @property
    def account(self) -> str:
        return self.session.account_id


@dataclass
class RootAccount:
    """The root user's credential report row, which moto leaves out; tests set its signals."""

    mfa_active: bool = True
    access_key_active: bool = False
    password_last_used: datetime | None = None

    def row(self, header: str, account_id: str = DEFAULT_ACCOUNT_ID) -> str:
        used = (
            self.password_last_used.strftime("%Y-%m-%dT%H:%M:%S+00:00")
            if self.password_last_used
            else "no_information"
        )
        values = {
            "user": "<root_account>",
            "arn": f"arn:aws:iam::{account_id}:root",
            "user_creation_time": "2015-01-01T00:00:00+00:00",
            "password_enabled": "not_supported",
            "password_last_used": used,
            "password_last_changed": "not_supported",
            "password_next_rotation": "not_supported",
            "mfa_active": str(self.mfa_active).lower(),
            "access_key_1_active": str(self.access_key_active).lower(),
        }
        return ",".join(values.get(column, "N/A") for column in header.split(","))


@dataclass
class _Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


@dataclass
class _FailRule:
    action: str | None
    mutating_only: bool
    skip: int  # matching calls still to let through before failing
    remaining: int  # failures still to inject
    code: str
    status: int
    message: str
    after_forward: bool  # the call reaches moto and takes effect; only its answer is the error
    account: str | None = None  # only calls acting in this account (None: any account)

    def matches(self, action: str, account: str) -> bool:
        if self.account not in (None, account):
            return False
        if self.mutating_only:
            return is_mutating(action) and self.action in (None, action)
        return self.action is None or self.action == action


@dataclass
class _ServiceCredential:
    cred_id: str
    user_name: str
    service: str
    status: str
    created: datetime
    expires: datetime | None
    login: str  # ServiceUserName, or ServiceCredentialAlias for Bedrock API keys
    secret: str  # ServicePassword, or ServiceCredentialSecret for Bedrock API keys

    @property
    def is_api_key(self) -> bool:
        return self.service == "bedrock.amazonaws.com"


@dataclass
class _AccountState:
    """What the proxy keeps for one account beside moto's model of it."""

    credentials: dict[str, _ServiceCredential] = field(default_factory=dict)
    boundaries: dict[str, str] = field(default_factory=dict)  # user -> boundary policy ARN
    report_generated: datetime | None = None
    report: _Response | None = None
    root: RootAccount = field(default_factory=RootAccount)


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


class FaithfulAws:
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
        self._held: set[str | None] = set()
        self._waiting: dict[str, int] = {}
        self._delay = 0.0
        self._slow: dict[str, float] = {}
        self._faults: list[_FailRule] = []
        self._entries: list[_Entry] = []
        self._states: dict[str, _AccountState] = {}
        self._sessions = SessionTable()
        self._local = threading.local()
        self._moto: ThreadedMotoServer | None = None
        self._proxy: _ProxyServer | None = None
        self._moto_address: tuple[str, int] = ("127.0.0.1", 0)
        self._orgs: MotoAccounts | None = None
        self._handlers: dict[tuple[str, str], Callable[[_Request], _Response]] = {
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
        }

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

    # --- accounts ---------------------------------------------------------------------------

    def add_account(self, name: str) -> str:
        """A new member account ``name`` of the Organization (made on first use, managed by
        the default account); its ID."""
        return self._accounts().add_account(name)

    def accounts(self) -> dict[str, str]:
        """Account name -> ID, the default account included as ``"management"``."""
        return self._accounts().accounts()

    def client(self, service: str, account_id: str | None = None, *, faithful: bool = False) -> Any:
        """A boto3 client acting in ``account_id`` (default: the default account), for seeding
        and assertions: straight at moto, bypassing the faithful layer and its records; with
        ``faithful`` through the proxy (recorded, with its rules) under the same credentials."""
        endpoint = self.endpoint_url if faithful else None
        return self._accounts().client(service, account_id, endpoint_url=endpoint)

    def add_bot_role(
        self,
        account_id: str,
        role_name: str = "iam-bot-action",
        require_source_identity: bool = True,
    ) -> str:
        """Create the role the bot assumes in ``account_id``: trusting the default account's
        principals (AssumeRole, SetSourceIdentity, TagSession) and, if asked, requiring a
        source identity (a ``Null`` condition on ``sts:SourceIdentity``). Its ARN."""
        return self._accounts().add_bot_role(account_id, role_name, require_source_identity)

    @property
    def root(self) -> RootAccount:
        """The default account's root user (see :meth:`root_of`)."""
        return self.root_of(DEFAULT_ACCOUNT_ID)

    def root_of(self, account_id: str) -> RootAccount:
        """The root user of ``account_id``: its credential report row's signals."""
        return self._state(account_id).root

    def _accounts(self) -> MotoAccounts:
        if self._orgs is None:
            raise RuntimeError("FaithfulAws is not started")
        return self._orgs

    def _state(self, account_id: str) -> _AccountState:
        with self._lock:
            return self._states.setdefault(account_id, _AccountState())

    def _forget_accounts(self) -> None:
        """moto is empty again: its accounts, keys and sessions are gone, so is what the
        proxy kept for them."""
        with self._lock:
            self._states.clear()
        self._sessions.clear()
        if self._orgs is not None:
            self._orgs.reset()

    def _iam(self, account_id: str = DEFAULT_ACCOUNT_ID) -> Any:
        """The proxy's own IAM client at moto, acting in ``account_id``."""
        return self._accounts().client("iam", account_id)

    def reset(self) -> None:
        """Empty moto and put the proxy back as constructed (fast: tests call it often)."""
        self._release_all()
        with self._lock:
            self._entries.clear()
            self._faults.clear()
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

    # --- knobs ------------------------------------------------------------------------------

    @property
    def page_size(self) -> int | None:
        """At most this many items per page of the IAM lists (None: only MaxItems pages)."""
        return self._page_size

    @page_size.setter
    def page_size(self, value: int | None) -> None:
        self.set_page_size(value)

    def set_page_size(self, size: int | None) -> None:
        if size is not None and size < 1:
            raise ValueError("page_size must be at least 1")
        with self._lock:
            self._page_size = size

    @property
    def delay(self) -> float:
        return self._delay

    def set_delay(self, seconds: float) -> None:
        """Every proxied call is answered this long after it arrived (latency for benchmarks),
        or when its work is done if that takes longer: the time moto and this layer spend on
        a call is AWS's, inside the round trip, not added to it (their CPU is one process's,
        where AWS serves concurrent calls on many machines)."""
        with self._lock:
            self._delay = max(0.0, seconds)

    def slow(self, action: str, seconds: float) -> None:
        """Answer calls of ``action`` ``seconds`` after their work is done: the change is
        visible to everyone else while its caller still waits (a slow network on the way back)."""
        with self._lock:
            self._slow[action] = max(0.0, seconds)

    def add_foreign_key(self, key_id: str, account_id: str) -> None:
        """Make ``key_id`` a key of ``account_id``, another account (see ``foreign_keys``)."""
        with self._lock:
            self.foreign_keys[key_id] = account_id

    def fail(
        self,
        action: str | None = None,
        *,
        nth: int = 1,
        code: str = "ServiceFailure",
        status: int = 500,
        times: int = 1,
        mutating_only: bool = False,
        message: str | None = None,
        after_forward: bool = False,
        account: str | None = None,
    ) -> None:
        """Fail the ``nth`` matching call from now, and the ``times - 1`` matching ones after it.

        Matching: calls of ``action``, or any call when None; with ``mutating_only`` only the
        mutating ones (Create*, Delete*, ...); with ``account`` only those acting in that
        account. Calls are counted as they arrive. A failed call
        never reaches moto; the client gets the error in its protocol's shape.

        With ``after_forward`` the answer is lost instead: the call reaches moto and takes
        effect (``CreateAccessKey`` makes a key), then the client gets the error, as when AWS
        did the work but its answer never arrived. A 5xx is retried by botocore's standard
        mode, so the retry does the work a second time.
        """
        if nth < 1 or times < 1:
            raise ValueError("nth and times must be at least 1")
        rule = _FailRule(
            action=action,
            mutating_only=mutating_only,
            skip=nth - 1,
            remaining=times,
            code=code,
            status=status,
            message=message or f"Injected failure ({code}).",
            after_forward=after_forward,
            account=account,
        )
        with self._lock:
            self._faults.append(rule)

    def hold(self, action: str | None = None) -> None:
        """Stop calls of ``action`` (every call if None) at a gate until :meth:`release`.

        For concurrency tests: freeze a run at a chosen call, act, then let it go on.
        """
        with self._gate:
            self._held.add(action)

    def release(self, action: str | None = None) -> None:
        with self._gate:
            self._held.discard(action)
            self._gate.notify_all()

    def waiting(self, action: str | None = None) -> int:
        """How many calls (of ``action``, or any) are stopped at a gate right now."""
        with self._gate:
            return self._waiting_count(action)

    def wait_held(self, action: str | None = None, count: int = 1, timeout: float = 10.0) -> bool:
        """Wait until ``count`` calls (of ``action``, or any) are stopped at a gate."""
        with self._gate:
            return self._gate.wait_for(lambda: self._waiting_count(action) >= count, timeout)

    def _waiting_count(self, action: str | None) -> int:
        if action is None:
            return sum(self._waiting.values())
        return self._waiting.get(action, 0)

    def _release_all(self) -> None:
        with self._gate:
            self._held.clear()
            self._gate.notify_all()

    # --- observation ------------------------------------------------------------------------

    def calls(self, action: str | None = None, *, account: str | None = None) -> list[Call]:
        """Every request that reached the proxy (of ``action``, acting in ``account``, if
        given), in arrival order."""
        with self._lock:
            return [
                e.call()
                for e in self._entries
                if (action is None or e.action == action)
                and (account is None or e.session.account_id == account)
            ]

    def count(
        self, action: str | None = None, *, ok_only: bool = True, account: str | None = None
    ) -> int:
        """How many calls (of ``action``, in ``account``) succeeded (2xx); with
        ``ok_only=False``, all of them."""
        calls = self.calls(action, account=account)
        return sum(1 for c in calls if not ok_only or 200 <= c.status < 300)

    # --- data set-up inside moto ----------------------------------------------------------

    def backdate_access_key(
        self,
        key_id: str,
        created: datetime,
        last_used: tuple[datetime, str, str] | None = None,
        account_id: str | None = None,
    ) -> None:
        """Set a key's create date and last use ``(when, service, region)``; None: never used.

        No API can, so this reaches into moto's in-process model; ListAccessKeys,
        GetAccessKeyLastUsed and the credential report then report these values. The key is
        looked for in ``account_id``, by default in the account that holds it.
        """
        from moto.iam.models import AccessKeyLastUsed

        owner = key_owner(key_id)
        key = self._find_access_key(key_id, account_id or (owner[0] if owner else self.account_id))
        key.create_date = _naive_utc(created)
        if last_used is None:
            key.last_used = None
        else:
            when, service, region = last_used
            key.last_used = AccessKeyLastUsed(
                timestamp=_naive_utc(when), service=service, region=region
            )

    def backdate_user(
        self,
        user_name: str,
        created: datetime,
        password_last_used: datetime | None = None,
        account_id: str = DEFAULT_ACCOUNT_ID,
    ) -> None:
        """Set a user's create date and its password's last use (GetUser, credential report)."""
        user = self._iam_backend(account_id).get_user(user_name)
        user.create_date = _naive_utc(created)
        if password_last_used is not None:
            user.password_last_used = _naive_utc(password_last_used)

    def add_aws_managed_policy(self, name: str, account_id: str = DEFAULT_ACCOUNT_ID) -> str:
        """Make the AWS managed policy ``name`` attachable in ``account_id`` (moto's bundled
        copy); its ARN.

        moto 5 loads none by default, and loading all ~1,400 would slow every reset. A version
        of the compromised-key quarantine policy newer than moto's copy (V4, published
        2026-11) gets V3's document under its own name: what matters to the bot is that it is
        attached and listed (ListEntitiesForPolicy), as IAM lists it.
        """
        from moto.iam.models import AWSManagedPolicy

        backend = self._iam_backend(account_id)
        bundled = _aws_managed_policies()
        newer = name not in bundled and name.startswith("AWSCompromisedKeyQuarantine")
        data = bundled[_NEWEST_BUNDLED_QUARANTINE if newer else name]
        policy = AWSManagedPolicy.from_data(name, backend.account_id, backend.region_name, data)
        backend.managed_policies.setdefault(policy.arn, policy)
        return policy.arn

    def _iam_backend(self, account_id: str = DEFAULT_ACCOUNT_ID) -> Any:
        from moto.iam.models import iam_backends

        return iam_backends[account_id]["aws"]

    def _find_access_key(self, key_id: str, account_id: str) -> Any:
        for user in list(self._iam_backend(account_id).users.values()):
            for key in list(user.access_keys):
                if key.access_key_id == key_id:
                    return key
        raise KeyError(f"no access key {key_id} in moto")

    # --- request pipeline -------------------------------------------------------------------

    def _handle(
        self, method: str, path: str, headers: list[tuple[str, str]], body: bytes
    ) -> _Response:
        req = _parse(method, path, headers, body)
        req.session = self._sessions.session(req.access_key)
        entry = _Entry(req.service, req.action, _redact(req.params), req.session)
        with self._lock:
            self._entries.append(entry)
            raw = req.protocol == "raw"
            fault = None if raw else self._take_fault(req.action, req.session.account_id)
            delay = self._delay
            slow = self._slow.get(req.action, 0.0)
        self._pass_gate(req.action)
        passed = time.monotonic()
        try:
            if fault is None or fault.after_forward:
                response = self._dispatch(req)
            if fault is not None:
                response = _error(req, fault.code, fault.message, fault.status)
        except Exception:
            log.exception("faithful layer failed on %s %s", req.service, req.action)
            response = _error(req, "InternalFailure", "The faithful layer failed.", 500)
        if delay:  # the sandbox's own work is part of the latency, as AWS's is of its own
            time.sleep(max(0.0, passed + delay - time.monotonic()))
        time.sleep(slow)
        with self._lock:  # before the answer is sent: a client that has it sees its record
            entry.status = response.status
            entry.error = _error_code(req, response)
        return response

    def _take_fault(self, action: str, account: str) -> _FailRule | None:
        chosen: _FailRule | None = None
        for rule in self._faults:
            if not rule.matches(action, account):
                continue
            if rule.skip:
                rule.skip -= 1
            elif chosen is None:
                rule.remaining -= 1
                chosen = rule
        self._faults = [r for r in self._faults if r.remaining > 0]
        return chosen

    def _pass_gate(self, action: str) -> None:
        with self._gate:
            if not self._is_held(action):
                return
            self._waiting[action] = self._waiting.get(action, 0) + 1
            self._gate.notify_all()
            try:
                self._gate.wait_for(lambda: not self._is_held(action))
            finally:
                self._waiting[action] -= 1
                if not self._waiting[action]:
                    del self._waiting[action]

    def _is_held(self, action: str) -> bool:
        return None in self._held or action in self._held

    def _dispatch(self, req: _Request) -> _Response:
        if req.service == "moto" and req.action == "/moto-api/reset":
            self._forget_accounts()
        handler = self._handlers.get((req.service, req.action))
        if handler is not None:
            response = handler(req)
        elif req.service == "iam" and req.action in PAGED_ACTIONS and self._should_page(req):
            response = self._paged(req)
        else:
            response = self._forward(req)
        if req.service == "iam" and req.action in _USER_PATHS and response.status == 200:
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

    def _forward(self, req: _Request, body: bytes | None = None) -> _Response:
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
            return _Response(upstream.status, kept, data)
        raise AssertionError("unreachable")

    def _forward_query(self, req: _Request, params: Mapping[str, Any]) -> _Response:
        fields = {"Action": req.action, "Version": req.version, **params}
        return self._forward(req, urlencode(fields).encode())

    def _moto_has(self, account: str, action: str, result_key: str, **params: Any) -> bool:
        """Whether a paged moto list of ``account`` has any item, asked of moto directly."""
        paginator = self._iam(account).get_paginator(xform_name(action))
        return any(page.get(result_key) for page in paginator.paginate(**params))

    def _user_exists(self, account: str, user_name: str) -> bool:
        try:
            self._iam(account).get_user(UserName=user_name)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "NoSuchEntity":
                return False
            raise
        return True

    # --- faithful rules: deletions ----------------------------------------------------------

    def _delete_user(self, req: _Request) -> _Response:
        user = str(req.params.get("UserName", ""))
        if user and self._user_exists(req.account, user):  # unknown: moto's NoSuchEntity
            blocker = self._user_blocker(req.account, user)
            if blocker is not None:
                return _error(req, "DeleteConflict", f"Cannot delete entity, {blocker}.", 409)
        response = self._forward(req)
        if response.status == 200:
            state = self._state(req.account)
            with self._lock:
                state.boundaries.pop(user, None)
        return response

    def _user_blocker(self, account: str, user: str) -> str | None:
        """IAM's reason to refuse deleting ``user`` of ``account`` (the first one), or None."""
        try:
            self._iam(account).get_login_profile(UserName=user)
            return "must delete login profile first"
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "NoSuchEntity":
                raise
        state = self._state(account)
        for action, result_key, blocker in _USER_ATTACHMENTS:
            if not action:
                with self._lock:
                    if any(c.user_name == user for c in state.credentials.values()):
                        return blocker
            elif self._moto_has(account, action, result_key, UserName=user):
                return blocker
        return None

    def _delete_virtual_mfa_device(self, req: _Request) -> _Response:
        serial = req.params.get("SerialNumber", "")
        paginator = self._iam(req.account).get_paginator("list_virtual_mfa_devices")
        for page in paginator.paginate(AssignmentStatus="Assigned"):
            for device in page.get("VirtualMFADevices", []):
                if device["SerialNumber"] == serial and device.get("User"):
                    return _error(req, "DeleteConflict", "MFA device is still in use.", 409)
        return self._forward(req)

    # --- permissions boundaries of users (moto has none: HTML 500) ------------------------

    def _boundary_problem(self, req: _Request, arn: str) -> _Response | None:
        """IAM's error for a boundary that is no existing managed policy, or None."""
        if not re.fullmatch(r"arn:aws:iam::(aws|\d{12}):policy/.+", arn):
            message = f"Value ({arn}) for parameter PermissionsBoundary is invalid."
            return _error(req, "InvalidInput", message, 400)
        try:
            self._iam(req.account).get_policy(PolicyArn=arn)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "NoSuchEntity":
                raise
            message = f"Scope ARN: {arn} does not exist or is not attachable."
            return _error(req, "NoSuchEntity", message, 404)
        return None

    def _put_boundary(self, req: _Request) -> _Response:
        user = str(req.params.get("UserName", ""))
        arn = str(req.params.get("PermissionsBoundary", ""))
        if not self._user_exists(req.account, user):
            return _no_such_user(req, user)
        problem = self._boundary_problem(req, arn)
        if problem is not None:
            return problem
        state = self._state(req.account)
        with self._lock:
            state.boundaries[user] = arn
        return _result(req, None)

    def _delete_boundary(self, req: _Request) -> _Response:
        user = str(req.params.get("UserName", ""))
        if not self._user_exists(req.account, user):
            return _no_such_user(req, user)
        state = self._state(req.account)
        with self._lock:
            state.boundaries.pop(user, None)
        return _result(req, None)

    # --- login profiles: moto drops PasswordResetRequired on create, and an update without
    # a new password deletes the password altogether -----------------------------------------

    def _create_login_profile(self, req: _Request) -> _Response:
        response = self._forward(req)
        if response.status == 200:
            reset = req.params.get("PasswordResetRequired", "false").lower() == "true"
            user = self._iam_backend(req.account).users[req.params["UserName"]]
            user.password_reset_required = reset
        return response

    def _update_login_profile(self, req: _Request) -> _Response:
        if "Password" in req.params:
            return self._forward(req)
        user = self._iam_backend(req.account).users.get(req.params.get("UserName", ""))
        if user is None or not user.password:
            return _error(req, "NoSuchEntity", "Login profile not found.", 404)
        if "PasswordResetRequired" in req.params:
            user.password_reset_required = req.params["PasswordResetRequired"].lower() == "true"
        return _result(req, None)

    def _create_user(self, req: _Request) -> _Response:
        """CreateUser, keeping the PermissionsBoundary moto ignores."""
        arn = str(req.params.get("PermissionsBoundary") or "")
        if arn:
            problem = self._boundary_problem(req, arn)
            if problem is not None:
                return problem
        response = self._forward(req)
        if arn and response.status == 200:
            state = self._state(req.account)
            with self._lock:
                state.boundaries[str(req.params.get("UserName", ""))] = arn
        return response

    def _show_boundaries(self, req: _Request, response: _Response) -> _Response:
        """Put each user's PermissionsBoundary into an answer that shows users (IAM does)."""
        state = self._state(req.account)
        with self._lock:
            boundaries = dict(state.boundaries)
        root = ET.fromstring(response.body)
        ns = f"{{{IAM_NS}}}"
        users = root.findall(ns + _USER_PATHS[req.action].replace("/", "/" + ns))
        changed = False
        for user in users:
            old = user.find(ns + "PermissionsBoundary")
            if old is not None:
                user.remove(old)  # moto writes an empty one in some answers
                changed = True
            arn = boundaries.get(user.findtext(ns + "UserName") or "")
            if arn:
                boundary = ET.SubElement(user, ns + "PermissionsBoundary")
                _sub(boundary, ns + "PermissionsBoundaryType", "PermissionsBoundaryPolicy")
                _sub(boundary, ns + "PermissionsBoundaryArn", arn)
                changed = True
        if not changed:
            return response
        body = ET.tostring(root, encoding="unicode", default_namespace=IAM_NS).encode()
        return _Response(response.status, response.headers, body)

    # --- faithful rules: access keys of other accounts ------------------------------------

    def _key_account(self, key_id: str) -> str | None:
        """The account owning ``key_id``: a ``foreign_keys`` one, else moto's; None: unknown."""
        with self._lock:
            foreign = self.foreign_keys.get(key_id)
        if foreign is not None:
            return foreign
        owner = key_owner(key_id)
        return owner[0] if owner else None

    def _access_key_last_used(self, req: _Request) -> _Response:
        key_id = req.params.get("AccessKeyId", "")
        if self._key_account(key_id) not in (None, req.account):
            message = (
                f"User: {req.session.principal} is not authorized to perform: "
                f"iam:GetAccessKeyLastUsed on resource: access key {key_id}"
            )
            return _error(req, "AccessDenied", message, 403)
        return self._forward(req)

    def _access_key_info(self, req: _Request) -> _Response:
        account = self._key_account(req.params.get("AccessKeyId", ""))
        if account is None:
            return self._forward(req)  # moto answers the calling account
        result = ET.Element("GetAccessKeyInfoResult")
        _sub(result, "Account", account)
        return _result(req, result)

    # --- credential report: moto's has a fixed 2015 GeneratedTime and no root row ----------

    def _generate_report(self, req: _Request) -> _Response:
        """IAM builds the report once and serves that snapshot until a new one is due (four
        hours); moto rebuilds it on every fetch. Build it here, at generation, as IAM does."""
        response = self._forward(req)
        state = self._state(req.account)
        with self._lock:
            now = self._clock()
            last = state.report_generated
            due = last is None or now - last > timedelta(hours=4)
            if due:
                state.report_generated = now
        if due and response.status == 200:
            built = self._forward_query(dataclasses.replace(req, action="GetCredentialReport"), {})
            with self._lock:
                state.report = (
                    _with_root(built, state.root, req.account, now) if built.status == 200 else None
                )
        return response

    def _credential_report(self, req: _Request) -> _Response:
        state = self._state(req.account)
        with self._lock:
            report = state.report
        if report is None:
            return _error(req, "ReportNotPresent", "Credential report is not present.", 410)
        return report

    # --- faithful rules: AssumeRole (moto checks nothing and forgets identity and tags) ----

    def _assume_role(self, req: _Request) -> _Response:
        """STS's checks (see :func:`assume_role_problem`), then moto's session, remembered
        with the source identity and tags moto drops."""
        ask = AssumeRole.from_params(req.params)
        problem = assume_role_problem(req.session, ask)
        if problem is not None:
            return _error(req, *problem)
        response = self._forward(req)
        if response.status != 200:
            return response
        root = ET.fromstring(response.body)
        ns = f"{{{STS_NS}}}"
        session = ask.session(req.session, ask.role_arn.split(":")[4])
        self._sessions.record(root.findtext(f".//{ns}AccessKeyId") or "", session)
        result = root.find(f"{ns}AssumeRoleResult")
        if session.source_identity is None or result is None:
            return response
        _sub(result, ns + "SourceIdentity", session.source_identity)  # STS answers it back
        body = ET.tostring(root, encoding="unicode", default_namespace=STS_NS).encode()
        return _Response(200, response.headers, body)

    # --- faithful rules: service-specific credentials --------------------------------------

    def _credential_owner(self, req: _Request) -> tuple[str | None, _Response | None]:
        """Whose credentials a call is about: UserName, else the calling user (None: root)."""
        user = str(req.params.get("UserName") or "")
        if user:
            if not self._user_exists(req.account, user):
                return None, _no_such_user(req, user)
            return user, None
        if not req.access_key:
            return None, None
        try:
            caller = self._iam(req.account).get_access_key_last_used(AccessKeyId=req.access_key)
        except ClientError:
            return None, None  # dummy credentials: root, which has none of its own
        return caller.get("UserName"), None

    def _create_credential(self, req: _Request) -> _Response:
        user = str(req.params.get("UserName", ""))
        service = str(req.params.get("ServiceName", ""))
        if not self._user_exists(req.account, user):
            return _no_such_user(req, user)
        if service not in SSC_SERVICES:
            message = f"The specified service {service} is not supported."
            return _error(req, "NotSupportedService", message, 404)
        now = datetime.now(UTC).replace(microsecond=0)
        age = req.params.get("CredentialAgeDays")
        api_key = service == "bedrock.amazonaws.com"
        cred = _ServiceCredential(
            cred_id="ACCA" + _random_id(17),
            user_name=user,
            service=service,
            status="Active",
            created=now,
            expires=now + timedelta(days=int(age)) if age else None,
            login=(
                f"BedrockAPIKey-{_random_id(4).lower()}-at-{req.account}"
                if api_key
                else f"{user}-at-{req.account}"
            ),
            secret=_new_secret(api_key),
        )
        state = self._state(req.account)
        with self._lock:
            mine = [
                c
                for c in state.credentials.values()
                if c.user_name == user and c.service == service
            ]
            if len(mine) >= SSC_LIMIT_PER_SERVICE:
                message = (
                    "Cannot exceed quota for ServiceSpecificCredentialsPerUserPerService: "
                    f"{SSC_LIMIT_PER_SERVICE}"
                )
                return _error(req, "LimitExceeded", message, 409)
            state.credentials[cred.cred_id] = cred
        return _credential_result(req, cred)

    def _list_credentials(self, req: _Request) -> _Response:
        all_users = str(req.params.get("AllUsers", "")).lower() == "true"
        user: str | None = None
        if not all_users:
            user, problem = self._credential_owner(req)
            if problem is not None:
                return problem
        service = req.params.get("ServiceName")
        state = self._state(req.account)
        with self._lock:
            creds = [
                c
                for c in state.credentials.values()
                if (all_users or (user is not None and c.user_name == user))
                and (not service or c.service == service)
            ]
        bounds = self._page_bounds(req, len(creds))
        if isinstance(bounds, _Response):
            return bounds
        start, end = bounds
        result = ET.Element(f"{req.action}Result")
        members = ET.SubElement(result, "ServiceSpecificCredentials")
        for cred in creds[start:end]:
            _credential_xml(ET.SubElement(members, "member"), cred, with_secret=False)
        _set_truncation(result, req.action, end, len(creds), namespace="")
        return _result(req, result)

    def _owned_credential(self, req: _Request) -> tuple[_ServiceCredential | None, _Response]:
        """The credential a call names, or (None, the error to answer)."""
        user, problem = self._credential_owner(req)
        if problem is not None:
            return None, problem
        cred_id = str(req.params.get("ServiceSpecificCredentialId", ""))
        state = self._state(req.account)
        with self._lock:
            cred = state.credentials.get(cred_id)
        missing = _error(
            req, "NoSuchEntity", f"The Service Specific Credential {cred_id} cannot be found.", 404
        )
        if cred is None or cred.user_name != user:
            return None, missing
        return cred, missing

    def _delete_credential(self, req: _Request) -> _Response:
        cred, problem = self._owned_credential(req)
        if cred is None:
            return problem
        state = self._state(req.account)
        with self._lock:
            state.credentials.pop(cred.cred_id, None)
        return _result(req, None)

    def _reset_credential(self, req: _Request) -> _Response:
        cred, problem = self._owned_credential(req)
        if cred is None:
            return problem
        with self._lock:
            cred.secret = _new_secret(cred.is_api_key)
        return _credential_result(req, cred)

    def _update_credential(self, req: _Request) -> _Response:
        status = req.params.get("Status", "")
        if status not in ("Active", "Inactive"):
            message = (
                f"1 validation error detected: Value '{status}' at 'status' failed to satisfy "
                "constraint: Member must satisfy enum value set: [Active, Inactive]"
            )
            return _error(req, "ValidationError", message, 400)
        cred, problem = self._owned_credential(req)
        if cred is None:
            return problem
        with self._lock:
            cred.status = status
        return _result(req, None)

    # --- faithful rules: pagination ---------------------------------------------------------

    def _describe_secret(self, req: _Request) -> _Response:
        """moto's answer, with a KMS key given by alias name shown as its alias ARN."""
        response = self._forward(req)
        if response.status != 200:
            return response
        secret = json.loads(response.body)
        key = secret.get("KmsKeyId") or ""
        if key.startswith("alias/"):
            region, account = secret["ARN"].split(":")[3:5]
            secret["KmsKeyId"] = f"arn:aws:kms:{region}:{account}:{key}"
        return _Response(response.status, response.headers, json.dumps(secret).encode())

    def _should_page(self, req: _Request) -> bool:
        return (
            self._page_size is not None
            or req.action == "ListUsers"
            or "MaxItems" in req.params
            or _decode_marker(req.params.get("Marker"), req.action) is not None
        )

    def _page_bounds(self, req: _Request, total: int) -> tuple[int, int] | _Response:
        """The slice [start, end) of a ``total``-item list that this request's page covers."""
        start = 0
        marker = req.params.get("Marker")
        if marker:
            decoded = _decode_marker(marker, req.action)
            if decoded is None:
                return _error(req, "InvalidInput", "Invalid Marker.", 400)
            start = decoded
        max_items = _IAM_DEFAULT_MAX_ITEMS
        if "MaxItems" in req.params:
            try:
                max_items = int(req.params["MaxItems"])
            except ValueError:
                max_items = 0
            if not 1 <= max_items <= 1000:
                message = "Value for MaxItems must be between 1 and 1000."
                return _error(req, "ValidationError", message, 400)
        size = min(max_items, self._page_size or max_items)
        return start, min(start + size, total)

    def _paged(self, req: _Request) -> _Response:
        """The whole list from moto (following moto's own markers, if any), cut to one page."""
        params = {k: v for k, v in req.params.items() if k not in ("Marker", "MaxItems")}
        response = self._forward_query(req, params)
        if response.status != 200:
            return response
        ns = f"{{{IAM_NS}}}"
        root = ET.fromstring(response.body)
        result = root.find(f"{ns}{req.action}Result")
        if result is None:
            return response
        names = PAGED_ACTIONS[req.action]
        lists = {name: result.find(ns + name) for name in names}
        moto_marker = _moto_marker(result, ns)
        while moto_marker:
            more = self._forward_query(req, {**params, "Marker": moto_marker})
            more_result = ET.fromstring(more.body).find(f"{ns}{req.action}Result")
            if more.status != 200 or more_result is None:
                return more
            for name in names:
                extra = more_result.find(ns + name)
                if extra is None:
                    continue
                if lists[name] is None:
                    lists[name] = ET.SubElement(result, ns + name)
                lists[name].extend(list(extra))  # type: ignore[union-attr]
            moto_marker = _moto_marker(more_result, ns)
        items = [(lst, m) for name in names if (lst := lists[name]) is not None for m in list(lst)]
        bounds = self._page_bounds(req, len(items))
        if isinstance(bounds, _Response):
            return bounds
        start, end = bounds
        for index, (lst, member) in enumerate(items):
            if not start <= index < end:
                lst.remove(member)
        _set_truncation(result, req.action, end, len(items), namespace=ns)
        body = ET.tostring(root, encoding="unicode", default_namespace=IAM_NS).encode()
        return _Response(200, response.headers, body)


# --- helpers ----------------------------------------------------------------------------------


def _parse(method: str, path: str, headers: list[tuple[str, str]], body: bytes) -> _Request:
    """Service, action and parameters of a request, whichever protocol it speaks."""
    lower = {k.lower(): v for k, v in headers}
    scope = _SCOPE.search(lower.get("authorization", ""))
    access_key, service = (scope.group(1), scope.group(2)) if scope else ("", "")
    url = urlsplit(path)
    if url.path.startswith("/moto-api"):
        return _Request(method, path, headers, body, "moto", url.path, {}, "raw")
    target = lower.get("x-amz-target")
    if target:
        prefix, _, action = target.rpartition(".")
        try:
            params = json.loads(body) if body else {}
        except ValueError:
            params = {}
        if not isinstance(params, dict):
            params = {}
        service = service or prefix.lower()
        return _Request(
            method, path, headers, body, service, action, params, "json", access_key=access_key
        )
    fields = dict(parse_qsl(url.query, keep_blank_values=True))
    if lower.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        fields.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    action = fields.pop("Action", "")
    version = fields.pop("Version", "")
    service = service or _VERSION_SERVICE.get(version, "")
    return _Request(
        method=method,
        path=path,
        headers=headers,
        body=body,
        service=service,
        action=action or url.path,
        params=fields,
        protocol="query" if action else "raw",
        version=version,
        access_key=access_key,
    )


def _redact(params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` with the value of every secret-bearing parameter replaced."""
    out: dict[str, Any] = {}
    for name, value in params.items():
        if _is_secret(name):
            out[name] = REDACTED
        elif isinstance(value, Mapping):
            out[name] = _redact(value)
        elif isinstance(value, list):
            out[name] = [_redact(v) if isinstance(v, Mapping) else v for v in value]
        else:
            out[name] = value
    return out


def _is_secret(name: str) -> bool:
    leaf = name.rsplit(".", 1)[-1].lower()
    return ("password" in leaf and not leaf.endswith("required")) or leaf in _SECRET_PARAMS


def _error(req: _Request, code: str, message: str, status: int) -> _Response:
    """An error in the shape of the request's protocol: IAM/STS XML, or JSON."""
    request_id = str(uuid.uuid4())
    if req.protocol == "json":
        body = json.dumps({"__type": code, "message": message}).encode()
        headers = [
            ("Content-Type", "application/x-amz-json-1.1"),
            ("x-amzn-RequestId", request_id),
            ("x-amzn-ErrorType", code),
        ]
        return _Response(status, headers, body)
    root = ET.Element("ErrorResponse", xmlns=_NAMESPACES.get(req.service, IAM_NS))
    error = ET.SubElement(root, "Error")
    _sub(error, "Type", "Sender" if status < 500 else "Receiver")
    _sub(error, "Code", code)
    _sub(error, "Message", message)
    _sub(root, "RequestId", request_id)
    return _xml_response(status, root, request_id)


def _error_code(req: _Request, response: _Response) -> str | None:
    if response.status < 400:
        return None
    if req.protocol == "json":
        for name, value in response.headers:
            if name.lower() == "x-amzn-errortype":
                return value.split(":", 1)[0]
        try:
            return str(json.loads(response.body).get("__type", "")).rpartition("#")[2] or None
        except (ValueError, AttributeError):
            return None
    found = re.search(rb"<Code>([^<]+)</Code>", response.body)
    return found.group(1).decode() if found else None


def _result(req: _Request, result: ET.Element | None) -> _Response:
    """A successful query-protocol answer around ``result`` (None: no result element)."""
    request_id = str(uuid.uuid4())
    root = ET.Element(f"{req.action}Response", xmlns=_NAMESPACES.get(req.service, IAM_NS))
    if result is not None:
        root.append(result)
    _sub(ET.SubElement(root, "ResponseMetadata"), "RequestId", request_id)
    return _xml_response(200, root, request_id)


def _xml_response(status: int, root: ET.Element, request_id: str) -> _Response:
    body = ET.tostring(root, encoding="unicode").encode()
    return _Response(status, [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)], body)


def _sub(parent: ET.Element, tag: str, text: str) -> ET.Element:
    child = ET.SubElement(parent, tag)
    child.text = text
    return child


def _no_such_user(req: _Request, user: str) -> _Response:
    return _error(req, "NoSuchEntity", f"The user with name {user} cannot be found.", 404)


def _with_root(
    response: _Response, root: RootAccount, account_id: str, generated: datetime
) -> _Response:
    """moto's credential report with the root user's row and the real generation time."""
    tree = ET.fromstring(response.body)
    ns = f"{{{IAM_NS}}}"
    content = tree.find(f".//{ns}Content")
    lines = base64.b64decode(content.text or "").decode().splitlines()
    rows = [lines[0], root.row(lines[0], account_id), *lines[1:]]
    content.text = base64.b64encode("\n".join(rows).encode()).decode()
    tree.find(f".//{ns}GeneratedTime").text = generated.strftime("%Y-%m-%dT%H:%M:%SZ")
    return _Response(200, response.headers, ET.tostring(tree, encoding="unicode").encode())


def _credential_result(req: _Request, cred: _ServiceCredential) -> _Response:
    result = ET.Element(f"{req.action}Result")
    _credential_xml(ET.SubElement(result, "ServiceSpecificCredential"), cred, with_secret=True)
    return _result(req, result)


def _credential_xml(parent: ET.Element, cred: _ServiceCredential, *, with_secret: bool) -> None:
    """A ServiceSpecificCredential (with its secret) or its metadata (without)."""
    _sub(parent, "CreateDate", _iso(cred.created))
    if cred.expires is not None:
        _sub(parent, "ExpirationDate", _iso(cred.expires))
    _sub(parent, "ServiceName", cred.service)
    if cred.is_api_key:
        _sub(parent, "ServiceCredentialAlias", cred.login)
        if with_secret:
            _sub(parent, "ServiceCredentialSecret", cred.secret)
    else:
        _sub(parent, "ServiceUserName", cred.login)
        if with_secret:
            _sub(parent, "ServicePassword", cred.secret)
    _sub(parent, "ServiceSpecificCredentialId", cred.cred_id)
    _sub(parent, "UserName", cred.user_name)
    _sub(parent, "Status", cred.status)


def _set_truncation(
    result: ET.Element, action: str, end: int, total: int, *, namespace: str
) -> None:
    """Set IsTruncated, and a Marker when more follows, on a result element."""
    for tag in ("IsTruncated", "Marker"):
        for old in result.findall(namespace + tag):
            result.remove(old)
    truncated = end < total
    _sub(result, namespace + "IsTruncated", "true" if truncated else "false")
    if truncated:
        _sub(result, namespace + "Marker", _encode_marker(action, end))


def _moto_marker(result: ET.Element, ns: str) -> str | None:
    truncated = (result.findtext(ns + "IsTruncated") or "").strip().lower() == "true"
    marker = result.findtext(ns + "Marker")
    return marker if truncated and marker else None


def _encode_marker(action: str, offset: int) -> str:
    raw = json.dumps({"a": action, "o": offset}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode()


def _decode_marker(marker: Any, action: str) -> int | None:
    """The offset in one of this proxy's markers for ``action``; None if not one of ours."""
    if not isinstance(marker, str) or not marker:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(marker.encode()))
    except (ValueError, binascii.Error):
        return None
    if not isinstance(data, dict) or data.get("a") != action:
        return None
    offset = data.get("o")
    return offset if isinstance(offset, int) and offset >= 0 else None


def _random_id(length: int) -> str:
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))


def _new_secret(api_key: bool) -> str:
    token = base64.b64encode(secrets.token_bytes(33)).decode()
    return f"ABSK{token}" if api_key else token


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _naive_utc(when: datetime) -> datetime:
    """moto keeps naive UTC datetimes; naive input is taken to be UTC already."""
    if when.tzinfo is None:
        return when
    return when.astimezone(UTC).replace(tzinfo=None)


_NEWEST_BUNDLED_QUARANTINE = "AWSCompromisedKeyQuarantineV3"


@functools.cache
def _aws_managed_policies() -> dict[str, Any]:
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    data: dict[str, Any] = json.loads(aws_managed_policies_data)
    return data
