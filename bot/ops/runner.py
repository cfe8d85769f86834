"""Running approved requests: exactly once, under a lease, resumed when their runner died.

The one caller that wins the approved -> running transition executes the request, through the
operation's ``execute`` in the registry, while a heartbeat renews its lease. Runs whose lease ran
out (their replica died), or that a stopping replica released, are taken over on the scheduler's
tick and at startup; pending requests whose time is up are expired there too. A run that cannot
check yet (Slack did not answer) gives its lease up the same way and is taken up on the next tick.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from bot.access.approvals import Request, State
from bot.access.leases import LeaseLost
from bot.access.rules import SlackUnavailable
from bot.access.store import Record
from bot.logs import log_outcome
from bot.ops.context import Ops, RunReport
from bot.ops.registry import REGISTRY

log = logging.getLogger(__name__)

BOT = "iam-bot"
REMIND_BEFORE = timedelta(minutes=10)
# A run waiting for Slack says so in its message and keeps this in its outcome until it goes on.
WAITS_FOR_SLACK = "waits_for_slack"
WAITING_WORDS = (
    "Waiting for Slack, which did not answer a check this run needs; "
    "the bot asks again on its next pass and goes on from where it stopped."
)


def _log_run(request: Request, report: RunReport | None, seconds: float) -> None:
    """The run's outcome line: what ran, asked by whom and approved by whom, in which account."""
    outcome = "reopened for approval" if report is None else "done" if report.ok else "failed"
    approvers = ", ".join(request.approvers) or "nobody"
    log_outcome(
        f"run of {request.command} asked", f"request {request.id}, approved by {approvers}",
        outcome=outcome, seconds=seconds, user=request.requester, account=request.account,
        kind="run", command=request.command, iam_request=request.id, approved_by=approvers,
    )  # fmt: skip


class Runner:
    def __init__(
        self,
        ops: Ops,
        submit: Callable[..., Any],
        on_takeover: Callable[[], object] = lambda: None,
    ) -> None:
        self.ops = ops
        self.submit = submit
        self.on_takeover = on_takeover  # counts takeovers (the metrics)
        self._approved_before: set[str] = set()  # approved, not started, at the last look

    def run(self, request_id: str, user: str, verdict: str) -> None:
        """approved -> running; only the caller that wins the transition executes."""
        outcome = self.ops.services.approvals.start(request_id, user, verdict=verdict)
        if outcome.now is State.RUNNING:
            self.execute(outcome.request)

    def execute(self, request: Request) -> None:
        """Run a request this process has just moved to running, and record how it ended."""
        ops, approvals = self.ops, self.ops.services.approvals
        started = time.monotonic()
        try:
            with approvals.leases.held(
                request.lease,
                lambda: approvals.renew(request.id),
                release=lambda: f"request {request.id}" if approvals.release(request.id) else None,
            ):  # renewed from the claim on: the card's refresh may be slow
                ops.refresh(request)
                report = self._report(request)
        except SlackUnavailable as unanswered:
            self._wait(request, unanswered)
            return
        except LeaseLost:
            log.warning("request %s: another replica took its run over", request.id)
            return
        _log_run(request, report, time.monotonic() - started)
        if report is None:
            return  # the operation re-opened the request for approval
        done = approvals.finish(request.id, ok=report.ok, summary=report.summary, **report.detail)
        if done.refusal:
            log.error("request %s could not be finished: %s", request.id, done.refusal)
            return
        ops.refresh(done.request)
        ops.audit(done.request, ("done: " if report.ok else "failed: ") + report.summary)

    def _report(self, request: Request) -> RunReport | None:
        """How the run ended; raises :class:`SlackUnavailable` when it cannot check yet, and
        :class:`LeaseLost` when another replica took the run over."""
        try:
            with self.ops.acting_for(request):
                if why := self.ops.still_allowed(request):
                    return RunReport(False, f"Not run: {why}")
                if request.outcome.get(WAITS_FOR_SLACK):  # Slack answered: no longer waiting
                    self.ops.services.approvals.note(
                        request.id, progress="", **{WAITS_FOR_SLACK: False}
                    )
                return REGISTRY[request.command].execute(self.ops, request)
        except (SlackUnavailable, LeaseLost):
            raise
        except Exception as exc:
            log.exception("request %s failed", request.id)
            return RunReport(
                False, "Failed unexpectedly (see the bot's log).", {"error": type(exc).__name__}
            )

    def _wait(self, request: Request, unanswered: SlackUnavailable) -> None:
        """Slack did not answer (who is in a group, which workspace this is): the run stays
        running with its lease given up and says it waits; the next tick takes it up (no
        restart to announce), and it checks again before it goes on."""
        log.warning("request %s waits for Slack: %s", request.id, unanswered)
        approvals = self.ops.services.approvals
        waiting = approvals.note(request.id, progress=WAITING_WORDS, **{WAITS_FOR_SLACK: True})
        self.ops.refresh(waiting.request)
        approvals.release(request.id)

    def tick(self) -> None:
        """On the scheduler's tick: remind about what is about to expire, expire what is
        overdue, take over runs whose runner died, start approved runs nobody started."""
        self.remind_due()
        for expired in self.ops.services.approvals.expire_due():
            self.ops.refresh(expired)
            self.ops.audit(expired, "expired without approval")
        self.recover()

    def remind_due(self) -> None:
        """Once per request, a reminder when a quarter of its time (ten minutes at most) is
        left. The reminder is claimed in the store first, so of several replicas one sends it."""
        services = self.ops.services
        now = services.clock()
        for request in services.approvals.in_state(State.PENDING):
            left = min(REMIND_BEFORE, (request.expires - request.created) / 4)
            if not request.expires - left <= now < request.expires:
                continue
            claim = Record(f"{request.id}/reminder", "reminder", "sent", {"at": now.isoformat()})
            if services.store.put_if_version(claim) is not None:
                self.ops.notify.remind(request)

    def recover(self) -> None:
        """Runs a dead replica left ``running`` are resumed from their journal, once; a run
        approved but not started is started at this process's second look at it, so the job
        of the replica that took the approval starts it (as its approver) unless that replica
        died first: started at the first look, another replica's tick raced that job, and
        won it as the bot whenever the job was slow to start."""
        approvals = self.ops.services.approvals
        for request in approvals.in_state(State.RUNNING):
            if not approvals.leases.takeable(request.lease):
                continue  # a live replica is running it
            claimed = approvals.take_over(request)
            if claimed.refusal:
                continue  # another replica took it over first
            if not request.outcome.get(WAITS_FOR_SLACK):
                log.info("resuming request %s: its runner stopped", request.id)
                self.on_takeover()
                self.ops.audit(
                    claimed.request, "interrupted by a restart; resuming from the journal"
                )
            self.submit(self.execute, claimed.request)
        approved = {request.id for request in approvals.in_state(State.APPROVED)}
        for request_id in sorted(approved & self._approved_before):
            self.submit(self.run, request_id, BOT, "resume")
        self._approved_before = approved
