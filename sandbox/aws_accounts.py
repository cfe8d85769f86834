"""Accounts and sessions for the faithful layer (see ``sandbox/aws.py``'s module docstring).

moto keeps one state per account and lets temporary credentials act in the assumed role's
account, but it checks nothing when a role is assumed (the role need not exist, its trust
policy is not read) and forgets ``SourceIdentity`` and session tags. This module answers the
two questions the proxy asks of every request: who is calling, in which account, with which
source identity and tags (:class:`SessionTable`); and would STS let this ``AssumeRole``
through (:func:`assume_role_problem`). :class:`MotoAccounts` is the test side: an Organization
with named member accounts and boto3 clients acting in each one.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config
from moto.core import DEFAULT_ACCOUNT_ID

MANAGEMENT = "management"
BOT_ROLE = "iam-bot-action"
_SOURCE_IDENTITY = re.compile(r"[\w+=,.@-]{2,64}", re.ASCII)
_ROLE_ARN = re.compile(r"arn:aws:iam::(\d{12}):role/(?:.*/)?([^/]+)")
MAX_SESSION_TAGS = 50
MAX_TAG_KEY = 128
MAX_TAG_VALUE = 256
# The proxy's own sessions in each account (for its checks and for tests' clients).
_SANDBOX_ROLE = "faithful-aws-sandbox"
_NO_RETRY = Config(retries={"mode": "standard", "total_max_attempts": 1})


@dataclass(frozen=True)
class Session:
    """Who signed a request: the account it acts in and, for an assumed role, what STS attached."""

    account_id: str
    principal: str  # the caller's ARN, as STS and IAM name it in AccessDenied messages
    role_arn: str | None = None
    source_identity: str | None = None
    session_tags: Mapping[str, str] = field(default_factory=dict)
    transitive_keys: frozenset[str] = frozenset()


def key_owner(key_id: str) -> tuple[str, str | None] | None:
    """The moto account holding access key ``key_id`` and the key's user (None: a temporary
    key); None when no moto account has it. Asked of moto's in-process model."""
    from moto.iam.models import iam_backends

    for account_id, account in list(iam_backends.items()):
        key = account["aws"].access_keys.get(key_id)
        if key is not None:
            return account_id, key.user_name
    return None


class SessionTable:
    """Access key -> :class:`Session`, for the AssumeRole calls that went through the proxy.

    Any other key acts where moto says it does: in its user's (or role's) account, and an
    unknown key (dummy credentials) in the default account, with no source identity.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sessions: dict[str, Session] = {}

    def session(self, access_key: str) -> Session:
        with self._lock:
            known = self._sessions.get(access_key)
        if known is not None:
            return known
        owner = key_owner(access_key) if access_key else None
        account_id, user = owner or (DEFAULT_ACCOUNT_ID, "moto")
        return Session(account_id, f"arn:aws:iam::{account_id}:user/{user or 'moto'}")

    def record(self, access_key: str, session: Session) -> None:
        with self._lock:
            self._sessions[access_key] = session

    def clear(self) -> None:
        with self._lock:
            self._sessions.clear()


@dataclass(frozen=True)
class AssumeRole:
    """The parts of an ``sts:AssumeRole`` request that STS checks and attaches to the session."""

    role_arn: str
    session_name: str
    source_identity: str | None
    tags: dict[str, str]
    tag_count: int  # as sent, duplicates included
    transitive_keys: frozenset[str]

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> AssumeRole:
        tags: dict[str, str] = {}
        count = 0
        while f"Tags.member.{count + 1}.Key" in params:
            count += 1
            tags[str(params[f"Tags.member.{count}.Key"])] = str(
                params.get(f"Tags.member.{count}.Value", "")
            )
        transitive = {
            str(v) for k, v in params.items() if re.fullmatch(r"TransitiveTagKeys\.member\.\d+", k)
        }
        identity = params.get("SourceIdentity")
        return cls(
            role_arn=str(params.get("RoleArn", "")),
            session_name=str(params.get("RoleSessionName", "")),
            source_identity=None if identity is None else str(identity),
            tags=tags,
            tag_count=count,
            transitive_keys=frozenset(transitive),
        )

    def session(self, caller: Session, account_id: str) -> Session:
        """The new session: chaining keeps the caller's source identity and transitive tags."""
        carried = {k: v for k, v in caller.session_tags.items() if k in caller.transitive_keys}
        name = self.role_arn.rsplit("/", 1)[-1]
        return Session(
            account_id=account_id,
            principal=f"arn:aws:sts::{account_id}:assumed-role/{name}/{self.session_name}",
            role_arn=self.role_arn,
            source_identity=self.source_identity or caller.source_identity,
            session_tags={**carried, **self.tags},
            transitive_keys=caller.transitive_keys | self.transitive_keys,
        )


Problem = tuple[str, str, int]  # (error code, message, HTTP status)


def assume_role_problem(caller: Session, ask: AssumeRole) -> Problem | None:
    """STS's error for this AssumeRole (validation first, then authorization), or None."""
    invalid = _validation_problem(ask)
    if invalid is not None:
        return invalid
    denied = (
        "AccessDenied",
        f"User: {caller.principal} is not authorized to perform: sts:AssumeRole on resource: "
        f"{ask.role_arn}",
        403,
    )
    role = _role(ask.role_arn)
    if role is None:
        return denied
    identity = ask.source_identity or caller.source_identity
    if caller.source_identity and ask.source_identity not in (None, caller.source_identity):
        return denied  # a chained session keeps its source identity
    try:
        trust = json.loads(role.assume_role_policy_document or "{}")
    except ValueError:
        return denied
    needed = {"sts:AssumeRole"}
    if ask.source_identity:
        needed.add("sts:SetSourceIdentity")
    if ask.tags:
        needed.add("sts:TagSession")
    if not all(_trusts(trust, caller.account_id, action) for action in needed):
        return denied
    if identity is None and _requires_source_identity(trust):
        return denied
    return None


def _validation_problem(ask: AssumeRole) -> Problem | None:
    identity = ask.source_identity
    if identity is not None and (
        not _SOURCE_IDENTITY.fullmatch(identity) or identity.lower().startswith("aws:")
    ):
        message = (
            f"1 validation error detected: Value '{identity}' at 'sourceIdentity' failed to "
            "satisfy constraint: Member must have length between 2 and 64 and satisfy regular "
            r"expression pattern: [\w+=,.@-]*"
        )
        return "ValidationError", message, 400
    if ask.tag_count > MAX_SESSION_TAGS:
        message = (
            "1 validation error detected: Value at 'tags' failed to satisfy constraint: "
            f"Member must have length less than or equal to {MAX_SESSION_TAGS}"
        )
        return "ValidationError", message, 400
    for key, value in ask.tags.items():
        if not 1 <= len(key) <= MAX_TAG_KEY or len(value) > MAX_TAG_VALUE:
            message = (
                f"1 validation error detected: Tag '{key}' failed to satisfy constraint: keys "
                f"have 1 to {MAX_TAG_KEY} characters and values at most {MAX_TAG_VALUE}"
            )
            return "ValidationError", message, 400
    return None


def _role(role_arn: str) -> Any:
    """moto's role for ``role_arn`` in its account, or None."""
    from moto.iam.models import iam_backends

    match = _ROLE_ARN.fullmatch(role_arn)
    if match is None or match.group(1) not in iam_backends:
        return None
    for role in list(iam_backends[match.group(1)]["aws"].roles.values()):
        if role.arn == role_arn:
            return role
    return None


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _statements(policy: Any) -> list[dict[str, Any]]:
    found = policy.get("Statement", []) if isinstance(policy, dict) else []
    return [s for s in _listed(found) if isinstance(s, dict)]


def _trusts(trust: Any, account_id: str, action: str) -> bool:
    """Whether an Allow statement lets principals of ``account_id`` do ``action``.

    Principals are judged by account only ("*", the account ID or any ARN in it): the sandbox
    does not model which of an account's identities the caller is.
    """
    for statement in _statements(trust):
        if statement.get("Effect") != "Allow":
            continue
        actions = [str(a).lower() for a in _listed(statement.get("Action", []))]
        if not {action.lower(), "sts:*", "*"} & set(actions):
            continue
        principal = statement.get("Principal", {})
        aws = _listed(principal.get("AWS", [])) if isinstance(principal, dict) else [principal]
        if any(p == "*" or p == account_id or f":{account_id}:" in str(p) for p in aws):
            return True
    return False


def _requires_source_identity(trust: Any) -> bool:
    """Whether an Allow statement's condition names ``sts:SourceIdentity`` (other than a
    ``Null`` that requires it absent)."""
    for statement in _statements(trust):
        if statement.get("Effect") != "Allow":
            continue
        for operator, keys in dict(statement.get("Condition") or {}).items():
            for key, value in dict(keys).items():
                if key.lower() != "sts:sourceidentity":
                    continue
                if operator == "Null" and str(value).lower() == "true":
                    continue
                return True
    return False


def bot_role_trust(require_source_identity: bool) -> dict[str, Any]:
    """The trust policy of the role the bot assumes: the default account's principals may
    assume it, set a source identity and tag the session (and, if asked, must set one)."""
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:root"},
        "Action": ["sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"],
    }
    if require_source_identity:
        statement["Condition"] = {"Null": {"sts:SourceIdentity": "false"}}
    return {"Version": "2012-10-17", "Statement": [statement]}


class MotoAccounts:
    """An Organization in moto with named accounts, and boto3 clients acting in any account.

    A client of another account holds the credentials of a role assumed in it straight at moto
    (moto lets them act there; the role need not exist). Clients are made once per service,
    account and endpoint from one boto3 session (making one loads its service model: ~0.1 s)
    and are thread-safe. ``reset()`` forgets the member accounts, as moto's reset does.
    """

    def __init__(self, moto_url: str) -> None:
        self._moto_url = moto_url
        self._lock = threading.Lock()
        self._making = threading.Lock()  # a boto3 session is not thread-safe
        self._boto = boto3.session.Session(region_name="us-east-1")
        self._names: dict[str, str] = {}
        self._credentials: dict[str, dict[str, str]] = {}
        self._clients: dict[tuple[str, str, str], Any] = {}

    def reset(self) -> None:
        """Forget the member accounts, their credentials and clients; the default account's
        clients act with fixed credentials, so they stay (every test resets, and a client costs
        CPU to make)."""
        with self._lock:
            self._names.clear()
            self._credentials.clear()
            kept = {k: c for k, c in self._clients.items() if k[1] == DEFAULT_ACCOUNT_ID}
            self._clients = kept

    def accounts(self) -> dict[str, str]:
        with self._lock:
            return {MANAGEMENT: DEFAULT_ACCOUNT_ID, **self._names}

    def add_account(self, name: str) -> str:
        """A new member account named ``name`` (the Organization is made on first use)."""
        org = self.client("organizations")
        with self._lock:
            if name == MANAGEMENT or name in self._names:
                raise ValueError(f"account {name!r} exists")
            if not self._names:
                with contextlib.suppress(org.exceptions.AlreadyInOrganizationException):
                    org.create_organization(FeatureSet="ALL")
            email = f"{re.sub(r'[^a-z0-9]', '-', name.lower())}@example.com"
            status = org.create_account(Email=email, AccountName=name)["CreateAccountStatus"]
            self._names[name] = status["AccountId"]
            return str(status["AccountId"])

    def client(
        self, service: str, account_id: str | None = None, *, endpoint_url: str | None = None
    ) -> Any:
        """A boto3 client acting in ``account_id`` (default: the default account) at moto, or
        at ``endpoint_url`` (the proxy) with the same credentials."""
        account_id = account_id or DEFAULT_ACCOUNT_ID
        endpoint_url = endpoint_url or self._moto_url
        wanted = (service, account_id, endpoint_url)
        with self._lock:
            known = self._clients.get(wanted)
        if known is not None:
            return known
        keys = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
        if account_id != DEFAULT_ACCOUNT_ID:
            keys = self._role_credentials(account_id)
        with self._making:
            made = self._boto.client(service, endpoint_url=endpoint_url, config=_NO_RETRY, **keys)
        with self._lock:
            return self._clients.setdefault(wanted, made)

    def _role_credentials(self, account_id: str) -> dict[str, str]:
        with self._lock:
            known = self._credentials.get(account_id)
        if known is not None:
            return known
        sts = self.client("sts")
        arn = f"arn:aws:iam::{account_id}:role/{_SANDBOX_ROLE}"
        got = sts.assume_role(RoleArn=arn, RoleSessionName=_SANDBOX_ROLE)["Credentials"]
        keys = {
            "aws_access_key_id": got["AccessKeyId"],
            "aws_secret_access_key": got["SecretAccessKey"],
            "aws_session_token": got["SessionToken"],
        }
        with self._lock:
            return self._credentials.setdefault(account_id, keys)

    def add_bot_role(
        self, account_id: str, role_name: str = BOT_ROLE, require_source_identity: bool = True
    ) -> str:
        """Create the role the bot assumes in ``account_id``; its ARN."""
        iam = self.client("iam", account_id)
        trust = json.dumps(bot_role_trust(require_source_identity))
        role = iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=trust)["Role"]
        return str(role["Arn"])
