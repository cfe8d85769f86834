"""Workflow Builder custom steps: ``offboard_person``, HR's way to start an offboarding.

Slack sends the step as a ``function_executed`` event; Bolt acknowledges it at once and the
work runs after. The step opens the very request `/iam offboard @person <reason>` opens, with
the same checks, asked by whoever ran the workflow (its ``requester`` input, Slack's
"person who used this workflow") and posted in the ``channel`` input, else the first channel
/iam works in. The person is never one of its approvers, nor is the requester, as for the
command. The step then waits for the request's end (:mod:`bot.slack.workflow_steps`).
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App, BoltRequest

from bot.access.approvals import Request as ApprovalRequest
from bot.logs import finish
from bot.ops.context import UserError
from bot.ops.operation import Operation
from bot.ops.registry import REGISTRY
from bot.ops.scope import acting
from bot.slack import scope
from bot.slack.commands import offboard
from bot.slack.commands.parse import Target, TargetKind, reason_problem
from bot.slack.context import Request
from bot.slack.listeners.guard import Context, ack_only, first_delivery
from bot.slack.replies import REFUSALS, words_for
from bot.slack.workflow_steps import WorkflowSteps

log = logging.getLogger(__name__)

OFFBOARD_PERSON = "offboard_person"  # the step's callback ID in manifest.yml's ``functions:``


def offboard_person(context: Context, steps: WorkflowSteps, event: dict[str, Any]) -> None:
    """Open the person's offboarding for the step's execution, or fail the step saying why."""
    execution = event["function_execution_id"]
    if not steps.claim(execution):
        log.info("workflow step %s already taken; not run again", execution)
        return
    try:
        opened = _open(context, event.get("inputs") or {})
    except Exception as exc:  # an unknown failure is logged with the reference the step shows
        steps.failed(execution, words_for(exc))
        finish("refused" if isinstance(exc, REFUSALS) else "failed", type(exc).__name__)
        return
    steps.waiting_on(execution, opened)
    finish("ok")


def _open(context: Context, inputs: dict[str, Any]) -> ApprovalRequest:
    services = context.ops.services
    person, reason = str(inputs.get("person") or ""), str(inputs.get("reason") or "").strip()
    requester = requester_of(inputs)
    if not person or not reason or not requester:
        raise UserError("The step needs a person, a reason and who asks (the requester).")
    if problem := reason_problem(reason):
        raise UserError(problem)
    channel = str(inputs.get("channel") or "") or next(iter(services.config.channels), "")
    if not channel:
        raise UserError("The step needs a channel to ask for approval in.")
    services.rules.require_channel(channel)
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
        return offboard.open_offboarding(services, request, who, reason, disable=False)


def requester_of(inputs: dict[str, Any]) -> str:
    """Who ran the workflow: the ``requester`` input, a user context (``{"id": ...}``)."""
    context = inputs.get("requester")
    return str(context.get("id") or "") if isinstance(context, dict) else ""


def register(app: App, context: Context) -> None:
    steps = WorkflowSteps(
        context.ops.services.store, context.notifier.outbox, context.notifier.client
    )
    context.notifier.on_shown.append(steps.shown)

    def lazy(event: dict[str, Any], body: dict[str, Any], request: BoltRequest) -> None:
        if first_delivery(context.ops.services.store, body, request):  # not Slack's retry
            context.ops.services.team.learn(scope.team_of(body))
            offboard_person(context, steps, event)

    app.function(OFFBOARD_PERSON)(ack=ack_only, lazy=[lazy])
