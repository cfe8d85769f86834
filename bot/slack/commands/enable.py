"""`/iam enable <user> <reason>`: undo `/iam offboard <user> <reason> --disable`, approval-gated.

It works from the snapshot the disable stored before its first change: the access keys,
signing certificates, SSH keys and service-specific credentials that were active then (and
still exist) are reactivated; a user that had a console password gets a new one, reset
required at first sign-in, delivered through Secrets Manager (the old one was deleted and is
not kept anywhere); the disabled tag goes last. MFA devices stay deactivated: IAM enables a
device only with two codes from it, so its owner enrolls it again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.access.approvals import Request, State
from bot.iam import errors, secrets
from bot.iam.inventory import (
    Action,
    Inventory,
    Step,
    deactivated_mfa,
    enable_steps,
    run_step,
    take_inventory,
)
from bot.iam.names import user_name
from bot.slack.commands.offboard import COMMAND as OFFBOARD
from bot.slack.commands.offboard import (
    is_disable,
    reopen_if_changed,
    requests_about,
    run_plan,
    run_report,
    saved_snapshot,
)
from bot.slack.context import Request as SlackRequest
from bot.slack.context import Services
from bot.slack.replies import UserError
from bot.slack.requests import RequestFlow, RunReport

USAGE = "enable <user> <reason>"
COMMAND = "enable"


def _parse(args: tuple[str, ...]) -> tuple[str, str]:
    if len(args) < 2:
        raise UserError(f"Usage: `/iam {USAGE}` (a reason is required)")
    return user_name(args[0]), " ".join(args[1:])


def check(args: tuple[str, ...]) -> None:
    _parse(args)


def _inventory(services: Services, name: str) -> Inventory:
    """The user as it is now; a clear refusal if it does not exist (or was removed)."""
    try:
        return take_inventory(services.aws, name, last_use=False)
    except errors.NotFound:
        removals = [
            r
            for r in services.approvals.in_state(State.DONE)
            if r.command == OFFBOARD and not is_disable(r) and r.target.lower() == name.lower()
        ]
        if removals:
            raise UserError(
                f"`{name}` was removed by request `{removals[-1].id}`: a removed user cannot "
                "be enabled. Nothing was changed."
            ) from None
        raise UserError(f"No IAM user named `{name}`.") from None


def _disable_to_undo(services: Services, inv: Inventory) -> tuple[Request, dict[str, Any]]:
    """The user's latest finished disable and the snapshot taken before it, unless an enable
    has finished since."""
    name = inv.user.name
    latest = next(
        (
            r
            for r in requests_about(services, inv.user, State.DONE)
            if is_disable(r) or r.command == COMMAND
        ),
        None,
    )
    before = saved_snapshot(services, latest.id) if latest and is_disable(latest) else None
    if latest is None or before is None:
        raise UserError(
            f"`{name}` has not been disabled with `/iam offboard {name} <reason> --disable`"
            f"{' since it was last enabled' if latest else ''}: there is nothing to enable. "
            "Nothing was changed."
        )
    return latest, before


def _mfa_note(before: dict[str, Any]) -> str | None:
    serials = deactivated_mfa(before)
    if not serials:
        return None
    listed = ", ".join(f"`{s}`" for s in serials)
    return (
        f":warning: Not reactivated: MFA device {listed}. IAM enables a device only with two "
        "codes from it, so its owner must enroll it again."
    )


def run(services: Services, request: SlackRequest) -> None:
    name, reason = _parse(request.args)
    inv = _inventory(services, name)
    services.rules.require_unprotected(inv.user)
    disable, before = _disable_to_undo(services, inv)
    steps = enable_steps(inv, before)
    if not steps:
        raise UserError(
            f"Everything the disable of `{inv.user.name}` (request `{disable.id}`) deactivated "
            "is active again or gone: there is nothing to enable. Nothing was changed."
        )
    opened = services.approvals.open(
        command=COMMAND,
        target=inv.user.name,
        requester=request.user_id,
        reason=reason,
        plan={"disable": disable.id, "steps": [s.to_dict() for s in steps]},
        channel=request.channel_id,
    )
    if note := _mfa_note(before):
        opened = services.approvals.note(opened.id, line=note).request
    request.flow.post(opened)


def _step_runner(flow: RequestFlow, request: Request) -> Callable[[Step], str]:
    """Runs each step; the console password, which needs the bot's config, is done here."""
    services = flow.services
    config = services.config

    def do(step: Step) -> str:
        if step.action is not Action.CREATE_LOGIN_PROFILE:
            return run_step(services.aws, request.target, step)
        arn = secrets.issue_console_password(
            services.aws,
            request.target,
            config.onboarding.secret_name.format(user=request.target),
            kms_key_id=config.rotation.kms_key_id,
        )
        services.approvals.note(
            request.id,
            password_secret_arn=arn,
            line=f":key: New console password (change required at first sign-in) in Secrets "
            f"Manager: <{secrets.console_link(arn)}|{arn}>",
        )
        return "done"

    return do


def execute(flow: RequestFlow, request: Request) -> RunReport | None:
    services = flow.services
    try:
        inv = _inventory(services, request.target)
        disable, before = _disable_to_undo(services, inv)
    except UserError as exc:
        return RunReport(False, str(exc), {})
    if disable.id != request.plan["disable"]:
        why = "was enabled or disabled again since this was requested"
        return RunReport(False, f"`{request.target}` {why}. Nothing was changed.", {})
    if reopen_if_changed(flow, request, enable_steps(inv, before)):
        return None
    planned = [Step.from_dict(d) for d in request.plan["steps"]]
    result = run_plan(flow, request, planned, _step_runner(flow, request))
    return run_report(result, f"{request.target} enabled")
