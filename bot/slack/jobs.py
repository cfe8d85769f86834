"""The pool that runs work after Slack has been acknowledged.

Bolt runs lazy listeners on its ``listener_executor``. With ``process_before_response=True`` the
ack itself runs on the HTTP request thread, so a pool full of slow AWS work can delay results
but never an ack. Its size (``IAM_BOT_WORKERS``) is how many answers may wait on AWS at once,
and it matches the gateway's fan-out pool (:data:`bot.process_settings.DEFAULT_WORKERS`): a burst of
slow commands is answered in about the time of one, not in batches of the pool's size. The
pool also counts work in flight, which lets the terminal demo and the tests wait until
everything a command started has finished, and the metrics show how deep the queue is. Each
job runs in a copy of its submitter's context, so its log entries carry the scope (request
ID, user, command) of the Slack request that started it.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from bot.process_settings import DEFAULT_WORKERS


class Jobs(ThreadPoolExecutor):
    def __init__(self, max_workers: int = DEFAULT_WORKERS) -> None:
        super().__init__(max_workers=max_workers, thread_name_prefix="iam-bot-job")
        self._idle = threading.Condition()
        self._in_flight = 0
        self._queued = 0

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        with self._idle:
            self._in_flight += 1
            self._queued += 1
        context = contextvars.copy_context()
        future = super().submit(self._run, context, fn, *args, **kwargs)
        future.add_done_callback(self._finished)
        return future

    def _run(
        self, context: contextvars.Context, fn: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> Any:
        with self._idle:
            self._queued -= 1
        return context.run(fn, *args, **kwargs)

    def _finished(self, _: Future[Any]) -> None:
        with self._idle:
            self._in_flight -= 1
            self._idle.notify_all()

    def queued(self) -> int:
        """Jobs waiting for a free worker."""
        return self._queued

    def running(self) -> int:
        """Jobs started and not finished."""
        with self._idle:
            return self._in_flight - self._queued

    def in_flight(self) -> int:
        """Jobs queued or running (what a stopping process drains)."""
        with self._idle:
            return self._in_flight

    def wait_idle(self, timeout: float = 30.0) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: self._in_flight == 0, timeout)
