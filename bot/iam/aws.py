"""The single gateway through which the bot talks to AWS.

Every AWS request goes through :meth:`Aws.call`, :meth:`Aws.pages` or :meth:`Aws.items` with
the operation written as a literal, so that :mod:`bot.iam.bot_policy` can read the exact set of
actions the bot needs from the source. Retries are botocore's (standard mode), pagination is
botocore's paginators, and errors leave this module only as :mod:`bot.iam.errors` types. Every
attempt (a retry is one more) is reported to the hooks given to :meth:`Aws.watch`: the metrics.

Every call acts in the account and for the person of the current scope
(:mod:`bot.iam.sessions`): the gateway assumes that account's role with the person as the
session's ``SourceIdentity``, and keeps the session's clients until shortly before its
credentials expire. With ``attributed`` set (an ``accounts:`` config), a change to AWS made with
nobody in scope is refused outright, so no change can reach CloudTrail unattributed.
"""

from __future__ import annotations

import contextvars
import functools
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import boto3
from botocore import xform_name
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from botocore.paginate import Paginator

from bot.iam import errors
from bot.iam.sessions import Actor, current
from bot.process_settings import AWS_CONNECT_TIMEOUT_S, AWS_READ_TIMEOUT_S, DEFAULT_WORKERS

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")
# (service, operation, outcome): outcome is "ok", "throttled" or "error"
AttemptHook = Callable[[str, str, str], None]

# IAM's list operations all page the same way; botocore only ships a paginator for most of them.
_IAM_MARKER_PAGING = {
    "input_token": "Marker",
    "output_token": "Marker",
    "more_results": "IsTruncated",
    "limit_key": "MaxItems",
}

_NOT_FOUND = {"NoSuchEntity", "NoSuchEntityException", "ResourceNotFoundException"}
_CONFLICT = {
    "DeleteConflict",
    "EntityAlreadyExists",
    "ConcurrentModification",
    "EntityTemporarilyUnmodifiable",
    "ResourceExistsException",
    "InvalidRequestException",
}
_LIMIT = {"LimitExceeded", "LimitExceededException"}
_DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "InvalidClientTokenId"}
_THROTTLED = {
    "Throttling",
    "ThrottlingException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
}
_INVALID = {"ValidationError", "InvalidInput", "MalformedPolicyDocument", "PasswordPolicyViolation"}
# Operations that only read, by verb; every other operation changes something.
_READS = ("Get", "List", "Describe", "Generate", "Simulate")
# An assumed session is given up this long before its credentials expire.
_SESSION_SECONDS = 900
_SESSION_MARGIN = 120
_MAX_SESSIONS = 256
# A boto3 session is not thread-safe: its clients are made one at a time, whichever gateway asks.
_MAKING = threading.Lock()


@functools.cache
def process_session() -> boto3.Session:
    """The process's one boto3 session, which every gateway and the store's client share. A
    session reads and parses botocore's JSON models (IAM's, the endpoint rules) the first time
    one of its clients needs them: a session per gateway read them again for Lambda's second
    gateway on a cold start, for the DynamoDB store's, and for each bot a test starts."""
    return boto3.Session()


def region(session: boto3.Session) -> str:
    """The region every client uses: ``AWS_REGION`` (what the documentation, Lambda and ECS
    set), then ``AWS_DEFAULT_REGION`` and the profile (what botocore reads), then us-east-1
    (where IAM and its CloudTrail events live). botocore alone ignores ``AWS_REGION``."""
    return os.environ.get("AWS_REGION") or session.region_name or "us-east-1"


def changes_state(operation: str) -> bool:
    return not operation.startswith(_READS)


def attempt_outcome(response: tuple[Any, dict[str, Any]] | None, caught: Exception | None) -> str:
    """How one HTTP attempt ended, from botocore's ``needs-retry`` event: no answer at all
    (connection failure, timeout) is an error."""
    if caught is not None or response is None:
        return "error"
    http, parsed = response
    if str(parsed.get("Error", {}).get("Code", "")) in _THROTTLED or http.status_code == 429:
        return "throttled"
    return "ok" if http.status_code < 300 else "error"


def translate(exc: Exception, service: str, operation: str) -> errors.IamError:
    """Map a botocore failure to the domain error a person can act on."""
    action = f"{service}:{operation}"
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        code = str(err.get("Code", ""))
        message = str(err.get("Message", "")) or code
        if code in _NOT_FOUND:
            return errors.NotFound(message, code=code, operation=operation)
        if code in _DENIED:
            return errors.AccessDenied(message, action=action, code=code, account=_acting_in())
        if code in _CONFLICT:
            return errors.Conflict(message, code=code, operation=operation)
        if code in _LIMIT:
            return errors.LimitExceeded(message, code=code, operation=operation)
        if code in _THROTTLED:
            return errors.Throttled(message, code=code, operation=operation)
        if code in _INVALID:
            return errors.InvalidInput(message, code=code, operation=operation)
        return errors.Unavailable(message, code=code, operation=operation)
    return errors.Unavailable(type(exc).__name__, code=type(exc).__name__, operation=operation)


def _acting_in() -> str:
    """The account the current call acts in through a role, "" with the bot's own credentials."""
    scope = current()
    return scope.account.label if scope and scope.account.role_arn else ""


@dataclass
class _RoleSession:
    """An assumed role's credentials (until ``expiry``, monotonic) and its clients by service."""

    expiry: float
    credentials: dict[str, str] = field(repr=False)
    clients: dict[tuple[str, str], Any] = field(default_factory=dict)  # by service and region


class Aws:
    """boto3 clients with the bot's retry policy, pagination and a bounded pool for fan-out.

    Low-level boto3 clients are thread-safe, so one client per service serves every thread.
    """

    def __init__(
        self,
        session: boto3.Session | None = None,
        *,
        max_workers: int = DEFAULT_WORKERS,
        max_attempts: int = 5,
        retry_mode: str = "standard",
        attributed: bool = False,
    ) -> None:
        self._session = session or process_session()
        self.region = region(self._session)
        self._attributed = attributed
        self._config = Config(
            retries={"mode": retry_mode, "total_max_attempts": max_attempts},
            # one connection for each thread that may call at once: as many answers as
            # fan-out threads (build_app sizes both from one setting), and the fan-out's own
            max_pool_connections=max(10, max_workers * 2),
            connect_timeout=AWS_CONNECT_TIMEOUT_S,
            read_timeout=AWS_READ_TIMEOUT_S,
        )
        self._clients: dict[tuple[str, str], Any] = {}
        self._sessions: dict[tuple[str, Actor | None], _RoleSession] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="aws")
        self._in_pool = threading.local()
        self._hooks: list[AttemptHook] = []
        self._checks: list[Callable[[], None]] = []

    def watch(self, hook: AttemptHook) -> None:
        """Call ``hook`` after every HTTP attempt of every client, retries included."""
        self._hooks.append(hook)

    def check_each_attempt(self, check: Callable[[], None]) -> None:
        """Call ``check`` before every HTTP attempt of every client, retries included; what it
        raises ends the call there, unsent. A call being retried can outlive the right to make
        it (another replica took the run over): the next attempt is where that is seen."""
        self._checks.append(check)

    def _before_send(self, **_: Any) -> None:
        """botocore's ``before-send`` event; returns None, so the attempt is sent."""
        for check in self._checks:
            check()

    def _attempted(
        self, operation: Any, response: Any = None, caught_exception: Any = None, **_: Any
    ) -> None:
        """botocore's ``needs-retry`` event, emitted after each attempt; returns None, which
        leaves the retry decision to the retry mode."""
        outcome = attempt_outcome(response, caught_exception)
        for hook in self._hooks:
            hook(operation.service_model.service_name, operation.name, outcome)

    def _new_client(
        self, service: str, region: str, credentials: dict[str, str] | None = None
    ) -> Any:
        """A client from the bot's one boto3 session, with a role session's credentials when
        given: one session's loaded models serve every client, where a session per role would
        load them all again."""
        with _MAKING:
            client = self._session.client(
                service, region_name=region, config=self._config, **(credentials or {})
            )
        client.meta.events.register("needs-retry", self._attempted)
        client.meta.events.register("before-send", self._before_send)
        return client

    def _own_client(self, service: str, region: str | None = None) -> Any:
        """A client with the bot's own credentials (its central role)."""
        where = (service, region or self.region)
        with self._lock:
            if where not in self._clients:
                self._clients[where] = self._new_client(*where)
            return self._clients[where]

    def client(self, service: str, operation: str = "", region: str | None = None) -> Any:
        """The client for the current scope: the bot's own, or the scope's assumed session.
        ``operation`` names the call it is for (a client asked for without one is the bot's
        own plumbing, such as Bolt's Lambda re-invocation, and acts as the bot); ``region``
        where it is sent (None: the bot's region; CloudTrail keeps each region's apart)."""
        scope = current()
        unattributed = scope is None or not scope.actor
        if self._attributed and operation and changes_state(operation) and unattributed:
            raise RuntimeError(f"{service}:{operation} would change AWS with nobody in scope")
        if scope is None or scope.account.role_arn is None:
            return self._own_client(service, region)
        return self._session_client(scope.account.role_arn, scope.actor, service, region)

    def _session_client(
        self, role_arn: str, actor: Actor | None, service: str, region: str | None = None
    ) -> Any:
        key = (role_arn, actor)
        with self._lock:
            session = self._sessions.get(key)
        if session is None or session.expiry <= time.monotonic():
            session = _RoleSession(
                time.monotonic() + _SESSION_SECONDS - _SESSION_MARGIN, self._assume(role_arn, actor)
            )
            with self._lock:
                if len(self._sessions) >= _MAX_SESSIONS:
                    self._sessions.pop(next(iter(self._sessions)))
                self._sessions[key] = session
        where = (service, region or self.region)
        with self._lock:
            if where not in session.clients:
                session.clients[where] = self._new_client(*where, session.credentials)
            return session.clients[where]

    def _assume(self, role_arn: str, actor: Actor | None) -> dict[str, str]:
        """Credentials in ``role_arn``'s account, their source identity the actor (the trust
        policy of the bot's roles refuses a session without one)."""
        params: dict[str, Any] = {
            "RoleArn": role_arn,
            "RoleSessionName": actor.session_name if actor else "iam-bot",
            "DurationSeconds": _SESSION_SECONDS,
        }
        if actor:
            params["SourceIdentity"] = actor.source_identity
            if tags := actor.session_tags():
                params["Tags"] = tags
        try:
            answer = self._own_client("sts").assume_role(**params)["Credentials"]
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, "sts", "AssumeRole") from exc
        return {
            "aws_access_key_id": answer["AccessKeyId"],
            "aws_secret_access_key": answer["SecretAccessKey"],
            "aws_session_token": answer["SessionToken"],
        }

    def call(
        self, service: str, operation: str, *, region: str | None = None, **params: Any
    ) -> dict[str, Any]:
        """One AWS request; ``operation`` is the API name, e.g. ``"ListAccessKeys"``; sent to
        ``region`` (None: the bot's own)."""
        client = self.client(service, operation, region)
        method = getattr(client, xform_name(operation))
        try:
            return method(**params)
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, service, operation) from exc

    def pages(
        self,
        service: str,
        operation: str,
        result_key: str,
        *,
        region: str | None = None,
        **params: Any,
    ) -> Iterator[dict[str, Any]]:
        """Every page of a paged list, following markers to the end; sent to ``region``
        (None: the bot's own)."""
        client = self.client(service, operation, region)
        name = xform_name(operation)
        if client.can_paginate(name):
            paginator = client.get_paginator(name)
        else:
            paginator = Paginator(
                getattr(client, name),
                {**_IAM_MARKER_PAGING, "result_key": result_key},
                client.meta.service_model.operation_model(operation),
            )
        try:
            yield from paginator.paginate(**params)
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, service, operation) from exc

    def items(
        self,
        service: str,
        operation: str,
        result_key: str,
        *,
        region: str | None = None,
        **params: Any,
    ) -> Iterator[Any]:
        """Every item of a paged list; nothing stops silently at the first page."""
        for page in self.pages(service, operation, result_key, region=region, **params):
            yield from page.get(result_key, [])

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
        """Run independent calls concurrently on the bounded pool, results in input order.

        Called from inside the pool (a fanned-out task fanning out again) it runs inline, so a
        nested fan-out can never deadlock the pool.
        """
        items = list(items)
        if len(items) <= 1 or getattr(self._in_pool, "active", False):
            return [fn(item) for item in items]

        def run(item: T, context: contextvars.Context) -> R:
            self._in_pool.active = True
            try:
                return context.run(fn, item)  # in the caller's scope: same account, same person
            finally:
                self._in_pool.active = False

        contexts = [contextvars.copy_context() for _ in items]
        return list(self._pool.map(run, items, contexts))

    def run_all(self, *thunks: Callable[[], Any]) -> list[Any]:
        """Run unrelated zero-argument calls concurrently (e.g. the lists of an inventory)."""
        return self.map(lambda thunk: thunk(), thunks)
