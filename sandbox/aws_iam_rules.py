"""Where moto is laxer than IAM, the faithful layer (``sandbox/aws.py``) answers as IAM does:
deleting a user that still holds something, deleting an enabled MFA device, users' permissions
boundaries, login profiles' reset flag, the credential report (a snapshot with its root row), and
Secrets Manager's KMS key ARN."""

from __future__ import annotations

import base64
import dataclasses
import json
import re
import threading
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from typing import Any

from botocore import xform_name
from botocore.exceptions import ClientError

from sandbox import aws_wire as wire
from sandbox.aws_account_rules import RootAccount
from sandbox.aws_wire import IAM_NS, Request, Response

# Answers that show users with their PermissionsBoundary in IAM (ListUsers does not), and
# where the users are, below the root.
USER_PATHS = {
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


class CorrectsIam:
    """FaithfulAws's handlers of the IAM (and Secrets Manager) actions moto gets wrong."""

    _lock: threading.Lock
    _clock: Any

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

    def _delete_user(self, req: Request) -> Response:
        user = str(req.params.get("UserName", ""))
        if user and self._user_exists(req.account, user):  # unknown: moto's NoSuchEntity
            blocker = self._user_blocker(req.account, user)
            if blocker is not None:
                return wire.error(req, "DeleteConflict", f"Cannot delete entity, {blocker}.", 409)
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

    def _delete_virtual_mfa_device(self, req: Request) -> Response:
        serial = req.params.get("SerialNumber", "")
        paginator = self._iam(req.account).get_paginator("list_virtual_mfa_devices")
        for page in paginator.paginate(AssignmentStatus="Assigned"):
            for device in page.get("VirtualMFADevices", []):
                if device["SerialNumber"] == serial and device.get("User"):
                    return wire.error(req, "DeleteConflict", "MFA device is still in use.", 409)
        return self._forward(req)

    # --- permissions boundaries of users (moto has none: HTML 500) ------------------------

    def _boundary_problem(self, req: Request, arn: str) -> Response | None:
        """IAM's error for a boundary that is no existing managed policy, or None."""
        if not re.fullmatch(r"arn:aws:iam::(aws|\d{12}):policy/.+", arn):
            message = f"Value ({arn}) for parameter PermissionsBoundary is invalid."
            return wire.error(req, "InvalidInput", message, 400)
        try:
            self._iam(req.account).get_policy(PolicyArn=arn)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "NoSuchEntity":
                raise
            message = f"Scope ARN: {arn} does not exist or is not attachable."
            return wire.error(req, "NoSuchEntity", message, 404)
        return None

    def _put_boundary(self, req: Request) -> Response:
        user = str(req.params.get("UserName", ""))
        arn = str(req.params.get("PermissionsBoundary", ""))
        if not self._user_exists(req.account, user):
            return wire.no_such_user(req, user)
        problem = self._boundary_problem(req, arn)
        if problem is not None:
            return problem
        state = self._state(req.account)
        with self._lock:
            state.boundaries[user] = arn
        return wire.result(req, None)

    def _delete_boundary(self, req: Request) -> Response:
        user = str(req.params.get("UserName", ""))
        if not self._user_exists(req.account, user):
            return wire.no_such_user(req, user)
        state = self._state(req.account)
        with self._lock:
            state.boundaries.pop(user, None)
        return wire.result(req, None)

    # --- login profiles: moto drops PasswordResetRequired on create, and an update without
    # a new password deletes the password altogether -----------------------------------------

    def _create_login_profile(self, req: Request) -> Response:
        response = self._forward(req)
        if response.status == 200:
            reset = req.params.get("PasswordResetRequired", "false").lower() == "true"
            user = self._iam_backend(req.account).users[req.params["UserName"]]
            user.password_reset_required = reset
        return response

    def _update_login_profile(self, req: Request) -> Response:
        if "Password" in req.params:
            return self._forward(req)
        user = self._iam_backend(req.account).users.get(req.params.get("UserName", ""))
        if user is None or not user.password:
            return wire.error(req, "NoSuchEntity", "Login profile not found.", 404)
        if "PasswordResetRequired" in req.params:
            user.password_reset_required = req.params["PasswordResetRequired"].lower() == "true"
        return wire.result(req, None)

    def _create_user(self, req: Request) -> Response:
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

    def _show_boundaries(self, req: Request, response: Response) -> Response:
        """Put each user's PermissionsBoundary into an answer that shows users (IAM does)."""
        state = self._state(req.account)
        with self._lock:
            boundaries = dict(state.boundaries)
        root = ET.fromstring(response.body)
        ns = f"{{{IAM_NS}}}"
        users = root.findall(ns + USER_PATHS[req.action].replace("/", "/" + ns))
        changed = False
        for user in users:
            old = user.find(ns + "PermissionsBoundary")
            if old is not None:
                user.remove(old)  # moto writes an empty one in some answers
                changed = True
            arn = boundaries.get(user.findtext(ns + "UserName") or "")
            if arn:
                boundary = ET.SubElement(user, ns + "PermissionsBoundary")
                wire.sub(boundary, ns + "PermissionsBoundaryType", "PermissionsBoundaryPolicy")
                wire.sub(boundary, ns + "PermissionsBoundaryArn", arn)
                changed = True
        if not changed:
            return response
        body = ET.tostring(root, encoding="unicode", default_namespace=IAM_NS).encode()
        return Response(response.status, response.headers, body)

    # --- credential report: moto's has a fixed 2015 GeneratedTime and no root row ----------

    def _generate_report(self, req: Request) -> Response:
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

    def _credential_report(self, req: Request) -> Response:
        state = self._state(req.account)
        with self._lock:
            report = state.report
        if report is None:
            return wire.error(req, "ReportNotPresent", "Credential report is not present.", 410)
        return report

    # --- Secrets Manager: a KMS key given by alias name ------------------------------------

    def _describe_secret(self, req: Request) -> Response:
        """moto's answer, with a KMS key given by alias name shown as its alias ARN."""
        response = self._forward(req)
        if response.status != 200:
            return response
        secret = json.loads(response.body)
        key = secret.get("KmsKeyId") or ""
        if key.startswith("alias/"):
            region, account = secret["ARN"].split(":")[3:5]
            secret["KmsKeyId"] = f"arn:aws:kms:{region}:{account}:{key}"
        return Response(response.status, response.headers, json.dumps(secret).encode())


def _with_root(
    response: Response, root: RootAccount, account_id: str, generated: datetime
) -> Response:
    """moto's credential report with the root user's row and the real generation time."""
    tree = ET.fromstring(response.body)
    ns = f"{{{IAM_NS}}}"
    content = tree.find(f".//{ns}Content")
    lines = base64.b64decode(content.text or "").decode().splitlines()
    rows = [lines[0], root.row(lines[0], account_id), *lines[1:]]
    content.text = base64.b64encode("\n".join(rows).encode()).decode()
    tree.find(f".//{ns}GeneratedTime").text = generated.strftime("%Y-%m-%dT%H:%M:%SZ")
    return Response(200, response.headers, ET.tostring(tree, encoding="unicode").encode())
