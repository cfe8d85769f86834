"""Approval-gated requests in Slack: posting them, their buttons, and running them once approved.

This is the Slack face of :mod:`bot.access.approvals`, shared by every destructive command. A
command opens a request and posts it; Approve/Deny/Cancel/Retry clicks become compare-and-set
transitions; the one click that moves a request to ``running`` executes it, through the
executor the command registered. Runs left ``running`` by a crash are resumed at startup.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from slack_bolt import Ack, App, Respond

from bot.access.approvals import Outcome, Request, State
from bot.access.schedule import Scheduler
from bot.iam.audit import CredentialReports
from bot.slack.context import Services
from bot.slack.messages import approval as msg
from bot.slack.replies import answer_failure

log = logging.getLogger(__name__)

DENY_VIEW = "request:deny-reason"
BOT = "iam-bot"


@dataclass(frozen=True)
class RunReport:
    ok: bool
    summary: str
    detail: dict[str, Any]


Executor = Callable[["RequestFlow", Request], RunReport | None]


class RequestFlow:
    def __init__(self, services: Services, client: Any, scheduler: Scheduler) -> None:
        self.services = services
        self.client = client
        self.scheduler = scheduler
        self.reports = CredentialReports(services.aws, services.clock)
        self.executors: dict[str, Executor] = {}

    # --- messages ---------------------------------------------------------------------------

    def post(self, request: Request) -> Request:
        reply = msg.request_reply(request)
        answer = self.client.chat_postMessage(channel=request.channel, **reply.as_kwargs())
        self.audit(request, f"requested by <@{request.requester}>: {request.reason}")
        stored = self.services.approvals.set_message(request.id, answer["channel"], answer["ts"])
        return stored.request

    def refresh(self, request: Request, note: str | None = None) -> None:
        if request.message_ts:
            reply = msg.request_reply(request, note)
            self.client.chat_update(
                channel=request.channel, ts=request.message_ts, **reply.as_kwargs()
            )

    def dm(self, user_id: str, text: str) -> None:
        """Tell one person something privately. A DM that fails is logged, never fatal: the
        request's own message already says what happened."""
        try:
            channel = self.client.conversations_open(users=user_id)["channel"]["id"]
            self.client.chat_postMessage(channel=channel, text=text)
        except Exception:
            log.warning("could not send a DM to %s", user_id, exc_info=True)

    def audit(self, request: Request, event: str) -> None:
        channel = self.services.config.audit_channel
        if channel:
            try:
                self.client.chat_postMessage(channel=channel, text=msg.audit_line(request, event))
            except Exception:
                log.warning("could not post to the audit channel", exc_info=True)

    # --- clicks -----------------------------------------------------------------------------

    def _settle(self, outcome: Outcome, respond: Respond, event: str) -> None:
        if outcome.refusal:
            respond(response_type="ephemeral", replace_original=False, text=outcome.refusal)
            return
        self.refresh(outcome.request)
        if outcome.now is not None:
            self.audit(outcome.request, event)

    def approve(self, request_id: str, user: str, respond: Respond) -> None:
        outcome = self.services.approvals.approve(request_id, user)
        self._settle(outcome, respond, f"approved by <@{user}>")
        if outcome.now is State.APPROVED:
            self.run(request_id, user, "run")

    def cancel(self, request_id: str, user: str, respond: Respond) -> None:
        outcome = self.services.approvals.cancel(request_id, user)
        self._settle(outcome, respond, "cancelled by the requester")

    def deny(self, request_id: str, user: str, reason: str, respond: Respond) -> None:
        outcome = self.services.approvals.deny(request_id, user, reason)
        self._settle(outcome, respond, f"denied by <@{user}>: {reason}")

    def retry(self, request_id: str, user: str, respond: Respond) -> None:
        outcome = self.services.approvals.retry(request_id, user)
        if outcome.refusal:
            respond(response_type="ephemeral", replace_original=False, text=outcome.refusal)
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
        self.refresh(request)
        executor = self.executors[request.command]
        try:
            report = executor(self, request)
        except Exception as exc:
            log.exception("request %s failed", request.id)
            report = RunReport(
                False, "Failed unexpectedly (see the bot's log).", {"error": type(exc).__name__}
            )
        if report is None:
            return  # the executor re-opened the request for approval
        done = self.services.approvals.finish(
            request.id, ok=report.ok, summary=report.summary, **report.detail
        )
        self.refresh(done.request)
        self.audit(done.request, ("done: " if report.ok else "failed: ") + report.summary)

    def progress(self, request: Request, text: str) -> None:
        current = self.services.approvals.get(request.id) or request
        shown = replace(current, outcome={**current.outcome, "progress": text})
        self.refresh(shown)

    def recover(self) -> None:
        """At startup: runs a crash left ``running`` are resumed from their journal."""
        approvals = self.services.approvals
        for request in approvals.in_state(State.RUNNING):
            claimed = approvals.take_over(request)
            if claimed.refusal:
                continue  # another replica took it over first
            log.info("resuming request %s after a restart", request.id)
            self.audit(claimed.request, "interrupted by a restart; resuming from the journal")
            self._execute(claimed.request)
        for request in approvals.in_state(State.APPROVED):
            self.run(request.id, BOT, "resume")


def register(app: App, flow: RequestFlow) -> None:
    def ack_only(ack: Ack) -> None:
        ack()

    def clicked(fn: Callable[[str, str, Respond], None]) -> Callable[..., None]:
        def lazy(body: dict[str, Any], respond: Respond) -> None:
            try:
                fn(body["actions"][0]["value"], body["user"]["id"], respond)
            except Exception as exc:
                answer_failure(
                    exc,
                    lambda r: respond(
                        response_type="ephemeral", replace_original=False, **r.as_kwargs()
                    ),
                )

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

    def deny(view: dict[str, Any], body: dict[str, Any], client: Any) -> None:
        reason = reason_of(view)
        if not reason:
            return
        request_id, user = view["private_metadata"], body["user"]["id"]

        def tell(**kwargs: Any) -> None:
            request = flow.services.approvals.get(request_id)
            if request and request.channel:
                client.chat_postEphemeral(
                    channel=request.channel, user=user, text=kwargs.get("text", "")
                )

        try:
            flow.deny(request_id, user, reason, tell)
        except Exception as exc:
            answer_failure(exc, lambda r: tell(text=r.text))

    app.view(DENY_VIEW)(ack=ack_reason, lazy=[deny])
