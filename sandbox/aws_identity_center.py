"""IAM Identity Center in the faithful layer (``sandbox/aws.py``), where moto 5.2 differs.

What moto does (checked through boto3): it keeps users, groups, memberships, permission sets and
account assignments, and an instance per account and region (``ListInstances``). It answers a
``CreateAccountAssignment`` or ``DeleteAccountAssignment`` and its status ``SUCCEEDED`` at once;
AWS answers ``IN_PROGRESS`` and the change ends later, ``SUCCEEDED`` or ``FAILED`` (with a
``FailureReason``). Its ``DescribeUser`` never has ``ExternalIds`` (a user an identity provider
provisions has them), and a permission set created without a ``SessionDuration`` says ``3600``,
a number (AWS says ``PT1H``, an ISO 8601 duration).

Here a creation or deletion is ``IN_PROGRESS`` for :attr:`polls` asks of its status, then
``SUCCEEDED``; :meth:`fail_assignment_deletion` and :meth:`fail_assignment_creation` make the
next one end ``FAILED`` with the assignments as they were; :meth:`provision_externally` gives a
user ``ExternalIds``.
"""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass

from sandbox import aws_wire as wire
from sandbox.aws_wire import Request, Response

_JSON = [("Content-Type", "application/x-amz-json-1.1")]
DEFAULT_SESSION = "PT1H"


@dataclass
class _Pending:
    status: dict[str, object]  # AccountAssignment{Creation,Deletion}Status as it will end
    polls_left: int


_CREATION, _DELETION = "Creation", "Deletion"


class KeepsIdentityCenter:
    """FaithfulAws's Identity Center corrections, cleared by :meth:`_reset_identity_center`."""

    _lock: threading.Lock
    polls = 2  # asks of a creation's or deletion's status that still find it IN_PROGRESS
    _pending: dict[str, _Pending]  # by RequestId, creations and deletions alike
    _failing: dict[str, list[str]]  # failure reasons for the next creations, deletions
    _external: dict[str, list[dict[str, str]]]  # user ID -> ExternalIds

    def _reset_identity_center(self) -> None:
        self._pending, self._external = {}, {}
        self._failing = {_CREATION: [], _DELETION: []}

    def fail_assignment_deletion(self, reason: str = "Access denied to the account") -> None:
        """The next DeleteAccountAssignment ends FAILED with ``reason``; the assignment stays."""
        with self._lock:
            self._failing[_DELETION].append(reason)

    def fail_assignment_creation(self, reason: str = "Access denied to the account") -> None:
        """The next CreateAccountAssignment ends FAILED with ``reason``; nothing is assigned."""
        with self._lock:
            self._failing[_CREATION].append(reason)

    def provision_externally(self, user_id: str, issuer: str = "https://idp.example.com") -> None:
        """The user comes from an identity provider (SCIM): DescribeUser shows ExternalIds."""
        with self._lock:
            self._external[user_id] = [{"Issuer": issuer, "Id": str(uuid.uuid4())}]

    def _create_assignment(self, req: Request) -> Response:
        return self._started(req, _CREATION)

    def _delete_assignment(self, req: Request) -> Response:
        return self._started(req, _DELETION)

    def _creation_status(self, req: Request) -> Response:
        return self._status(req, _CREATION)

    def _deletion_status(self, req: Request) -> Response:
        return self._status(req, _DELETION)

    def _started(self, req: Request, kind: str) -> Response:
        """The change made (by moto) or failed as asked, answered IN_PROGRESS as AWS does."""
        key = f"AccountAssignment{kind}Status"
        with self._lock:
            failing = self._failing[kind].pop(0) if self._failing[kind] else None
        if failing is None:
            response = self._forward(req)  # type: ignore[attr-defined]
            if response.status != 200:
                return response
            ended = json.loads(response.body)[key]
        else:
            ended = {
                **{k: req.params.get(k) for k in _ASSIGNMENT_KEYS},
                "RequestId": str(uuid.uuid4()),
                "Status": "FAILED",
                "FailureReason": failing,
            }
        with self._lock:
            self._pending[str(ended["RequestId"])] = _Pending(ended, self.polls)
        return _answer({key: {**ended, "Status": "IN_PROGRESS"}})

    def _status(self, req: Request, kind: str) -> Response:
        key = f"AccountAssignment{kind}Status"
        wanted = str(req.params.get(f"AccountAssignment{kind}RequestId", ""))
        with self._lock:
            pending = self._pending.get(wanted)
            if pending is not None and pending.polls_left > 0:
                pending.polls_left -= 1
                return _answer({key: {**pending.status, "Status": "IN_PROGRESS"}})
        if pending is None:
            return wire.error(req, "ResourceNotFoundException", "No such request", 400)
        return _answer({key: pending.status})

    def _describe_ic_user(self, req: Request) -> Response:
        response = self._forward(req)  # type: ignore[attr-defined]
        if response.status != 200:
            return response
        user = json.loads(response.body)
        with self._lock:
            external = self._external.get(str(user.get("UserId")))
        if external:
            user["ExternalIds"] = external
        else:
            user.pop("ExternalIds", None)  # AWS leaves it out; moto says null
        return _answer(user)

    def _describe_permission_set(self, req: Request) -> Response:
        response = self._forward(req)  # type: ignore[attr-defined]
        if response.status != 200:
            return response
        answer = json.loads(response.body)
        found = answer["PermissionSet"]
        if not isinstance(found.get("SessionDuration"), str):
            found["SessionDuration"] = DEFAULT_SESSION  # moto says 3600, a number
        return _answer(answer)


_ASSIGNMENT_KEYS = ("TargetId", "TargetType", "PermissionSetArn", "PrincipalType", "PrincipalId")


def _answer(body: dict[str, object]) -> Response:
    return Response(
        200, [*_JSON, ("x-amzn-RequestId", str(uuid.uuid4()))], json.dumps(body).encode()
    )
