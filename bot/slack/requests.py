"""Approval-gated requests in Slack: posting them, their buttons, and running them once approved.

This is the Slack face of :mod:`bot.access.approvals`, shared by every destructive command. A
command opens a request and posts it; Approve/Deny/Cancel/Retry clicks become compare-and-set
transitions; the one click that moves a request to ``running`` executes it, through the
executor the command registered, under a lease its heartbeat renews. Runs whose lease ran out
(their replica died) are taken over on the scheduler's tick, and at startup.

Nothing here waits on Slack: every message goes through the outbox (:mod:`bot.slack.outbox`),
so a Slack failure delays what people see, never what the bot does or records.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt import Ack, App

from bot.access.approvals import Outcome, Request, State
from bot.access.rules import Denied
from bot.access.schedule import Scheduler
from bot.iam import errors, users
from bot.iam.audit import CredentialReports
from bot.slack.context import Services
from bot.slack.messages import approval as msg
from bot.slack.outbox import Outbox
from bot.slack.replies import answer_failure

log = logging.getLogger(__name__)

DENY_VIEW = "request:deny-reason"
BOT = "iam-bot"

# Who must still hold which permission when a request runs (any one of them will do).
PERMISSIONS = {
    "offboard": ("offboard",),
    "enable": ("offboard",),
    "onboard": ("onboard",),
    "rotate": ("rotate",),
    "deactivate": ("deactivate",),
    "delete-key": ("deactivate", "rotate"),  # rotation ends by deleting the old key
    "account-alias": ("admin",),
}
_NEW_USER = {"onboard"}  # the target does not exist yet: protected by name only
_NOT_A_USER = {"account-alias"}


@dataclass(frozen=True)
class RunReport:
    ok: bool
    summary: str
    detail: dict[str, Any]


Executor = Callable[["RequestFlow", Request], RunReport | None]


class RequestFlow:
    def __init__(
        self,
        services: Services,
        client: Any,
        scheduler: Scheduler,
        outbox: Outbox,
        submit: Callable[..., Any],
    ) -> None:
        self.services = services
        self.client = client
        self.scheduler = scheduler
        self.outbox = outbox
        self.submit = submit
        self.reports = CredentialReports(services.aws, services.clock)
        self.executors: dict[str, Executor] = {}
        outbox.handlers["message"] = self._show

    # --- messages (all through the outbox) --------------------------------------------------

    def post(self, request: Request) -> Request:
        """Show a newly opened request in its channel and announce it."""
        self.refresh(request)
        self.audit(request, msg.with_reason(f"requested by <@{request.requester}>", request.reason))
        return request

    def refresh(self, request: Request, note: str | None = None) -> None:
        """Bring the request's message up to date (posting it if it is not out yet)."""
        payload = {"request_id": request.id, "note": note}
        self.outbox.add("message", f"request:{request.id}", payload, request_id=request.id)

    def _show(self, payload: dict[str, Any]) -> None:
        """Deliver a request's message as the request stands now."""
        request = self.services.approvals.get(payload["request_id"])
        if request is None:
            return
        reply = msg.request_reply(request, payload.get("note")).as_kwargs()
        if request.message_ts:
            self.client.chat_update(channel=request.channel, ts=request.message_ts, **reply)
            return
        answer = self.client.chat_postMessage(channel=request.channel, **reply)
        self.services.approvals.set_message(request.id, answer["channel"], answer["ts"])

    def dm(self, user_id: str, text: str) -> None:
        """Tell one person something privately."""
        self.outbox.dm(user_id, text)

    def audit(self, request: Request, event: str) -> None:
        channel = self.services.config.audit_channel
        if channel:
            line = {"text": msg.audit_line(request, event)}
            self.outbox.post(channel, line, request_id=request.id)

    def tell(self, response_url: str, text: str) -> None:
        """An ephemeral answer to whoever clicked, through the click's response URL."""
        self.outbox.respond(
            response_url, {"response_type": "ephemeral", "replace_original": False, "text": text}
        )

    # --- clicks -----------------------------------------------------------------------------

    def _settle(self, outcome: Outcome, tell: Callable[[str], None], event: str) -> None:
        """Tell the clicker if the click was refused; show and announce what it changed."""
        if outcome.refusal:
            tell(outcome.refusal)
            if outcome.now is State.EXPIRED:  # the click found it overdue and expired it
                self.refresh(outcome.request)
                self.audit(outcome.request, "expired without approval")
            return
        self.refresh(outcome.request)
        self.audit(outcome.request, event)

    def approve(self, value: str, user: str, tell: Callable[[str], None]) -> None:
        request_id, _, version = value.partition(":")
        plan_version = int(version) if re.fullmatch(r"[0-9]{1,9}", version) else None
        outcome = self.services.approvals.approve(request_id, user, plan_version)
        verb = "confirmed" if outcome.request.required == 0 else "approved"
        self._settle(outcome, tell, f"{verb} by <@{user}>")
        if outcome.now is State.APPROVED:
            self.run(request_id, user, "run")

    def cancel(self, value: str, user: str, tell: Callable[[str], None]) -> None:
        outcome = self.services.approvals.cancel(value.partition(":")[0], user)
        self._settle(outcome, tell, "cancelled by the requester")

    def deny(self, value: str, user: str, reason: str, tell: Callable[[str], None]) -> None:
        outcome = self.services.approvals.deny(value.partition(":")[0], user, reason)
        self._settle(outcome, tell, msg.with_reason(f"denied by <@{user}>", reason))

    def retry(self, value: str, user: str, tell: Callable[[str], None]) -> None:
        outcome = self.services.approvals.retry(value.partition(":")[0], user)
        if outcome.refusal:
            tell(outcome.refusal)
            return
        self.audit(outcome.request, f"retry by <@{user}>")
        self._execute(outcome.request)

    # --- running ----------------------------------------------------------------------------

    def run(self, request_id: str, user: str, verdict: str) -> None:
        """approved -> running; only the caller that wins the transition executes."""
        outcome = self.services.approvals.start(request_id, user, verdict=verdict)
        if outcome.now is State.RUNNING:
            self._execute(outcome.request)

    def _execute(self, request: Request) -> None:
        approvals = self.services.approvals
        self.refresh(request)
        with approvals.leases.held(lambda: approvals.renew(request.id)):
            report = self._report(request)
        if report is None:
            return  # the executor re-opened the request for approval
        done = approvals.finish(request.id, ok=report.ok, summary=report.summary, **report.detail)
        if done.refusal:
            log.error("request %s could not be finished: %s", request.id, done.refusal)
            return
        self.refresh(done.request)
        self.audit(done.request, ("done: " if report.ok else "failed: ") + report.summary)

    def _report(self, request: Request) -> RunReport | None:
        try:
            if why := self.still_allowed(request):
                return RunReport(False, f"Not run: {why}", {})
            return self.executors[request.command](self, request)
        except Exception as exc:
            log.exception("request %s failed", request.id)
            return RunReport(
                False, "Failed unexpectedly (see the bot's log).", {"error": type(exc).__name__}
            )

    def still_allowed(self, request: Request) -> str | None:
        """Why the request may no longer run, checked right before acting: the channel rule,
        the requester's permission, each approver's permission, and the target's protection
        may all have changed since it was approved. None when it may run."""
        rules = self.services.rules
        try:
            rules.require_channel(request.channel)
        except Denied as denied:
            return str(denied)
        needed = PERMISSIONS.get(request.command, ())
        if needed and not any(rules.allowed(request.requester, p, fresh=True) for p in needed):
            return f"<@{request.requester}> no longer has the permission to ask for this."
        if request.required:
            valid = [a for a in request.approvers if rules.allowed(a, "approve", fresh=True)]
            if len(valid) < request.required:
                return "an approver no longer has the `approve` permission; approve it again."
        if request.command in _NOT_A_USER:
            return None
        if request.command in _NEW_USER:
            protected = rules.name_is_protected(request.target)
        else:
            try:
                protected = rules.is_protected(users.get_user(self.services.aws, request.target))
            except errors.NotFound:
                return None  # already gone: every step will find its target gone
        return f"`{request.target}` is a protected user." if protected else None

    def progress(self, request: Request, text: str) -> None:
        updated = self.services.approvals.note(request.id, progress=text)
        self.refresh(updated.request)

    def tick(self) -> None:
        """On the scheduler's tick: expire what is overdue, take over runs whose runner died,
        start approved runs nobody started, deliver messages whose retry is due."""
        approvals = self.services.approvals
        for expired in approvals.expire_due():
            self.refresh(expired)
            self.audit(expired, "expired without approval")
        self.recover()
        self.outbox.deliver_due()

    def recover(self) -> None:
        """Runs a dead replica left ``running`` are resumed from their journal, once."""
        approvals = self.services.approvals
        for request in approvals.in_state(State.RUNNING):
            if not approvals.leases.takeable(request.lease):
                continue  # a live replica is running it
            claimed = approvals.take_over(request)
            if claimed.refusal:
                continue  # another replica took it over first
            log.info("resuming request %s: its runner stopped", request.id)
            self.audit(claimed.request, "interrupted by a restart; resuming from the journal")
            self.submit(self._execute, claimed.request)
        for request in approvals.in_state(State.APPROVED):
            self.submit(self.run, request.id, BOT, "resume")


def register(app: App, flow: RequestFlow) -> None:
    def ack_only(ack: Ack) -> None:
        ack()

    def clicked(fn: Callable[[str, str, Callable[[str], None]], None]) -> Callable[..., None]:
        def lazy(body: dict[str, Any]) -> None:
            def tell(text: str) -> None:
                flow.tell(body["response_url"], text)

            try:
                fn(body["actions"][0]["value"], body["user"]["id"], tell)
            except Exception as exc:
                answer_failure(exc, lambda reply: tell(reply.text))

        return lazy

    app.action(msg.APPROVE)(ack=ack_only, lazy=[clicked(flow.approve)])
    app.action(msg.CANCEL)(ack=ack_only, lazy=[clicked(flow.cancel)])
    app.action(msg.RETRY)(ack=ack_only, lazy=[clicked(flow.retry)])

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
            request = flow.services.approvals.get(value.partition(":")[0])
            if request and request.channel:
                flow.outbox.ephemeral(request.channel, user, text, request_id=request.id)

        try:
            flow.deny(value, user, reason, tell)
        except Exception as exc:
            answer_failure(exc, lambda reply: tell(reply.text))

    app.view(DENY_VIEW)(ack=ack_reason, lazy=[deny])
