"""The bot running against the sandbox peers: one set-up for the demo, the tests and the benchmarks.

The app is the production app (``build_app``) behind the production server (waitress); only its
surroundings are local: AWS is the faithful moto, Slack's Web API is the fake, and requests come
from :class:`SlackSender`, signed with a fresh secret.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bot.access.approvals import utc_now
from bot.access.schedule import Scheduler
from bot.access.store import SqliteStore, Store
from bot.operator_rules import parse_config
from bot.ops.terms import OPERATIONS
from bot.process_settings import DEFAULT_LEASE_SECONDS, DEFAULT_WORKERS, Settings
from bot.slack.app import build_app
from bot.slack.bot_app import BotApp
from bot.slack.jobs import Jobs
from bot.slack.wsgi import HttpServer
from sandbox.slack_api import FakeSlack
from sandbox.slack_requests import SlackSender


def point_boto3_at(endpoint_url: str) -> None:
    """Ordinary boto3 clients read these, exactly as they would in production."""
    os.environ.update(
        AWS_ENDPOINT_URL=endpoint_url,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",  # moto's dummy credentials
        AWS_DEFAULT_REGION="us-east-1",
    )
    os.environ.pop("AWS_PROFILE", None)


class ShiftedClock:
    """The real time plus however far :meth:`advance` moved it, for the bot's ``clock``: the
    demo's ``wait 25h`` shows what the bot does a day later (a rotation's grace period, a key's
    delayed deletion, a request's expiry, the scheduled audit)."""

    def __init__(self) -> None:
        self._offset = timedelta(0)

    def __call__(self) -> datetime:
        return utc_now() + self._offset

    def advance(self, by: timedelta) -> None:
        self._offset += by


class SchedulerPasses:
    """Counts the scheduler's passes, so a caller that moved the clock can wait for a pass that
    ran wholly after the move, and tells whether one is running (a scheduled step runs on the
    scheduler's own thread, not on the job pool)."""

    def __init__(self) -> None:
        self._count = 0
        self._running = 0
        self._changed = threading.Condition()

    def started(self) -> None:
        with self._changed:
            self._running += 1

    def tick(self) -> None:
        with self._changed:
            self._count += 1
            self._running -= 1
            self._changed.notify_all()

    def wait(self, passes: int, timeout: float) -> bool:
        with self._changed:
            target = self._count + passes
            return self._changed.wait_for(lambda: self._count >= target, timeout)

    def wait_between(self, timeout: float) -> bool:
        """Wait until no pass is running."""
        with self._changed:
            return self._changed.wait_for(lambda: self._running == 0, timeout)


class WatchedScheduler(Scheduler):
    """The production scheduler, telling ``passes`` when each of its passes starts and ends."""

    def __init__(self, *args: Any, passes: SchedulerPasses, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.passes = passes

    def tick(self) -> int:
        self.passes.started()
        try:
            return super().tick()
        finally:
            self.passes.tick()


@dataclass
class RunningBot:
    slack: FakeSlack
    sender: SlackSender
    jobs: Jobs
    server: HttpServer
    store: Store
    scheduler: Scheduler
    passes: SchedulerPasses
    app: BotApp | None = None  # the app itself: its incident desk and events poller

    def settle(self, timeout: float = 30.0) -> None:
        """Wait until every piece of work the requests and the scheduler started has finished:
        the job pool idle and no scheduler pass running, seen together (a pass fills the pool,
        and work on the pool may be what a pass waits to see)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if not self.jobs.wait_idle(left) or not self.passes.wait_between(left):
                raise TimeoutError("background work did not finish")
            if self.jobs.wait_idle(0):
                return

    def catch_up(self, timeout: float = 30.0) -> None:
        """After the clock moved: wait for the scheduler to look at the new time (two passes,
        so one started after the move), then for the work it started; twice, as a step that
        ran may have scheduled or delivered more."""
        for _ in range(2):
            if not self.passes.wait(2, timeout):
                raise TimeoutError("the scheduler did not run")
            self.settle(timeout)

    def stop(self) -> None:
        if self.app is not None and self.app.events is not None:
            self.app.events.stop()
        self.scheduler.stop()
        self.server.stop()
        self.jobs.shutdown(wait=True)


def start_bot(
    slack: FakeSlack,
    config_text: str,
    state_path: str | Path,
    *,
    clock: Callable[[], datetime] | None = None,
    workers: int = DEFAULT_WORKERS,
    scheduler_poll_s: float = 0.05,
    store: Store | None = None,
    events_queue_url: str | None = None,
    lease_seconds: float = DEFAULT_LEASE_SECONDS,
) -> RunningBot:
    """Build and serve the app on a free loopback port; boto3 must already point at the sandbox.
    The state is the SQLite file at ``state_path`` unless a ``store`` (e.g. DynamoDB) is given."""
    secret = secrets.token_hex(16)
    settings = Settings(
        bot_token="xoxb-sandbox",
        signing_secret=secret,
        slack_api_url=slack.api_url,
        workers=workers,
        slack_retry_wait_s=0.0,  # Slack failing is tested, not slack_sdk's sleep between tries
        events_queue_url=events_queue_url,
        lease_seconds=lease_seconds,
    )
    jobs = Jobs(settings.workers)
    store = store or SqliteStore(state_path)
    passes = SchedulerPasses()
    scheduler = WatchedScheduler(store, clock or utc_now, poll_s=scheduler_poll_s, passes=passes)
    app = build_app(
        settings,
        parse_config(config_text, OPERATIONS),
        store=store,
        jobs=jobs,
        clock=clock,
        scheduler=scheduler,
    )
    server = HttpServer(app, host="127.0.0.1", port=0).start()
    sender = SlackSender(server.events_url, secret, slack)
    bot = RunningBot(slack, sender, jobs, server, store, scheduler, passes, app)
    bot.settle()
    return bot
