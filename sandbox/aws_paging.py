"""IAM's paging in the faithful layer (``sandbox/aws.py``): IAM may answer fewer than
``MaxItems`` items with ``IsTruncated`` and a ``Marker``, moto ignores ``MaxItems``; only paging
here proves that callers follow markers."""

from __future__ import annotations

import base64
import binascii
import json
import threading
import xml.etree.ElementTree as ET
from typing import Any

from sandbox import aws_wire as wire
from sandbox.aws_wire import IAM_NS, Request, Response

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


class PagesLists:
    """FaithfulAws's paging of IAM lists (``page_size``) and of its own lists."""

    _lock: threading.Lock
    _page_size: int | None

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

    def _should_page(self, req: Request) -> bool:
        return (
            self._page_size is not None
            or req.action == "ListUsers"
            or "MaxItems" in req.params
            or _decode_marker(req.params.get("Marker"), req.action) is not None
        )

    def _page_bounds(self, req: Request, total: int) -> tuple[int, int] | Response:
        """The slice [start, end) of a ``total``-item list that this request's page covers."""
        start = 0
        marker = req.params.get("Marker")
        if marker:
            decoded = _decode_marker(marker, req.action)
            if decoded is None:
                return wire.error(req, "InvalidInput", "Invalid Marker.", 400)
            start = decoded
        max_items = _IAM_DEFAULT_MAX_ITEMS
        if "MaxItems" in req.params:
            try:
                max_items = int(req.params["MaxItems"])
            except ValueError:
                max_items = 0
            if not 1 <= max_items <= 1000:
                message = "Value for MaxItems must be between 1 and 1000."
                return wire.error(req, "ValidationError", message, 400)
        size = min(max_items, self._page_size or max_items)
        return start, min(start + size, total)

    def _paged(self, req: Request) -> Response:
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
        if isinstance(bounds, Response):
            return bounds
        start, end = bounds
        for index, (lst, member) in enumerate(items):
            if not start <= index < end:
                lst.remove(member)
        set_truncation(result, req.action, end, len(items), namespace=ns)
        body = ET.tostring(root, encoding="unicode", default_namespace=IAM_NS).encode()
        return Response(200, response.headers, body)


def set_truncation(
    result: ET.Element, action: str, end: int, total: int, *, namespace: str
) -> None:
    """Set IsTruncated, and a Marker when more follows, on a result element."""
    for tag in ("IsTruncated", "Marker"):
        for old in result.findall(namespace + tag):
            result.remove(old)
    truncated = end < total
    wire.sub(result, namespace + "IsTruncated", "true" if truncated else "false")
    if truncated:
        wire.sub(result, namespace + "Marker", _encode_marker(action, end))


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
