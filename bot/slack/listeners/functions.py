"""Workflow Builder custom steps: ``offboard_person``, HR's way to start an offboarding.

Slack sends the step as a ``function_executed`` event; Bolt acknowledges it at once and the
work runs after. The step opens the very request `/iam offboard @person <reason>` opens, with
the same checks, asked by whoever ran the workflow (its ``requester`` input, Slack's
"person who used this workflow") and posted in the ``channel`` input, else the first channel
/iam works in. The person is never one of its approvers, nor is the requester, as for the
command. The step then waits for the request's end (:mod:`bot.slack.workflow_steps`).

The step passes the guard a command does (:func:`bot.slack.listeners.guard.guarded`): claimed
once, the workspace learned, the ``channels`` rule judged in the channel it posts in; whatever
refuses or fails it ends the step with the reason, shown to whoever ran the workflow.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from slack_bolt import App

from bot.access.approvals import Request as ApprovalRequest
from bot.ops.context import UserError
from bot.ops.operation import Operation
from bot.ops.registry import REGISTRY
from bot.ops.scope import acting
from bot.slack.commands import offboard
from bot.slack.commands.parse import Target, TargetKind, reason_problem
from bot.slack.context import Request
from bot.slack.listeners.guard import Context, Tell, ack_only, guarded
from bot.slack.workflow_steps import OPENED_TOO_LATE, WorkflowSteps

log = logging.getLogger(__name__)

OFFBOARD_PERSON = "offboard_person"  # the step's callback ID in manifest.yml's ``functions:``


def offboard_person(
    steps: WorkflowSteps, context: Context, body: dict[str, Any], tell: Tell
) -> None:
    """Open the person's offboarding for the step's execution (a failure fails the step,
    through ``tell``), then wait for its end."""
    execution = body["event"]["function_execution_id"]
    request_id = steps.claim(execution)
    if request_id is None:
        log.info("workflow step %s already taken; not run again", execution)
        return
    request = _open(context, body, request_id)
    if not steps.waiting_on(execution):
        _withdraw_late(context, request)


def _withdraw_late(context: Context, request: ApprovalRequest) -> None:
    """The tick gave the step up while this opened its request: withdrawn, so nothing waits
    on approvers that the workflow's runner was told was never asked for."""
    withdrawn = context.ops.services.approvals.withdraw(request.id, OPENED_TOO_LATE)
    if withdrawn.refusal:  # decided already: its end is the channel's to see
        log.warning("request %s opened too late for its step: %s", request.id, withdrawn.refusal)
        return
    context.ops.refresh(withdrawn.request)
    context.ops.audit(withdrawn.request, f"cancelled by iam-bot: {OPENED_TOO_LATE}")


def _inputs(body: dict[str, Any]) -> dict[str, Any]:
    return body["event"].get("inputs") or {}


def _posts_in(context: Context, body: dict[str, Any]) -> str:
    """The channel the step asks for approval in: its ``channel`` input, else the first
    channel /iam works in."""
    channels = context.ops.services.config.channels
    channel = str(_inputs(body).get("channel") or "") or next(iter(channels), "")
    if not channel:
        raise UserError("The step needs a channel to ask for approval in.")
    return channel


def _open(context: Context, body: dict[str, Any], request_id: str) -> ApprovalRequest:
    services, inputs = context.ops.services, _inputs(body)
    person, reason = str(inputs.get("person") or ""), str(inputs.get("reason") or "").strip()
    requester = requester_of(inputs)
    if not person or not reason or not requester:
        raise UserError("The step needs a person, a reason and who asks (the requester).")
    if problem := reason_problem(reason):
        raise UserError(problem)
    channel = _posts_in(context, body)
    permissions = REGISTRY[Operation.OFFBOARD].permissions
    services.rules.require(requester, permissions)
    request = Request(
        user_id=requester,
        channel_id=channel,
        args=(),
        respond=lambda **message: context.notifier.dm(requester, message.get("text", "")),
        client=context.notifier.client,
        ops=context.ops,
    )
    with acting(context.ops, requester, "", None, permissions):
        who = Target(TargetKind.SLACK_USER, person)
        return offboard.open_offboarding(
            services, request, who, reason, disable=False, request_id=request_id
        )


def requester_of(inputs: dict[str, Any]) -> str:
    """Who ran the workflow: the ``requester`` input, a user context (``{"id": ...}``)."""
    context = inputs.get("requester")
    return str(context.get("id") or "") if isinstance(context, dict) else ""


def register(app: App, context: Context) -> None:
    services = context.ops.services
    steps = WorkflowSteps(
        services.store, context.notifier.outbox, context.notifier.client, services.clock
    )
    context.notifier.on_shown.append(steps.shown)
    context.ops.scheduler.on_tick.append(lambda: steps.settle_stuck(services.approvals.get))

    def fails_the_step(context: Context, body: dict[str, Any]) -> Tell:
        execution = body["event"]["function_execution_id"]
        return lambda reply: steps.failed(execution, reply.text)

    lazy = guarded(
        context,
        partial(offboard_person, steps),
        scoped=lambda _: False,
        channel=_posts_in,
        answers=fails_the_step,
    )
    app.function(OFFBOARD_PERSON)(ack=ack_only, lazy=[lazy])
