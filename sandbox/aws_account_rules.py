"""Accounts in the faithful layer (``sandbox/aws.py``): what it keeps per account beside moto
(:class:`AccountState`), the test side's accounts, clients and roles, and the calls whose answer
depends on the account: ``AssumeRole`` checked as STS does, and access keys of other accounts
(``GetAccessKeyLastUsed``, ``GetAccessKeyInfo``). The STS model itself is in
``sandbox/aws_accounts.py``."""

from __future__ import annotations

import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from moto.core import DEFAULT_ACCOUNT_ID

from sandbox import aws_wire as wire
from sandbox.aws_accounts import (
    AssumeRole,
    MotoAccounts,
    SessionTable,
    assume_role_problem,
    key_owner,
)
from sandbox.aws_credentials import ServiceCredential
from sandbox.aws_wire import STS_NS, Request, Response


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
class AccountState:
    """What the proxy keeps for one account beside moto's model of it."""

    credentials: dict[str, ServiceCredential] = field(default_factory=dict)
    boundaries: dict[str, str] = field(default_factory=dict)  # user -> boundary policy ARN
    report_generated: datetime | None = None
    report: Response | None = None
    root: RootAccount = field(default_factory=RootAccount)


class ActsInAccounts:
    """FaithfulAws's accounts: each call acts in one, and the proxy's own state is per account."""

    _lock: threading.Lock
    _states: dict[str, AccountState]
    _sessions: SessionTable
    _orgs: MotoAccounts | None
    foreign_keys: dict[str, str]

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

    def _state(self, account_id: str) -> AccountState:
        with self._lock:
            return self._states.setdefault(account_id, AccountState())

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

    def add_foreign_key(self, key_id: str, account_id: str) -> None:
        """Make ``key_id`` a key of ``account_id``, another account (see ``foreign_keys``)."""
        with self._lock:
            self.foreign_keys[key_id] = account_id

    # --- faithful rules: access keys of other accounts ------------------------------------

    def _key_account(self, key_id: str) -> str | None:
        """The account owning ``key_id``: a ``foreign_keys`` one, else moto's; None: unknown."""
        with self._lock:
            foreign = self.foreign_keys.get(key_id)
        if foreign is not None:
            return foreign
        owner = key_owner(key_id)
        return owner[0] if owner else None

    def _access_key_last_used(self, req: Request) -> Response:
        key_id = req.params.get("AccessKeyId", "")
        if self._key_account(key_id) not in (None, req.account):
            message = (
                f"User: {req.session.principal} is not authorized to perform: "
                f"iam:GetAccessKeyLastUsed on resource: access key {key_id}"
            )
            return wire.error(req, "AccessDenied", message, 403)
        return self._forward(req)

    def _access_key_info(self, req: Request) -> Response:
        account = self._key_account(req.params.get("AccessKeyId", ""))
        if account is None:
            return self._forward(req)  # moto answers the calling account
        result = ET.Element("GetAccessKeyInfoResult")
        wire.sub(result, "Account", account)
        return wire.result(req, result)

    # --- faithful rules: AssumeRole (moto checks nothing and forgets identity and tags) ----

    def _assume_role(self, req: Request) -> Response:
        """STS's checks (see :func:`assume_role_problem`), then moto's session, remembered
        with the source identity and tags moto drops."""
        ask = AssumeRole.from_params(req.params)
        problem = assume_role_problem(req.session, ask)
        if problem is not None:
            return wire.error(req, *problem)
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
        wire.sub(result, ns + "SourceIdentity", session.source_identity)  # STS answers it back
        body = ET.tostring(root, encoding="unicode", default_namespace=STS_NS).encode()
        return Response(200, response.headers, body)
