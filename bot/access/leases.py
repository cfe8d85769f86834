"""Leases on running work, so that a replica can tell a crashed run from one still alive.

A run (a request being executed, a scheduled step) carries its owner and the wall-clock time its
lease ends. While the owner is alive, a heartbeat renews the lease every quarter of its length;
another replica, or this one after a restart, may take a run over once its lease has ended and
an AWS attempt its owner sent before it stopped could no longer reach AWS. A replica that stopped
renewing may be alive (starved of CPU, cut off from the store but not from AWS): its last attempt
(a key made, a user deleted) must not land after the new owner's step. It sends none after a
quarter before its lease ends, and one ends within the gateway's timeouts (35 s). Wall-clock
time, not the bot's (controllable) clock: a lease is about whether a process is alive, not about
when the work is due. With the default 20 s lease and a look every 5 s (the scheduler's tick), a
crashed replica's run is resumed within 55 s (on AWS Lambda, at the first scheduled tick after).

A restart on the same machine need not wait that long: the owner names its process (boot, PID
namespace, PID), and a process that sees the same boot and namespace can ask the kernel whether
that PID still runs. Only a definite "no such process" counts as dead; anything else (another
machine, a container with its own PID namespace, a PID reused, no /proc) waits for the lease, so
a live replica's run is never taken.

A replica that stops gracefully hands what it could not finish over at once: it releases those
leases (:meth:`Leases.hand_over`) rather than leaving the others to wait them out.

A run that learns its lease is no longer its own (a renewal finds another owner, or it was handed
over) stops before its next step: :func:`require_held` raises :class:`LeaseLost` there, so the
replica that took it over is the only one still acting. The app also asks it before every AWS
attempt (:meth:`bot.iam.aws.Aws.check_each_attempt`): a step whose call is being retried stops
at its next attempt, rather than retrying for minutes beside the new holder's run.
"""

from __future__ import annotations

import contextvars
import logging
import math
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from bot.process_settings import AWS_CONNECT_TIMEOUT_S, AWS_READ_TIMEOUT_S
from bot.process_settings import DEFAULT_LEASE_SECONDS as DEFAULT_SECONDS

log = logging.getLogger(__name__)

BEATS_PER_LEASE = 4  # a lease outlives three missed heartbeats
ATTEMPT_SECONDS = AWS_CONNECT_TIMEOUT_S + AWS_READ_TIMEOUT_S  # the longest one AWS attempt takes


class LeaseLost(Exception):
    """The work's lease belongs to another replica now: it goes on there, from the journal."""


@dataclass
class Held:
    """One block of work under a lease; ``lost`` is set once the lease is no longer ours.
    ``good_until`` (on the lease's clock, ``now``) is a quarter of the lease before the last
    renewal that succeeded runs out (first: the claim). Past it the work sends nothing until
    the renewal under way says whether the lease is still ours, for at most ``patience``
    seconds: a slow store must not end a run still ours, a heartbeat stalled (a process
    starved of CPU) ends it, as another replica may take the work."""

    lost: threading.Event = field(default_factory=threading.Event)
    good_until: float = math.inf
    now: Callable[[], float] = time.time
    patience: float = 0.0
    _said: threading.Condition = field(default_factory=threading.Condition)

    def gone(self) -> bool:
        with self._said:
            self._said.wait_for(self._decided, timeout=self.patience)
            return not self._fresh()

    def renewed(self, good_until: float) -> None:
        with self._said:
            self.good_until = good_until
            self._said.notify_all()

    def lose(self) -> None:
        with self._said:
            self.lost.set()
            self._said.notify_all()

    def _fresh(self) -> bool:
        return not self.lost.is_set() and self.now() < self.good_until

    def _decided(self) -> bool:
        return self.lost.is_set() or self._fresh()


_HELD: contextvars.ContextVar[Held | None] = contextvars.ContextVar("iam_bot_lease", default=None)


def require_held() -> None:
    """Raise :class:`LeaseLost` if the work this runs for lost its lease, or may have (its
    renewals stalled): no lease, nothing."""
    held = _HELD.get()
    if held is not None and held.gone():
        raise LeaseLost("the lease on this work was taken over, or not renewed in time")


def _process() -> str:
    """This process as another process can check it is alive: "boot/PID namespace/PID", or ""
    where the kernel does not say (not Linux)."""
    try:
        with open("/proc/sys/kernel/random/boot_id") as boot:
            return f"{boot.read().strip()}/{os.readlink('/proc/self/ns/pid')}/{os.getpid()}"
    except OSError:
        return ""


def _died(owner: str, here: str) -> bool:
    """True only when ``owner`` ran on this boot, in this PID namespace, and its PID is gone."""
    _, _, process = owner.partition("@")
    machine, _, pid = process.rpartition("/")
    if not here or not pid.isdigit() or machine != here.rpartition("/")[0]:
        return False
    try:
        os.kill(int(pid), 0)  # signal 0 sends nothing: it only asks whether the PID exists
    except ProcessLookupError:
        return True
    except OSError:
        pass  # it exists, and is not ours to signal
    return False


@dataclass(frozen=True)
class Lease:
    owner: str
    until: float  # epoch seconds

    def to_dict(self) -> dict[str, Any]:
        return {"owner": self.owner, "until": self.until}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Lease | None:
        return cls(data["owner"], float(data["until"])) if data else None

    def expired(self, now: float) -> bool:
        return self.until < now


class Leases:
    """This process's identity as a lease owner, and the heartbeat that keeps its leases alive."""

    def __init__(
        self, seconds: float = DEFAULT_SECONDS, *, now: Callable[[], float] = time.time
    ) -> None:
        self._process = _process()
        tag = uuid.uuid4().hex[:8]
        self.owner = f"{tag}@{self._process}" if self._process else tag
        self.seconds = seconds
        self._now = now  # wall-clock epoch seconds; tests pass their own
        self._renewals: dict[int, tuple[Callable[[], bool], Held]] = {}
        self._releases: dict[int, Callable[[], str | None]] = {}
        self._ids = iter(range(1 << 62))
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def new(self) -> Lease:
        return Lease(self.owner, self._now() + self.seconds)

    @property
    def beat_seconds(self) -> float:
        """How often a held lease is renewed, and how often work is looked at for takeover."""
        return self.seconds / BEATS_PER_LEASE

    def takeable(self, lease: Lease | None) -> bool:
        """A run may be taken over when nobody holds it, its holder was a process of this
        machine that no longer exists (nothing of it can still be sent), or its holder stopped
        renewing and nothing it sent can still reach AWS (:meth:`_quiet`)."""
        return lease is None or self._quiet(lease) or _died(lease.owner, self._process)

    def _quiet(self, lease: Lease) -> bool:
        """The lease ran out, and so did the last AWS attempt its holder may have sent: none
        after a beat before the lease's end (:class:`Held`), each over within
        :data:`ATTEMPT_SECONDS`."""
        return lease.expired(self._now() - max(0.0, ATTEMPT_SECONDS - self.beat_seconds))

    def ours(self, lease: Lease | None) -> bool:
        return lease is not None and lease.owner == self.owner

    @contextmanager
    def held(
        self,
        lease: Lease | None,
        renew: Callable[[], bool],
        release: Callable[[], str | None] | None = None,
    ) -> Iterator[Held]:
        """Renew ``lease`` (as written when the work was claimed; None: one taken now) every
        quarter of its length while the block runs. ``renew`` returns False once the lease is
        no longer ours (then it is not called again, and the block's :class:`Held` is marked
        lost); ``release`` gives it up if the process stops before the block ends
        (:meth:`hand_over`), and names the work it released (None: the lease was no longer
        ours). Within the block, :func:`require_held` says whether it may go on (:class:`Held`):
        until a beat before the lease ends, counted from its end as written (the write that
        claimed it may have taken seconds), then from each renewal."""
        taken = lease.until - self.seconds if lease else self._now()
        # A renewal under way gets two leases' length to answer (a store slowed down, a busy
        # machine); one slower than that is taken for a stalled heartbeat.
        held = Held(good_until=self._good_until(taken), now=self._now, patience=2 * self.seconds)
        token = _HELD.set(held)
        with self._lock:
            key = next(self._ids)
            self._renewals[key] = (renew, held)
            if release is not None:
                self._releases[key] = release
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._beat, name="iam-bot-lease", daemon=True
                )
                self._thread.start()
        try:
            yield held
        finally:
            _HELD.reset(token)
            with self._lock:
                self._renewals.pop(key, None)
                self._releases.pop(key, None)

    def _beat(self) -> None:
        while not self._wake.wait(self.beat_seconds):
            with self._lock:
                due = list(self._renewals.items())
            for key, (renew, held) in due:
                asked = self._now()  # the renewed lease runs at least this long from here
                try:
                    kept = renew()
                except Exception:
                    log.exception("could not renew a lease")
                    continue
                if kept:
                    held.renewed(self._good_until(asked))
                    continue
                log.error("lost the lease on running work to another replica")
                held.lose()
                with self._lock:
                    self._renewals.pop(key, None)

    def _good_until(self, renewed: float) -> float:
        """How long work may go on after a lease was taken or renewed at ``renewed``: until a
        quarter of the lease before it runs out, a beat to spare for the next renewal."""
        return renewed + self.seconds - self.beat_seconds

    def stop(self) -> None:
        self._wake.set()

    def hand_over(self) -> list[str]:
        """Stop renewing, then release every lease still held, so another replica takes that
        work over at its next look instead of once the lease has run out. Only for a process
        about to exit: the work stops before its next step. Returns what was released."""
        self.stop()
        with self._lock:
            releases = list(self._releases.values())
            handed = [held for _, held in self._renewals.values()]
            self._releases.clear()
            self._renewals.clear()
        for held in handed:
            held.lose()
        released = []
        for release in releases:
            try:
                name = release()
            except Exception:
                log.exception("could not release a lease")
                continue
            if name is not None:
                released.append(name)
        return released
