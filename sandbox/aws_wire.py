"""Requests and answers as the faithful layer (``sandbox/aws.py``) reads and writes them: which
service, action and parameters a request carries, whichever protocol it speaks (IAM's and STS's
query with XML answers, or JSON with ``X-Amz-Target``), and errors and results in the shape of
that protocol."""

from __future__ import annotations

import json
import re
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from moto.core import DEFAULT_ACCOUNT_ID

from sandbox.aws_accounts import Session

IAM_NS = "https://iam.amazonaws.com/doc/2010-05-08/"
STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/"
_NAMESPACES = {"iam": IAM_NS, "sts": STS_NS}
_VERSION_SERVICE = {"2010-05-08": "iam", "2011-06-15": "sts"}
_SCOPE = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/]+)/([^/]+)/")

_DEFAULT_SESSION = Session(DEFAULT_ACCOUNT_ID, f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:user/moto")


@dataclass
class Request:
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
    region: str = ""  # of the request's signature

    @property
    def header(self) -> dict[str, str]:
        """The request's headers by lower-case name."""
        return {k.lower(): v for k, v in self.headers}

    @property
    def account(self) -> str:
        return self.session.account_id


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def parse(method: str, path: str, headers: list[tuple[str, str]], body: bytes) -> Request:
    """Service, action and parameters of a request, whichever protocol it speaks."""
    lower = {k.lower(): v for k, v in headers}
    scope = _SCOPE.search(lower.get("authorization", ""))
    access_key, region, service = scope.groups() if scope else ("", "", "")
    url = urlsplit(path)
    if url.path.startswith("/moto-api"):
        return Request(method, path, headers, body, "moto", url.path, {}, "raw")
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
        return Request(
            method,
            path,
            headers,
            body,
            service,
            action,
            params,
            "json",
            access_key=access_key,
            region=region,
        )
    fields = dict(parse_qsl(url.query, keep_blank_values=True))
    if lower.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        fields.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    action = fields.pop("Action", "")
    version = fields.pop("Version", "")
    service = service or _VERSION_SERVICE.get(version, "")
    return Request(
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
        region=region,
    )


def error(req: Request, code: str, message: str, status: int) -> Response:
    """An error in the shape of the request's protocol: IAM/STS XML, or JSON."""
    request_id = str(uuid.uuid4())
    if req.protocol == "json":
        body = json.dumps({"__type": code, "message": message}).encode()
        headers = [
            ("Content-Type", "application/x-amz-json-1.1"),
            ("x-amzn-RequestId", request_id),
            ("x-amzn-ErrorType", code),
        ]
        return Response(status, headers, body)
    root = ET.Element("ErrorResponse", xmlns=_NAMESPACES.get(req.service, IAM_NS))
    detail = ET.SubElement(root, "Error")
    sub(detail, "Type", "Sender" if status < 500 else "Receiver")
    sub(detail, "Code", code)
    sub(detail, "Message", message)
    sub(root, "RequestId", request_id)
    return xml_response(status, root, request_id)


def error_code(req: Request, response: Response) -> str | None:
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


def result(req: Request, result: ET.Element | None) -> Response:
    """A successful query-protocol answer around ``result`` (None: no result element)."""
    request_id = str(uuid.uuid4())
    root = ET.Element(f"{req.action}Response", xmlns=_NAMESPACES.get(req.service, IAM_NS))
    if result is not None:
        root.append(result)
    sub(ET.SubElement(root, "ResponseMetadata"), "RequestId", request_id)
    return xml_response(200, root, request_id)


def xml_response(status: int, root: ET.Element, request_id: str) -> Response:
    body = ET.tostring(root, encoding="unicode").encode()
    return Response(status, [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)], body)


def sub(parent: ET.Element, tag: str, text: str) -> ET.Element:
    child = ET.SubElement(parent, tag)
    child.text = text
    return child


def no_such_user(req: Request, user: str) -> Response:
    return error(req, "NoSuchEntity", f"The user with name {user} cannot be found.", 404)


def iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
