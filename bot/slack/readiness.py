"""Whether the bot's dependencies answer: what ``/readyz`` says, and why not.

Each probe asks one dependency (the store, AWS, Slack; in Socket Mode, the socket) at most
once per ``ttl``; readiness asks them all at once and answers within its timeout. Once the
process is stopping it is not ready, whatever they say.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterable

log = logging.getLogger(__name__)


class Probe:
    """Whether one dependency answers, asked at most once per ``ttl`` seconds, so a load
    balancer probing every second does not hammer STS or Slack. One question at a time: a
    probe that finds one in flight waits for its answer instead of asking again."""

    def __init__(
        self,
        name: str,
        check: Callable[[], object],
        *,
        ttl: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name, self._check, self._ttl, self._clock = name, check, ttl, clock
        self._lock = threading.Lock()
        self._failure: str | None = None
        self._at = -math.inf
        self._asking: threading.Event | None = None

    def ask(self) -> threading.Event:
        """Set once a fresh enough answer is known: at once if the last one still is."""
        with self._lock:
            if self._clock() - self._at < self._ttl:
                answered = threading.Event()
                answered.set()
                return answered
            if self._asking is None:
                self._asking = threading.Event()
                threading.Thread(target=self._run, name=f"probe-{self.name}", daemon=True).start()
            return self._asking

    def failure(self) -> str | None:
        """Why the last answer was not a good one (None: it was)."""
        with self._lock:
            return self._failure

    def _run(self) -> None:
        try:
            self._check()
            failure = None
        except Exception as exc:
            failure = type(exc).__name__
            if self._failure is None:  # a refused connection needs no traceback; the rest may
                trace = None if isinstance(exc, OSError) else exc
                log.warning("not ready: %s does not answer (%s)", self.name, exc, exc_info=trace)
        with self._lock:
            if failure is None and self._failure is not None:
                log.info("%s answers again", self.name)
            self._failure, self._at = failure, self._clock()
            asking, self._asking = self._asking, None
        if asking is not None:
            asking.set()


class Readiness:
    """Every probe asked at once, answered within ``timeout`` seconds all told: a hung
    dependency makes readiness fail fast rather than the load balancer's probe time out."""

    def __init__(self, probes: Iterable[Probe], timeout: float = 2.0) -> None:
        self._probes = list(probes)
        self._timeout = timeout
        self.stopping = False

    def add(self, probe: Probe) -> None:
        self._probes.append(probe)

    def stop(self) -> None:
        """Not ready from now on, whatever the dependencies say: the process is stopping."""
        self.stopping = True

    def failures(self) -> dict[str, str]:
        """What does not answer, and why, by probe name; empty when ready."""
        if self.stopping:
            return {"bot": "stopping"}
        asked = [(probe, probe.ask()) for probe in self._probes]
        deadline = time.monotonic() + self._timeout
        failed = {}
        for probe, answered in asked:
            if not answered.wait(max(0.0, deadline - time.monotonic())):
                failed[probe.name] = f"no answer in {self._timeout:g} s"
            elif why := probe.failure():
                failed[probe.name] = why
        return failed
