"""What tests and benchmarks make AWS do to the bot through the faithful layer
(``sandbox/aws.py``): answer late (``set_delay``, ``slow``), fail chosen calls (``fail``), or stop
them at a gate until released (``hold``)."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from sandbox.aws_record import is_mutating


@dataclass
class FailRule:
    action: str | None
    mutating_only: bool
    skip: int  # matching calls still to let through before failing
    remaining: int  # failures still to inject
    code: str
    status: int
    message: str
    after_forward: bool  # the call reaches moto and takes effect; only its answer is the error
    account: str | None = None  # only calls acting in this account (None: any account)
    region: str | None = None  # only calls signed for this region (None: any region)

    def matches(self, action: str, account: str, region: str = "") -> bool:
        if self.account not in (None, account) or self.region not in (None, region):
            return False
        if self.mutating_only:
            return is_mutating(action) and self.action in (None, action)
        return self.action is None or self.action == action


class InjectsFaults:
    """FaithfulAws's latency, failures and gates; the request pipeline asks ``_take_fault`` and
    ``_pass_gate`` of each call."""

    _lock: threading.Lock
    _gate: threading.Condition
    _held: set[str | None]
    _waiting: dict[str, int]
    _delay: float
    _slow: dict[str, float]
    _faults: list[FailRule]

    @property
    def delay(self) -> float:
        return self._delay

    def set_delay(self, seconds: float) -> None:
        """Every proxied call is answered this long after it arrived (latency for benchmarks),
        or when its work is done if that takes longer: the time moto and this layer spend on
        a call is AWS's, inside the round trip, not added to it (their CPU is one process's,
        where AWS serves concurrent calls on many machines)."""
        with self._lock:
            self._delay = max(0.0, seconds)

    def slow(self, action: str, seconds: float) -> None:
        """Answer calls of ``action`` ``seconds`` after their work is done: the change is
        visible to everyone else while its caller still waits (a slow network on the way back)."""
        with self._lock:
            self._slow[action] = max(0.0, seconds)

    def fail(
        self,
        action: str | None = None,
        *,
        nth: int = 1,
        code: str = "ServiceFailure",
        status: int = 500,
        times: int = 1,
        mutating_only: bool = False,
        message: str | None = None,
        after_forward: bool = False,
        account: str | None = None,
        region: str | None = None,
    ) -> None:
        """Fail the ``nth`` matching call from now, and the ``times - 1`` matching ones after it.

        Matching: calls of ``action``, or any call when None; with ``mutating_only`` only the
        mutating ones (Create*, Delete*, ...); with ``account`` only those acting in that
        account; with ``region`` only those signed for that region. Calls are counted as they
        arrive. A failed call never reaches moto; the client gets the error in its protocol's
        shape.

        With ``after_forward`` the answer is lost instead: the call reaches moto and takes
        effect (``CreateAccessKey`` makes a key), then the client gets the error, as when AWS
        did the work but its answer never arrived. A 5xx is retried by botocore's standard
        mode, so the retry does the work a second time.
        """
        if nth < 1 or times < 1:
            raise ValueError("nth and times must be at least 1")
        rule = FailRule(
            action=action,
            mutating_only=mutating_only,
            skip=nth - 1,
            remaining=times,
            code=code,
            status=status,
            message=message or f"Injected failure ({code}).",
            after_forward=after_forward,
            account=account,
            region=region,
        )
        with self._lock:
            self._faults.append(rule)

    def heal(self, action: str | None = None) -> None:
        """Fail no more calls of ``action`` (every injected failure if None): the outage ends."""
        with self._lock:
            self._faults = [r for r in self._faults if action is not None and r.action != action]

    def hold(self, action: str | None = None) -> None:
        """Stop calls of ``action`` (every call if None) at a gate until :meth:`release`.

        For concurrency tests: freeze a run at a chosen call, act, then let it go on.
        """
        with self._gate:
            self._held.add(action)

    def release(self, action: str | None = None) -> None:
        with self._gate:
            self._held.discard(action)
            self._gate.notify_all()

    def waiting(self, action: str | None = None) -> int:
        """How many calls (of ``action``, or any) are stopped at a gate right now."""
        with self._gate:
            return self._waiting_count(action)

    def wait_held(self, action: str | None = None, count: int = 1, timeout: float = 10.0) -> bool:
        """Wait until ``count`` calls (of ``action``, or any) are stopped at a gate."""
        with self._gate:
            return self._gate.wait_for(lambda: self._waiting_count(action) >= count, timeout)

    def _waiting_count(self, action: str | None) -> int:
        if action is None:
            return sum(self._waiting.values())
        return self._waiting.get(action, 0)

    def _release_all(self) -> None:
        with self._gate:
            self._held.clear()
            self._gate.notify_all()

    def _take_fault(self, action: str, account: str, region: str = "") -> FailRule | None:
        chosen: FailRule | None = None
        for rule in self._faults:
            if not rule.matches(action, account, region):
                continue
            if rule.skip:
                rule.skip -= 1
            elif chosen is None:
                rule.remaining -= 1
                chosen = rule
        self._faults = [r for r in self._faults if r.remaining > 0]
        return chosen

    def _pass_gate(self, action: str) -> None:
        with self._gate:
            if not self._is_held(action):
                return
            self._waiting[action] = self._waiting.get(action, 0) + 1
            self._gate.notify_all()
            try:
                self._gate.wait_for(lambda: not self._is_held(action))
            finally:
                self._waiting[action] -= 1
                if not self._waiting[action]:
                    del self._waiting[action]

    def _is_held(self, action: str) -> bool:
        return None in self._held or action in self._held
