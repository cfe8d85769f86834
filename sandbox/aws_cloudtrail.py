"""CloudTrail's ``LookupEvents`` in the faithful layer (``sandbox/aws.py``): moto has none, so the
layer answers it from the calls it recorded (:mod:`sandbox.cloudtrail`), 2 requests per second
per account and region."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import datetime

from sandbox import aws_wire as wire
from sandbox.aws_record import Entry
from sandbox.aws_wire import Request, Response
from sandbox.cloudtrail import CloudTrail, LookupRefused, event_region


class LooksUpEvents:
    """FaithfulAws's CloudTrail: ``_trail`` keeps the rate limit and the page tokens."""

    _lock: threading.Lock
    _entries: list[Entry]
    _clock: Callable[[], datetime]
    _trail: CloudTrail

    def _lookup_events(self, req: Request) -> Response:
        region = event_region(req.service, req.region)
        if not self._trail.admit(req.account, region):
            return wire.error(req, "ThrottlingException", "Rate exceeded", 400)
        with self._lock:
            calls = [e.call() for e in self._entries]
        try:
            answer = self._trail.lookup(
                req.params, calls, account=req.account, region=region, now=self._clock()
            )
        except LookupRefused as exc:
            return wire.error(req, exc.code, str(exc), 400)
        headers = [("Content-Type", "application/x-amz-json-1.1")]
        return Response(200, headers, json.dumps(answer).encode())
