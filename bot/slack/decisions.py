"""What the buttons of an approval-gated request do: Approve, Deny, Cancel, Retry.

Each click is a compare-and-set transition of the request (:mod:`bot.access.approvals`); the one
click that approves it hands it to the :class:`~bot.ops.runner.Runner`. The clicker hears back
through the click's response URL, everyone else through the request's message: both through
the outbox, so a Slack failure never stops or misreports a decision.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from bot.access.approvals import Approvals, State, Transition
from bot.ops.runner import Runner
from bot.slack.messages import approval as msg
from bot.slack.notifier import SlackNotifier
from bot.slack.replies import refusal_words

_VERSION = re.compile(r"[0-9]{1,9}")


class Decisions:
    def __init__(self, approvals: Approvals, runner: Runner, notifier: SlackNotifier) -> None:
        self.approvals = approvals
        self.runner = runner
        self.notifier = notifier

    def _settle(self, outcome: Transition, tell: Callable[[str], None], event: str) -> None:
        """Tell the clicker if the click was refused; show and announce what it changed."""
        if outcome.refusal:
            tell(refusal_words(outcome))
            if outcome.now is State.EXPIRED:  # the click found it overdue and expired it
                self.notifier.show(outcome.request)
                self.notifier.announce(outcome.request, "expired without approval")
            return
        self.notifier.show(outcome.request)
        self.notifier.announce(outcome.request, event)

    def approve(self, value: str, user: str, tell: Callable[[str], None]) -> None:
        request_id, _, version = value.partition(":")
        plan_version = int(version) if _VERSION.fullmatch(version) else None
        outcome = self.approvals.approve(request_id, user, plan_version)
        # the requester's own click confirms; anyone else's approves (see Request.confirmed)
        verb = "confirmed" if user == outcome.request.requester else "approved"
        self._settle(outcome, tell, f"{verb} by {self.notifier.person(user)}")
        if outcome.now is State.APPROVED:
            self.runner.run(request_id, user, "run")

    def cancel(self, value: str, user: str, tell: Callable[[str], None]) -> None:
        outcome = self.approvals.cancel(value.partition(":")[0], user)
        self._settle(outcome, tell, "cancelled by the requester")

    def deny(self, value: str, user: str, reason: str, tell: Callable[[str], None]) -> None:
        outcome = self.approvals.deny(value.partition(":")[0], user, reason)
        who = self.notifier.person(user)
        self._settle(outcome, tell, msg.with_reason(f"denied by {who}", reason))

    def retry(self, value: str, user: str, tell: Callable[[str], None]) -> None:
        outcome = self.approvals.retry(value.partition(":")[0], user)
        if outcome.refusal:
            tell(refusal_words(outcome))
            return
        self.notifier.announce(outcome.request, f"retry by {self.notifier.person(user)}")
        self.runner.execute(outcome.request)
