"""The buttons of an approval-gated request: Approve, Deny (with its reason modal), Cancel, Retry.

Each click is a compare-and-set transition of the request (:mod:`bot.access.approvals`); the one
click that approves it hands it to the :class:`~bot.ops.runner.Runner`. The clicker hears back
through the click's response URL, everyone else through the request's message: both through
the outbox, so a Slack failure never stops or misreports a decision.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App

from bot.access.approvals import Approvals, Outcome, State
from bot.ops.runner import Runner
from bot.slack.messages import approval as msg
from bot.slack.notifier import SlackNotifier
from bot.slack.replies import answer_failure

DENY_VIEW = "request:deny-reason"
_VERSION = re.compile(r"[0-9]{1,9}")


class Decisions:
    def __init__(self, approvals: Approvals, runner: Runner, notifier: SlackNotifier) -> None:
        self.approvals = approvals
        self.runner = runner
        self.notifier = notifier

    def _settle(self, outcome: Outcome, tell: Callable[[str], None], event: str) -> None:
        """Tell the clicker if the click was refused; show and announce what it changed."""
        if outcome.refusal:
            tell(outcome.refusal)
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
        verb = "confirmed" if outcome.request.required == 0 else "approved"
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
            tell(outcome.refusal)
            return
        self.notifier.announce(outcome.request, f"retry by {self.notifier.person(user)}")
        self.runner.execute(outcome.request)


def register(app: App, decisions: Decisions) -> None:
    def ack_only(ack: Ack) -> None:
        ack()

    def clicked(fn: Callable[[str, str, Callable[[str], None]], None]) -> Callable[..., None]:
        def lazy(body: dict[str, Any]) -> None:
            def tell(text: str) -> None:
                decisions.notifier.tell(body["response_url"], text)

            try:
                fn(body["actions"][0]["value"], body["user"]["id"], tell)
            except Exception as exc:
                answer_failure(exc, lambda reply: tell(reply.text))

        return lazy

    app.action(msg.APPROVE)(ack=ack_only, lazy=[clicked(decisions.approve)])
    app.action(msg.CANCEL)(ack=ack_only, lazy=[clicked(decisions.cancel)])
    app.action(msg.RETRY)(ack=ack_only, lazy=[clicked(decisions.retry)])

    def ask_reason(body: dict[str, Any], client: Any) -> None:
        client.views_open(
            trigger_id=body["trigger_id"],
            view={
                "type": "modal",
                "callback_id": DENY_VIEW,
                "private_metadata": body["actions"][0]["value"],
                "title": {"type": "plain_text", "text": "Deny request"},
                "submit": {"type": "plain_text", "text": "Deny"},
                "close": {"type": "plain_text", "text": "Back"},
                "blocks": [
                    {
                        "type": "input",
                        "block_id": "reason",
                        "label": {"type": "plain_text", "text": "Why?"},
                        "element": {
                            "type": "plain_text_input",
                            "action_id": "reason",
                            "multiline": True,
                        },
                    }
                ],
            },
        )

    app.action(msg.DENY)(ack=ack_only, lazy=[ask_reason])

    def reason_of(view: dict[str, Any]) -> str:
        return (view["state"]["values"]["reason"]["reason"].get("value") or "").strip()

    def ack_reason(ack: Ack, view: dict[str, Any]) -> None:
        if not reason_of(view):
            ack(response_action="errors", errors={"reason": "A denial needs a reason."})
        else:
            ack()

    def deny(view: dict[str, Any], body: dict[str, Any]) -> None:
        reason = reason_of(view)
        if not reason:
            return
        value, user = view["private_metadata"], body["user"]["id"]

        def tell(text: str) -> None:
            request = decisions.approvals.get(value.partition(":")[0])
            if request and request.channel:
                outbox = decisions.notifier.outbox
                outbox.ephemeral(request.channel, user, text, request_id=request.id)

        try:
            decisions.deny(value, user, reason, tell)
        except Exception as exc:
            answer_failure(exc, lambda reply: tell(reply.text))

    app.view(DENY_VIEW)(ack=ack_reason, lazy=[deny])
