"""Service-specific credentials (CodeCommit, Keyspaces, Bedrock API keys) in the faithful layer
(``sandbox/aws.py``): moto answers them with HTML and HTTP 500, so the layer keeps them itself,
per account, with IAM's quota, errors and shapes."""

from __future__ import annotations

import base64
import secrets
import string
import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from botocore.exceptions import ClientError

from sandbox import aws_wire as wire
from sandbox.aws_paging import set_truncation
from sandbox.aws_wire import Request, Response

SSC_SERVICES = ("codecommit.amazonaws.com", "cassandra.amazonaws.com", "bedrock.amazonaws.com")
SSC_LIMIT_PER_SERVICE = 2
_ID_ALPHABET = string.ascii_uppercase + string.digits


@dataclass
class ServiceCredential:
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


class KeepsServiceCredentials:
    """FaithfulAws's handlers of the ``*ServiceSpecificCredential*`` actions."""

    _lock: threading.Lock

    def _credential_owner(self, req: Request) -> tuple[str | None, Response | None]:
        """Whose credentials a call is about: UserName, else the calling user (None: root)."""
        user = str(req.params.get("UserName") or "")
        if user:
            if not self._user_exists(req.account, user):
                return None, wire.no_such_user(req, user)
            return user, None
        if not req.access_key:
            return None, None
        try:
            caller = self._iam(req.account).get_access_key_last_used(AccessKeyId=req.access_key)
        except ClientError:
            return None, None  # dummy credentials: root, which has none of its own
        return caller.get("UserName"), None

    def _create_credential(self, req: Request) -> Response:
        user = str(req.params.get("UserName", ""))
        service = str(req.params.get("ServiceName", ""))
        if not self._user_exists(req.account, user):
            return wire.no_such_user(req, user)
        if service not in SSC_SERVICES:
            message = f"The specified service {service} is not supported."
            return wire.error(req, "NotSupportedService", message, 404)
        now = datetime.now(UTC).replace(microsecond=0)
        age = req.params.get("CredentialAgeDays")
        api_key = service == "bedrock.amazonaws.com"
        cred = ServiceCredential(
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
                return wire.error(req, "LimitExceeded", message, 409)
            state.credentials[cred.cred_id] = cred
        return _credential_result(req, cred)

    def _list_credentials(self, req: Request) -> Response:
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
        if isinstance(bounds, Response):
            return bounds
        start, end = bounds
        result = ET.Element(f"{req.action}Result")
        members = ET.SubElement(result, "ServiceSpecificCredentials")
        for cred in creds[start:end]:
            _credential_xml(ET.SubElement(members, "member"), cred, with_secret=False)
        set_truncation(result, req.action, end, len(creds), namespace="")
        return wire.result(req, result)

    def _owned_credential(self, req: Request) -> tuple[ServiceCredential | None, Response]:
        """The credential a call names, or (None, the error to answer)."""
        user, problem = self._credential_owner(req)
        if problem is not None:
            return None, problem
        cred_id = str(req.params.get("ServiceSpecificCredentialId", ""))
        state = self._state(req.account)
        with self._lock:
            cred = state.credentials.get(cred_id)
        missing = wire.error(
            req, "NoSuchEntity", f"The Service Specific Credential {cred_id} cannot be found.", 404
        )
        if cred is None or cred.user_name != user:
            return None, missing
        return cred, missing

    def _delete_credential(self, req: Request) -> Response:
        cred, problem = self._owned_credential(req)
        if cred is None:
            return problem
        state = self._state(req.account)
        with self._lock:
            state.credentials.pop(cred.cred_id, None)
        return wire.result(req, None)

    def _reset_credential(self, req: Request) -> Response:
        cred, problem = self._owned_credential(req)
        if cred is None:
            return problem
        with self._lock:
            cred.secret = _new_secret(cred.is_api_key)
        return _credential_result(req, cred)

    def _update_credential(self, req: Request) -> Response:
        status = req.params.get("Status", "")
        if status not in ("Active", "Inactive"):
            message = (
                f"1 validation error detected: Value '{status}' at 'status' failed to satisfy "
                "constraint: Member must satisfy enum value set: [Active, Inactive]"
            )
            return wire.error(req, "ValidationError", message, 400)
        cred, problem = self._owned_credential(req)
        if cred is None:
            return problem
        with self._lock:
            cred.status = status
        return wire.result(req, None)


def _credential_result(req: Request, cred: ServiceCredential) -> Response:
    result = ET.Element(f"{req.action}Result")
    _credential_xml(ET.SubElement(result, "ServiceSpecificCredential"), cred, with_secret=True)
    return wire.result(req, result)


def _credential_xml(parent: ET.Element, cred: ServiceCredential, *, with_secret: bool) -> None:
    """A ServiceSpecificCredential (with its secret) or its metadata (without)."""
    wire.sub(parent, "CreateDate", wire.iso(cred.created))
    if cred.expires is not None:
        wire.sub(parent, "ExpirationDate", wire.iso(cred.expires))
    wire.sub(parent, "ServiceName", cred.service)
    if cred.is_api_key:
        wire.sub(parent, "ServiceCredentialAlias", cred.login)
        if with_secret:
            wire.sub(parent, "ServiceCredentialSecret", cred.secret)
    else:
        wire.sub(parent, "ServiceUserName", cred.login)
        if with_secret:
            wire.sub(parent, "ServicePassword", cred.secret)
    wire.sub(parent, "ServiceSpecificCredentialId", cred.cred_id)
    wire.sub(parent, "UserName", cred.user_name)
    wire.sub(parent, "Status", cred.status)


def _random_id(length: int) -> str:
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))


def _new_secret(api_key: bool) -> str:
    token = base64.b64encode(secrets.token_bytes(33)).decode()
    return f"ABSK{token}" if api_key else token
